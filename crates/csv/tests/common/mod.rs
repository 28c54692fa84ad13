//! Shared test helpers: the csv-cases folder, temporary SQLite stores,
//! inline packages, and whole-store snapshots for comparisons.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use oneroster::resource;
use rollcall_csv::{ImportError, ImportOptions, ImportReport, Package, import};
use rollcall_store::ResourceStore;
use rollcall_store_sqlite::SqliteStore;
use serde_json::Value;

pub const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/csv-cases");

/// The csv-cases folder; a missing folder is a broken checkout, not a pass.
pub fn cases() -> PathBuf {
    let dir = PathBuf::from(CASES);
    assert!(
        dir.join("INDEX.md").is_file(),
        "the OneRoster CSV test cases are missing: expected {} (the shared specs folder beside the repository)",
        dir.display()
    );
    dir
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rollcall-csv-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh SQLite store in its own temporary directory.
pub fn store(name: &str) -> (TempDir, SqliteStore) {
    let dir = TempDir::new(name);
    let store = rollcall_store_sqlite::open(&dir.path().join("rollcall.db")).unwrap();
    (dir, store)
}

/// As `rollcall import` opens it (see `rollcall_store_sqlite::open_alone`).
pub fn store_alone(name: &str) -> (TempDir, SqliteStore) {
    let dir = TempDir::new(name);
    let store = rollcall_store_sqlite::open_alone(&dir.path().join("rollcall.db")).unwrap();
    (dir, store)
}

pub fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
}

pub fn options(day: u32) -> ImportOptions {
    ImportOptions::new(at(day))
}

pub async fn import_dir(store: &SqliteStore, dir: &Path, options: &ImportOptions) -> Result<ImportReport, ImportError> {
    import(store, Package::open(dir).unwrap(), options).await
}

/// A package from inline files: `(name, content)`.
pub fn package(files: &[(&str, &str)]) -> Package {
    Package::from_files(files.iter().map(|(n, c)| (n.to_string(), c.as_bytes().to_vec())))
}

/// A manifest with the given `file.*` modes; every other file absent.
pub fn manifest(modes: &[(&str, &str)]) -> String {
    let mut out = String::from("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n");
    for file in rollcall_csv::ALL_FILES {
        let mode = modes.iter().find(|(f, _)| *f == file).map_or("absent", |(_, m)| m);
        out.push_str(&format!("file.{file},{mode}\n"));
    }
    out
}

/// The rows of a case file, without the header and blank lines.
pub fn data_rows(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every stored record of every resource, by collection and sourcedId.
pub async fn snapshot(store: &SqliteStore) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for decl in resource::all() {
        let query = oneroster::query::ListQuery::from_pairs(decl, [("limit", "3000")]).unwrap();
        for doc in store.list(decl, &query).await.unwrap().items {
            let id = doc["sourcedId"].as_str().unwrap().to_owned();
            out.push((decl.collection.to_owned(), id, doc));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

/// `snapshot` with `dateLastModified` removed, for content comparisons.
pub async fn content(store: &SqliteStore) -> Vec<(String, String, Value)> {
    let mut records = snapshot(store).await;
    for (_, _, doc) in &mut records {
        doc.as_object_mut().unwrap().remove("dateLastModified");
    }
    records
}

pub fn rejected(result: Result<ImportReport, ImportError>) -> Vec<rollcall_csv::Problem> {
    match result {
        Err(ImportError::Rejected { problems, .. }) => problems,
        other => panic!("expected a rejection, got {other:?}"),
    }
}
