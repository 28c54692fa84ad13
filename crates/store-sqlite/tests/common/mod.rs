//! Helpers shared by the SQLite test files.

use std::path::PathBuf;

use oneroster::model::user::USERS;
use oneroster::query::ListQuery;
use rollcall_store::ResourceStore;
use rollcall_store_sqlite::SqliteStore;
use serde_json::{Value, json};

pub struct TempDb(PathBuf);

impl TempDb {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("rollcall-sqlite-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    pub fn path(&self) -> PathBuf {
        self.0.join("test.db")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempDb {
    /// A `PRAGMA` of the file, read through a connection of its own.
    #[allow(dead_code, reason = "not every test file reads one")]
    pub fn pragma<T: rusqlite::types::FromSql>(&self, name: &str) -> T {
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
    }
}

pub fn user(id: &str, email: &str, role: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "G", "familyName": format!("F{id}"), "email": email,
           "roles": [{"roleType": "primary", "role": role, "org": {"sourcedId": "o1"}}]})
}

/// The total and the page's sourcedIds of a users query.
#[allow(dead_code)] // not every test file lists
pub async fn ids(store: &SqliteStore, pairs: &[(&str, &str)]) -> (u64, Vec<String>) {
    let query = ListQuery::from_pairs(&USERS, pairs.iter().copied()).unwrap();
    let page = store.list(&USERS, &query).await.unwrap();
    let ids = page
        .items
        .iter()
        .map(|d| d["sourcedId"].as_str().unwrap().to_owned())
        .collect();
    (page.total, ids)
}
