//! `CredentialStore` on SQLite.

use async_trait::async_trait;
use rollcall_store::{CredentialRecord, CredentialStore, StoreError};
use rusqlite::{OptionalExtension, Row};

use crate::{SqliteStore, backend};

/// The table, its own and not a resource's: no resource read or export
/// reaches it. The secret is a BLOB of sealed bytes, never text.
pub const TABLE: &str = "CREATE TABLE IF NOT EXISTS credentials (\
     credential_id TEXT NOT NULL PRIMARY KEY, user_id TEXT NOT NULL, application_name TEXT NOT NULL, \
     profile_id TEXT NOT NULL, username TEXT NOT NULL, key_id TEXT NOT NULL, sealed BLOB NOT NULL, \
     UNIQUE (user_id, application_name))";

const COLUMNS: &str = "credential_id, user_id, application_name, profile_id, username, key_id, sealed";

fn from_row(row: &Row<'_>) -> rusqlite::Result<CredentialRecord> {
    Ok(CredentialRecord {
        credential_id: row.get(0)?,
        user_id: row.get(1)?,
        application_name: row.get(2)?,
        profile_id: row.get(3)?,
        username: row.get(4)?,
        key_id: row.get(5)?,
        sealed: row.get(6)?,
    })
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn put_credential(&self, record: CredentialRecord) -> Result<CredentialRecord, StoreError> {
        self.write(move |c| {
            c.prepare_cached(&format!(
                "INSERT INTO credentials ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (user_id, application_name) DO UPDATE SET username = excluded.username, \
                 key_id = excluded.key_id, sealed = excluded.sealed RETURNING {COLUMNS}"
            ))
            .map_err(backend)?
            .query_row(
                (
                    &record.credential_id,
                    &record.user_id,
                    &record.application_name,
                    &record.profile_id,
                    &record.username,
                    &record.key_id,
                    &record.sealed,
                ),
                from_row,
            )
            .map_err(backend)
        })
        .await
    }

    async fn credential(&self, user_id: &str, credential_id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let (user, id) = (user_id.to_owned(), credential_id.to_owned());
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM credentials WHERE credential_id = ?1 AND user_id = ?2"
            ))
            .map_err(backend)?
            .query_row((id, user), from_row)
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn credentials_sealed_otherwise(
        &self,
        key_id: &str,
        limit: u32,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let key = key_id.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM credentials WHERE key_id <> ?1 ORDER BY credential_id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map((key, limit), from_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn reseal_credential(
        &self,
        old: &CredentialRecord,
        key_id: &str,
        sealed: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let (old, key) = (old.clone(), key_id.to_owned());
        self.write(move |c| {
            let n = c
                .execute(
                    "UPDATE credentials SET key_id = ?1, sealed = ?2 \
                     WHERE credential_id = ?3 AND key_id = ?4 AND sealed = ?5",
                    (key, sealed, &old.credential_id, &old.key_id, &old.sealed),
                )
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }
}
