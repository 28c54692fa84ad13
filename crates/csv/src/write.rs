//! Writing a checked plan, resources in reference order: changed records one
//! `update` each, then all new records of a resource through the store's
//! `insert_bulk` (one transaction on SQLite), handed over as the JSON text
//! they were planned as.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{StreamExt, TryStreamExt, stream};
use oneroster::ResourceDecl;
use rollcall_store::{Batches, ResourceStore, StoreError};
use serde_json::Value;

use crate::load::id_of;
use crate::report::{ImportError, Progress};

/// Updates in flight at once (they queue on the store's writer).
const UPDATES_IN_FLIGHT: usize = 16;

/// The writes for one resource, as JSON text (updates parsed one at a time,
/// inserts handed to the store as they are).
pub struct Writes {
    pub decl: &'static ResourceDecl,
    pub inserts: Vec<String>,
    pub updates: Vec<String>,
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("planned records are JSON")
}

pub async fn apply(
    store: &dyn ResourceStore,
    writes: Vec<Writes>,
    batch_size: usize,
    progress: Option<&Progress>,
) -> Result<(), ImportError> {
    let total: u64 = writes.iter().map(|w| (w.inserts.len() + w.updates.len()) as u64).sum();
    let written = Arc::new(AtomicU64::new(0));
    let report = {
        let (written, progress) = (written.clone(), progress.cloned());
        Arc::new(move |n: u64| {
            let now = written.fetch_add(n, Ordering::Relaxed) + n;
            if let Some(Progress(f)) = &progress {
                f(now, total);
            }
        })
    };
    let failed = |source| ImportError::Write {
        written: written.load(Ordering::Relaxed),
        source,
    };
    for Writes { decl, inserts, updates } in writes {
        // Updates first: a user whose email moves away frees it for a new one.
        let done = stream::iter(updates)
            .map(|json| async move {
                let doc = parse(&json);
                let id = id_of(&doc).to_owned();
                store.update(decl, &id, Box::new(move |_| Ok(doc))).await
            })
            .buffer_unordered(UPDATES_IN_FLIGHT)
            .try_fold(0u64, |n, _| async move { Ok::<_, StoreError>(n + 1) })
            .await;
        report(done.map_err(failed)?);
        if !inserts.is_empty() {
            let report = report.clone();
            let batches = batches(inserts, batch_size, move |n| report(n));
            store.insert_bulk(decl, batches).await.map_err(failed)?;
        }
    }
    Ok(())
}

/// The records a batch at a time, as the JSON text they were planned as;
/// `taken` is told the size of each batch handed over.
fn batches(inserts: Vec<String>, batch_size: usize, taken: impl Fn(u64) + Send + 'static) -> Batches {
    let mut rest = inserts.into_iter();
    let next = move || Some(rest.by_ref().take(batch_size.max(1)).collect::<Vec<_>>()).filter(|b| !b.is_empty());
    Box::new(std::iter::from_fn(next).inspect(move |batch| taken(batch.len() as u64)))
}
