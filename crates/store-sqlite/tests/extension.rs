//! Declared extension fields on SQLite: the expression index is built on
//! declaration and serves the compiled filter and sort (EXPLAIN QUERY PLAN),
//! survives a bulk load into an empty table (which drops and rebuilds the
//! declarations' own indexes), refuses clashes when unique, and goes with
//! the declaration.

use oneroster::extension::{ExtensionField, ExtensionType, field_decl};
use oneroster::model::user::USERS;
use oneroster::query::ListQuery;
use rollcall_store::sql::{self, SqlValue};
use rollcall_store::{ExtensionStore, ResourceStore, StoreError};
use rollcall_store_sqlite::Sqlite;
use serde_json::{Value, json};

fn user(id: &str, locker: i64) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "G", "familyName": "F", "roles": [],
           "metadata": {"ext": {"locker": locker}}})
}

fn locker(unique: bool) -> ExtensionField {
    ExtensionField {
        resource: "users".into(),
        name: "locker".into(),
        kind: ExtensionType::Integer,
        values: vec![],
        unique,
        indexed: true,
        required: false,
    }
}

fn indexes(conn: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'users__ext%'")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn plan(conn: &rusqlite::Connection, compiled: &sql::Compiled) -> String {
    let params: Vec<rusqlite::types::Value> = compiled
        .params
        .iter()
        .map(|v| match v {
            SqlValue::Text(s) => s.clone().into(),
            SqlValue::Int(i) => (*i).into(),
            SqlValue::TextList(l) => serde_json::to_string(l).unwrap().into(),
        })
        .collect();
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", compiled.sql)).unwrap();
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3))
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn the_declared_index_serves_filters_and_survives_bulk_loads() {
    let dir = std::env::temp_dir().join(format!("rollcall-ext-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ext.db");
    let store = rollcall_store_sqlite::open(&path).unwrap();
    store.declare_extension_field(locker(false)).await.unwrap();
    let docs: Vec<String> = (0..2000).map(|n| user(&format!("u{n:04}"), n).to_string()).collect();
    store
        .insert_bulk(&USERS, Box::new(std::iter::once(Ok(docs))))
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(indexes(&conn), ["users__ext__locker"], "the bulk load kept it");

    let declared = [field_decl(&locker(false))];
    let key = oneroster::cursor::CursorKey::derive(b"k");
    for pairs in [
        [("filter", "metadata.ext.locker='1990'")],
        [("sort", "metadata.ext.locker")],
    ] {
        let query = ListQuery::from_request_with(&USERS, &declared, pairs, &key).unwrap();
        let keys = sql::page_keys(&Sqlite, &USERS, &query, sql::ManyValued::In);
        let plan = plan(&conn, &keys.sql);
        assert!(plan.contains("users__ext__locker"), "{pairs:?}:\n{plan}");
    }
    let query = ListQuery::from_request_with(&USERS, &declared, [("filter", "metadata.ext.locker>'1997'")], &key);
    let page = store.list(&USERS, &query.unwrap()).await.unwrap();
    assert_eq!(page.total, 2, "1998 and 1999, compared as numbers");

    assert!(store.remove_extension_field("users", "locker").await.unwrap());
    assert!(indexes(&conn).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn unique_fields_refuse_clashes_old_and_new() {
    let dir = std::env::temp_dir().join(format!("rollcall-ext-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = rollcall_store_sqlite::open(&dir.join("ext.db")).unwrap();
    store
        .insert_many(&USERS, vec![user("u1", 1), user("u2", 1)])
        .await
        .unwrap();
    let clash = store.declare_extension_field(locker(true)).await.unwrap_err();
    assert!(
        matches!(clash, StoreError::Conflict(ref m) if m.contains("metadata.ext.locker")),
        "{clash}"
    );
    assert!(store.extension_fields().await.unwrap().is_empty(), "nothing kept");

    store
        .update(&USERS, "u2", Box::new(|_| Ok(user("u2", 2))))
        .await
        .unwrap();
    store.declare_extension_field(locker(true)).await.unwrap();
    let taken = store.insert(&USERS, user("u3", 2)).await.unwrap_err();
    assert_eq!(taken.to_string(), "another user already has this metadata.ext.locker");
    std::fs::remove_dir_all(&dir).unwrap();
}
