//! `CredentialStore` on PostgreSQL.

use async_trait::async_trait;
use rollcall_store::{CredentialRecord, CredentialStore, StoreError};
use tokio_postgres::Row;

use crate::{PgStore, backend};

/// The table, its own and not a resource's: no resource read or export
/// reaches it. The secret is BYTEA of sealed bytes, never text.
pub const TABLE: &str = "CREATE TABLE IF NOT EXISTS credentials (\
     credential_id TEXT COLLATE \"C\" NOT NULL PRIMARY KEY, user_id TEXT COLLATE \"C\" NOT NULL, \
     application_name TEXT COLLATE \"C\" NOT NULL, profile_id TEXT NOT NULL, username TEXT NOT NULL, \
     key_id TEXT NOT NULL, sealed BYTEA NOT NULL, UNIQUE (user_id, application_name))";

const COLUMNS: &str = "credential_id, user_id, application_name, profile_id, username, key_id, sealed";

fn from_row(row: &Row) -> Result<CredentialRecord, StoreError> {
    Ok(CredentialRecord {
        credential_id: row.try_get(0).map_err(backend)?,
        user_id: row.try_get(1).map_err(backend)?,
        application_name: row.try_get(2).map_err(backend)?,
        profile_id: row.try_get(3).map_err(backend)?,
        username: row.try_get(4).map_err(backend)?,
        key_id: row.try_get(5).map_err(backend)?,
        sealed: row.try_get(6).map_err(backend)?,
    })
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn put_credential(&self, record: CredentialRecord) -> Result<CredentialRecord, StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO credentials ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (user_id, application_name) DO UPDATE SET username = excluded.username, \
                 key_id = excluded.key_id, sealed = excluded.sealed RETURNING {COLUMNS}"
            ))
            .await
            .map_err(backend)?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &record.credential_id,
                    &record.user_id,
                    &record.application_name,
                    &record.profile_id,
                    &record.username,
                    &record.key_id,
                    &record.sealed,
                ],
            )
            .await
            .map_err(backend)?;
        from_row(&row)
    }

    async fn credential(&self, user_id: &str, credential_id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM credentials WHERE credential_id = $1 AND user_id = $2"
            ))
            .await
            .map_err(backend)?;
        let row = client
            .query_opt(&stmt, &[&credential_id, &user_id])
            .await
            .map_err(backend)?;
        row.as_ref().map(from_row).transpose()
    }

    async fn credentials_sealed_otherwise(
        &self,
        key_id: &str,
        limit: u32,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM credentials WHERE key_id <> $1 ORDER BY credential_id LIMIT $2"
            ))
            .await
            .map_err(backend)?;
        let rows = client
            .query(&stmt, &[&key_id, &i64::from(limit)])
            .await
            .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn reseal_credential(
        &self,
        old: &CredentialRecord,
        key_id: &str,
        sealed: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE credentials SET key_id = $1, sealed = $2 \
                 WHERE credential_id = $3 AND key_id = $4 AND sealed = $5",
            )
            .await
            .map_err(backend)?;
        let n = client
            .execute(&stmt, &[&key_id, &sealed, &old.credential_id, &old.key_id, &old.sealed])
            .await
            .map_err(backend)?;
        Ok(n > 0)
    }
}
