//! Bulk loads (`insert_bulk`): one transaction, indexes rebuilt when the
//! table started empty, nothing kept when any record fails; and files from
//! before field columns were written by the store, or before the terms
//! table was clustered, are upgraded in place.

mod common;

use common::{TempDb, ids, user};
use oneroster::model::user::USERS;
use rollcall_store::sql::column;
use rollcall_store::{ResourceStore, StoreError};
use rollcall_store_sqlite::SqliteStore;
use serde_json::Value;

fn batches(batches: Vec<Vec<Value>>) -> rollcall_store::Batches {
    Box::new(
        batches
            .into_iter()
            .map(|b| Ok(b.iter().map(Value::to_string).collect())),
    )
}

fn users(range: std::ops::Range<u32>, role: &str) -> Vec<Value> {
    range
        .map(|i| user(&format!("u{i:03}"), &format!("u{i}@x.org"), role))
        .collect()
}

async fn matching(store: &SqliteStore, filter: &str) -> (u64, Vec<String>) {
    ids(store, &[("filter", filter)]).await
}

/// Index names on the users tables, as SQLite lists them.
fn indexes(db: &TempDb) -> Vec<String> {
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'users%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn a_bulk_load_into_an_empty_table_ends_indexed_and_queryable() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let before = indexes(&db);
    assert!(before.iter().any(|n| n == "users__f_familyName"), "{before:?}");
    let loaded = store
        .insert_bulk(&USERS, batches(vec![users(0..50, "student"), users(50..60, "teacher")]))
        .await
        .unwrap();
    assert_eq!(loaded, 60);
    let wal = db.path().with_extension("db-wal");
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        0,
        "the WAL is handed back after a load"
    );
    assert_eq!(indexes(&db), before, "every index is back after the load");
    assert_eq!(matching(&store, "roles.role='teacher'").await.0, 10);
    assert_eq!(matching(&store, "email='u7@x.org'").await.1, vec!["u007"]);
    assert_eq!(matching(&store, "familyName='Fu059'").await.1, vec!["u059"]);
    // A second load adds to a table that is no longer empty.
    store
        .insert_bulk(&USERS, batches(vec![users(60..70, "teacher")]))
        .await
        .unwrap();
    assert_eq!(matching(&store, "roles.role='teacher'").await.0, 20);
    assert_eq!(indexes(&db), before);
}

#[tokio::test]
async fn a_failing_bulk_load_keeps_nothing_and_keeps_the_indexes() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let before = indexes(&db);
    let mut second = users(50..60, "teacher");
    second[5]["email"] = "u3@x.org".into();
    let e = store
        .insert_bulk(&USERS, batches(vec![users(0..50, "student"), second]))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert_eq!(matching(&store, "status='active'").await.0, 0);
    assert_eq!(matching(&store, "roles.role='student'").await.0, 0);
    assert_eq!(indexes(&db), before);
    // The store is usable afterwards, and the unique index still holds.
    store.insert(&USERS, user("a", "a@x.org", "student")).await.unwrap();
    let dup = store.insert(&USERS, user("b", "A@x.org", "student")).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
}

#[tokio::test]
async fn files_with_generated_field_columns_are_rebuilt_on_open() {
    let db = TempDb::new();
    let family = column(USERS.field("familyName").unwrap());
    {
        // The users table as the first release created it.
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE users (sourced_id TEXT NOT NULL PRIMARY KEY, doc TEXT NOT NULL, \
             {family} TEXT GENERATED ALWAYS AS (json_extract(doc, '$.familyName')) VIRTUAL); \
             CREATE INDEX users__f_familyName ON users ({family}, sourced_id);"
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO users (sourced_id, doc) VALUES ('old', ?1)",
            [user("old", "old@x.org", "student").to_string()],
        )
        .unwrap();
    }
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    assert_eq!(matching(&store, "familyName='Fold'").await.1, vec!["old"]);
    assert_eq!(matching(&store, "email='old@x.org'").await.1, vec!["old"]);
    store.insert(&USERS, user("new", "new@x.org", "student")).await.unwrap();
    assert_eq!(matching(&store, "familyName='Fnew'").await.1, vec!["new"]);
    assert_eq!(store.get(&USERS, "old").await.unwrap().unwrap()["email"], "old@x.org");
}

#[tokio::test]
async fn heap_terms_tables_are_clustered_on_open() {
    let db = TempDb::new();
    {
        // The users terms table as releases before this one created it.
        let store = rollcall_store_sqlite::open(&db.path()).unwrap();
        store.insert(&USERS, user("old", "old@x.org", "teacher")).await.unwrap();
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute_batch(
            "ALTER TABLE users__terms RENAME TO clustered; \
             CREATE TABLE users__terms (sourced_id TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL); \
             INSERT INTO users__terms SELECT sourced_id, field, value FROM clustered; DROP TABLE clustered; \
             CREATE INDEX users__terms__fv ON users__terms (field, value, sourced_id); \
             CREATE INDEX users__terms__id ON users__terms (sourced_id);",
        )
        .unwrap();
    }
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let clustered: bool = conn
        .query_row(
            "SELECT wr FROM pragma_table_list WHERE name = 'users__terms'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(clustered, "the terms table is WITHOUT ROWID after opening");
    assert!(!indexes(&db).iter().any(|n| n.contains("terms")), "{:?}", indexes(&db));
    assert_eq!(matching(&store, "roles.role='teacher'").await.1, vec!["old"]);
    store
        .update(&USERS, "old", Box::new(|_| Ok(user("old", "old@x.org", "student"))))
        .await
        .unwrap();
    assert_eq!(matching(&store, "roles.role='teacher'").await.0, 0);
    assert_eq!(matching(&store, "roles.role='student'").await.1, vec!["old"]);
}

/// The producer may withdraw a load after the store has written batches of
/// it (an import that found a problem in another file): into an empty
/// table or not, nothing of it is kept and the indexes are all there.
#[tokio::test]
async fn a_withdrawn_load_keeps_nothing() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let before = indexes(&db);
    let withdrawn = |range, role| {
        let first: Vec<String> = users(range, role).iter().map(Value::to_string).collect();
        let stop = Err(StoreError::Invalid(oneroster::resource::ModelError("stop".into())));
        Box::new(vec![Ok(first), stop].into_iter())
    };
    let e = store
        .insert_bulk(&USERS, withdrawn(0..50, "student"))
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(m) if m.0 == "stop"), "{e:?}");
    assert_eq!(matching(&store, "status='active'").await.0, 0);
    assert_eq!(indexes(&db), before);

    store
        .insert_bulk(&USERS, batches(vec![users(0..5, "student")]))
        .await
        .unwrap();
    store
        .insert_bulk(&USERS, withdrawn(5..20, "teacher"))
        .await
        .unwrap_err();
    assert_eq!(matching(&store, "status='active'").await.0, 5);
    assert_eq!(matching(&store, "roles.role='teacher'").await.0, 0);
}

/// A producer that dies half-way (a panic on the thread pulling it) fails
/// the load: the batches before it are not committed as if it had ended.
#[tokio::test]
async fn a_producer_that_panics_keeps_nothing() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let first: Vec<String> = users(0..5, "student").iter().map(Value::to_string).collect();
    let mut handed = false;
    let dying = std::iter::from_fn(move || {
        assert!(!std::mem::replace(&mut handed, true), "the producer dies");
        Some(Ok(first.clone()))
    });
    let e = store.insert_bulk(&USERS, Box::new(dying)).await.unwrap_err();
    assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
    assert_eq!(matching(&store, "status='active'").await.0, 0);
}

#[tokio::test]
async fn a_bulk_record_that_is_not_json_is_invalid_and_nothing_is_kept() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let mut batch: Vec<String> = users(0..5, "student").iter().map(Value::to_string).collect();
    batch.push("{\"sourcedId\": \"broken\"".to_owned());
    let e = store
        .insert_bulk(&USERS, Box::new(std::iter::once(Ok(batch))))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
    assert_eq!(matching(&store, "status='active'").await.0, 0);
}
