//! Helpers shared by the SQLite test files.

use std::path::PathBuf;

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

pub fn user(id: &str, email: &str, role: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "G", "familyName": format!("F{id}"), "email": email,
           "roles": [{"roleType": "primary", "role": role, "org": {"sourcedId": "o1"}}]})
}
