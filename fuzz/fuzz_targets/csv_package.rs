//! Fuzzes the CSV package import through its public entry point: the
//! package read (as a ZIP, or as files), every file, row and reference
//! validated, the import planned, against a real SQLite store.
//!
//! Input: a ZIP archive when it starts with `PK`; otherwise files, each
//! introduced by a line `--- <name>` (e.g. `--- manifest.csv`), bytes
//! before the first such line ignored.
//!
//! Properties, for any package:
//! - nothing panics, and the import either accepts the package or rejects
//!   it with its problems (never a store or internal failure);
//! - a package a dry run accepts imports into an empty store, with the
//!   counts the dry run gave, and importing it again writes nothing.
//!
//! `scripts/fuzz csv_package` (see README, "Fuzzing").

#![no_main]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use rollcall_csv::{ImportError, ImportOptions, ImportReport, Package, ZipLimits, import};
use rollcall_store_sqlite::SqliteStore;
use tokio::runtime::Runtime;

struct Fixture {
    runtime: Runtime,
    /// Never written to: dry runs only.
    empty: SqliteStore,
}

static FIXTURE: Mutex<Option<Fixture>> = Mutex::new(None);

/// Names each store a fresh file.
static STORES: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let Some(package) = package(data) else { return };
    let mut fixture = FIXTURE.lock().unwrap_or_else(|e| e.into_inner());
    let fixture = fixture.get_or_insert_with(Fixture::new);
    fixture.runtime.block_on(check(&fixture.empty, package));
});

impl Fixture {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        Self {
            runtime,
            empty: open_store().0,
        }
    }
}

fn package(data: &[u8]) -> Option<Package> {
    if data.starts_with(b"PK") {
        return Package::from_zip(Cursor::new(data), ZipLimits::default()).ok();
    }
    let mut files = Vec::new();
    let mut rest = data;
    // Skip to the first file.
    while !rest.starts_with(b"--- ") {
        let next = rest.iter().position(|&b| b == b'\n')?;
        rest = &rest[next + 1..];
    }
    while let Some(header) = rest.strip_prefix(b"--- ") {
        let end = header.iter().position(|&b| b == b'\n').unwrap_or(header.len());
        let name = String::from_utf8_lossy(&header[..end]).into_owned();
        let body = header.get(end + 1..).unwrap_or_default();
        let len = find(body, b"\n--- ").map_or(body.len(), |at| at + 1);
        files.push((name, body[..len].to_vec()));
        rest = &body[len..];
    }
    Some(Package::from_files(files))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn options(dry_run: bool) -> ImportOptions {
    let mut options = ImportOptions::new(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
    options.dry_run = dry_run;
    options
}

async fn check(empty: &SqliteStore, package: Package) {
    let planned = match import(empty, package.clone(), &options(true)).await {
        Ok(report) => report,
        Err(ImportError::Rejected { .. } | ImportError::MassDelete { .. }) => return,
        Err(e) => panic!("the dry run failed: {e}"),
    };
    let (fresh, path) = open_store();
    let imported = import(&fresh, package.clone(), &options(false))
        .await
        .unwrap_or_else(|e| panic!("a package the dry run accepted failed to import: {e}"));
    assert_eq!(
        without_flag(imported),
        without_flag(planned),
        "the import did other than its dry run said"
    );
    let again = import(&fresh, package, &options(false))
        .await
        .unwrap_or_else(|e| panic!("importing the same package again failed: {e}"));
    for (resource, counts) in &again.resources {
        assert_eq!(counts.written(), 0, "importing again wrote {resource}: {counts:?}");
    }
    drop(fresh);
    remove_db(&path);
}

fn without_flag(mut report: ImportReport) -> ImportReport {
    report.dry_run = false;
    report
}

/// A store in a fresh file under `$TMPDIR` (`scripts/fuzz` points it at a
/// directory it removes afterwards).
fn open_store() -> (SqliteStore, PathBuf) {
    let n = STORES.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("rollcall-fuzz-csv-{}-{n}.db", std::process::id()));
    let store = rollcall_store_sqlite::open(&path).expect("a fuzz store opens");
    (store, path)
}

/// Removes a closed store's files, so long runs leave nothing behind.
fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
