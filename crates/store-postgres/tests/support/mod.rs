//! Small builders for users and queries; the database comes from
//! `rollcall_store_postgres::testing`.

use oneroster::model::user::USERS;
use oneroster::query::ListQuery;
use rollcall_store::ResourceStore;
use rollcall_store::sql::SqlValue;
use rollcall_store_postgres::PgStore;
pub use rollcall_store_postgres::testing::TestDb;
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

pub fn user(id: &str, email: &str, role: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "G", "familyName": format!("F{id}"), "email": email,
           "roles": [{"roleType": "primary", "role": role, "org": {"sourcedId": "o1"}}]})
}

/// `doc` with `key` set to `value` (`null` removes it).
#[allow(dead_code, reason = "not every test file changes records")]
pub fn with(mut doc: Value, key: &str, value: Value) -> Value {
    let map = doc.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(key);
    } else {
        map.insert(key.to_owned(), value);
    }
    doc
}

pub fn query(pairs: &[(&str, &str)]) -> ListQuery {
    ListQuery::from_pairs(&USERS, pairs.iter().copied()).unwrap()
}

/// The sourcedIds of the page `pairs` selects, in order, and the total.
pub async fn ids(store: &PgStore, pairs: &[(&str, &str)]) -> (Vec<String>, u64) {
    let page = store.list(&USERS, &query(pairs)).await.unwrap();
    let ids = page
        .items
        .iter()
        .map(|d| d["sourcedId"].as_str().unwrap().to_owned())
        .collect();
    (ids, page.total)
}

/// The compiler's parameters, bound as the store binds them.
#[allow(dead_code, reason = "not every test file runs compiled SQL")]
pub fn params(values: &[SqlValue]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|p| match p {
            SqlValue::Text(s) => s as &(dyn ToSql + Sync),
            SqlValue::Int(i) => i as &(dyn ToSql + Sync),
            SqlValue::TextList(items) => items as &(dyn ToSql + Sync),
        })
        .collect()
}
