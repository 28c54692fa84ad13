//! Bulk loads by a store alone on its file (`open_alone`, as the command-
//! line import opens it) write the database file directly under a rollback
//! journal, all or nothing, and leave it in WAL mode; whenever another
//! connection has the file open they go through the WAL as usual, and a
//! store opened during such a load waits for it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{TempDb, ids, user};
use oneroster::model::user::USERS;
use rollcall_store::{ResourceStore, StoreError};
use rollcall_store_sqlite::SqliteStore;
use serde_json::Value;

/// Loads `batches`, noting before each one whether a rollback journal is
/// open beside the database (a WAL-mode write never creates one).
async fn load(store: &SqliteStore, db: &TempDb, batches: Vec<Vec<Value>>) -> (Result<u64, StoreError>, bool) {
    let journal = db.path().with_extension("db-journal");
    let seen = Arc::new(AtomicBool::new(false));
    let noted = seen.clone();
    let batches = batches.into_iter().map(move |batch| {
        if journal.exists() {
            noted.store(true, Ordering::SeqCst);
        }
        Ok(batch.iter().map(Value::to_string).collect())
    });
    let loaded = store.insert_bulk(&USERS, Box::new(batches)).await;
    (loaded, seen.load(Ordering::SeqCst))
}

fn users(range: std::ops::Range<u32>) -> Vec<Vec<Value>> {
    range
        .map(|i| vec![user(&format!("u{i:03}"), &format!("u{i}@x.org"), "student")])
        .collect()
}

#[tokio::test]
async fn a_store_alone_on_its_file_loads_past_the_wal_all_or_nothing() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open_alone(&db.path()).unwrap();
    let (loaded, journaled) = load(&store, &db, users(0..8)).await;
    assert_eq!(loaded.unwrap(), 8);
    assert!(journaled, "the load wrote under a rollback journal");
    assert_eq!(
        db.pragma::<String>("journal_mode"),
        "wal",
        "the file is back in WAL mode"
    );
    assert_eq!(ids(&store, &[("filter", "email='u7@x.org'")]).await.1, ["u007"]);

    let mut failing = users(8..16);
    failing[6][0]["email"] = "u3@x.org".into();
    let (failed, journaled) = load(&store, &db, failing).await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
    assert!(journaled);
    assert_eq!(db.pragma::<String>("journal_mode"), "wal");
    assert_eq!(
        ids(&store, &[("filter", "status='active'")]).await.0,
        8,
        "the failed load kept nothing"
    );
}

#[tokio::test]
async fn bulk_loads_go_through_the_wal_while_other_connections_are_open() {
    let db = TempDb::new();
    let shared = rollcall_store_sqlite::open(&db.path()).unwrap();
    let (loaded, journaled) = load(&shared, &db, users(0..8)).await;
    assert_eq!(loaded.unwrap(), 8);
    assert!(!journaled, "a store with reader connections keeps to the WAL");
    drop(shared);

    // Another process (a running server) with the file open.
    let other = rusqlite::Connection::open(db.path()).unwrap();
    let _: i64 = other.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    let alone = rollcall_store_sqlite::open_alone(&db.path()).unwrap();
    let (loaded, journaled) = load(&alone, &db, users(8..16)).await;
    assert_eq!(loaded.unwrap(), 8);
    assert!(!journaled, "the file is shared: the load keeps to the WAL");
    let seen: i64 = other.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(seen, 16, "the other connection reads the load");
    assert_eq!(db.pragma::<String>("journal_mode"), "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_during_a_load_past_the_wal_waits_for_it() {
    let db = TempDb::new();
    let alone = rollcall_store_sqlite::open_alone(&db.path()).unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (opening_tx, opening_rx) = std::sync::mpsc::channel::<()>();
    let batches = users(0..4).into_iter().enumerate().map(move |(n, batch)| {
        if n == 1 {
            // Mid-load: let the other store try to open, and give it time
            // to meet the locked file.
            started_tx.send(()).unwrap();
            opening_rx.recv().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        Ok(batch.iter().map(Value::to_string).collect())
    });
    let load = {
        let alone = alone.clone();
        tokio::spawn(async move { alone.insert_bulk(&USERS, Box::new(batches)).await })
    };
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    opening_tx.send(()).unwrap();
    let path = db.path();
    let server = tokio::task::spawn_blocking(move || rollcall_store_sqlite::open(&path))
        .await
        .unwrap();
    let server = server.expect("the store waits for the load instead of failing to open");
    assert_eq!(
        ids(&server, &[("filter", "status='active'")]).await.0,
        4,
        "it opened after the commit"
    );
    assert_eq!(load.await.unwrap().unwrap(), 4);
    assert_eq!(db.pragma::<String>("journal_mode"), "wal");
}
