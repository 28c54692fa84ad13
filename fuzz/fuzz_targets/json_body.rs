//! Fuzzes the JSON request bodies of every resource's POST, PUT and PATCH,
//! through the functions the server runs: the body parsed as its `JsonBody`
//! extractor does, unwrapped by `extract::unwrap_body`, then written by the
//! real `Engine` (server-owned fields, hashing, the declaration's
//! `normalize`, the store's field columns) into a real SQLite store.
//!
//! Input: the first byte picks the resource; the rest is the body.
//!
//! Properties, for any body:
//! - nothing panics, and every refusal is a client error (404, 409, 422),
//!   never a 500;
//! - a stored record is canonical: `normalize` gives it back unchanged;
//! - PUT, and PATCH, of the body just POSTed store the same record, under a
//!   later `dateLastModified` (every write of a record has a stamp of its
//!   own, even on a clock that stands still);
//! - list pages' text renderer writes what the full renderer writes.
//!
//! `scripts/fuzz json_body` (see README, "Fuzzing").

#![no_main]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::response::IntoResponse;
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use oneroster::{FixedClock, ResourceDecl, resource};
use rollcall_server::ApiError;
use rollcall_server::extract::unwrap_body;
use rollcall_server::render::{self, Profile, RenderContext};
use rollcall_server::render_raw::{Plan, split};
use rollcall_service::{Engine, ServiceError};
use serde_json::Value;
use tokio::runtime::Runtime;

/// Records written before the store is replaced by a fresh one, so long
/// runs stay fast and small.
const RECORDS_PER_STORE: u64 = 20_000;

struct Fixture {
    runtime: Runtime,
    engine: Option<Engine>,
    written: u64,
    generation: u64,
}

static FIXTURE: Mutex<Option<Fixture>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let decls = resource::all();
    let decl = decls[usize::from(pick) % decls.len()];
    // As the `JsonBody` extractor parses it.
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Ok(object) = unwrap_body(body, decl.singular) else {
        return;
    };
    let mut fixture = FIXTURE.lock().unwrap_or_else(|e| e.into_inner());
    let fixture = fixture.get_or_insert_with(Fixture::new);
    let engine = fixture.engine();
    fixture.runtime.block_on(write_and_check(&engine, decl, object));
});

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        Self {
            runtime,
            engine: None,
            written: 0,
            generation: 0,
        }
    }

    /// The engine over the current store, opening a fresh one when due.
    fn engine(&mut self) -> Engine {
        if self.written >= RECORDS_PER_STORE {
            self.engine = None;
            remove_db(self.generation);
            self.generation += 1;
            self.written = 0;
        }
        self.written += 1;
        let generation = self.generation;
        self.engine
            .get_or_insert_with(|| {
                remove_db(generation);
                let store = rollcall_store_sqlite::open(&db_path(generation)).expect("a fuzz store opens");
                let clock = FixedClock::new(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
                Engine::new(Arc::new(store), Arc::new(clock))
            })
            .clone()
    }
}

/// `$TMPDIR/rollcall-fuzz-<pid>-<generation>.db` (`scripts/fuzz` points
/// `TMPDIR` at a directory it removes afterwards).
fn db_path(generation: u64) -> PathBuf {
    std::env::temp_dir().join(format!("rollcall-fuzz-{}-{generation}.db", std::process::id()))
}

fn remove_db(generation: u64) {
    let path = db_path(generation);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

async fn write_and_check(engine: &Engine, decl: &'static ResourceDecl, object: Value) {
    let created = match engine.create(decl, object.clone()).await {
        Ok(pair) => pair.allocated,
        Err(e) => return refused(e),
    };
    let stored = engine.get(decl, &created).await.expect("a created record reads back");
    assert_eq!(
        (decl.normalize)(stored.clone()).as_ref(),
        Ok(&stored),
        "the stored form is not canonical"
    );
    let replaced = engine
        .replace(decl, &created, object.clone())
        .await
        .expect("PUT of the POSTed body");
    assert_eq!(content(decl, &replaced), content(decl, &stored), "PUT changed the record");
    assert!(stamp(&replaced) > stamp(&stored), "PUT kept the stored dateLastModified");
    let patched = engine
        .patch(decl, &created, object)
        .await
        .expect("PATCH of the POSTed body");
    assert_eq!(content(decl, &patched), content(decl, &stored), "PATCH changed the record");
    assert!(stamp(&patched) > stamp(&replaced), "PATCH kept the stored dateLastModified");
    renderers_agree(decl, &stored);
}

/// A refusal must be the client's fault: as the server maps it, a 4xx.
fn refused(e: ServiceError) {
    let described = e.to_string();
    let status = ApiError::from(e).into_response().status();
    assert!(
        status.is_client_error(),
        "a body was refused with {status}: {described}"
    );
}

/// The record without its write-only fields: hashing the same password
/// twice gives two hashes (fresh salts).
/// A record without its secrets (hashed afresh by each write) and its
/// `dateLastModified` (stamped by each write).
fn content(decl: &ResourceDecl, doc: &Value) -> Value {
    let mut doc = doc.clone();
    for field in decl.write_only.iter().chain(&["dateLastModified"]) {
        oneroster::path::remove_at(&mut doc, field);
    }
    doc
}

/// `dateLastModified`, which orders as time (always `…sssZ`).
fn stamp(doc: &Value) -> &str {
    doc["dateLastModified"].as_str().unwrap_or_default()
}

/// The text renderer (list pages) writes the bytes the full renderer
/// (single records, and text it cannot walk) writes, for each profile the
/// text path serves.
fn renderers_agree(decl: &ResourceDecl, stored: &Value) {
    let text = stored.to_string();
    let names: HashMap<String, String> = render::named_ref_ids(decl, [stored])
        .into_iter()
        .map(|id| (id, "A \"named\" org".to_owned()))
        .collect();
    for profile in [Profile::Timeback, Profile::Timeback202504] {
        let ctx = RenderContext {
            profile,
            api_base: "http://h/ims/oneroster/rostering/v1p2",
            names: &names,
            fields: None,
        };
        let full = render::render(decl, stored.clone(), &ctx).to_string();
        let plan = Plan::new(decl, &ctx).expect("the text path serves this profile");
        let mut fast = Vec::new();
        if split(&text).and_then(|s| plan.render(&s, &mut fast)).is_some() {
            assert_eq!(
                String::from_utf8(fast).expect("UTF-8"),
                full,
                "renderers differ on {text}"
            );
        }
    }
}
