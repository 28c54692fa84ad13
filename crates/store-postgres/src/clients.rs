//! `ClientStore` and `SettingsStore` on PostgreSQL.

use async_trait::async_trait;
use rollcall_store::stats::StoreStats;
use rollcall_store::{ClientRecord, ClientStore, SettingsStore, StoreError};
use tokio_postgres::Row;

use crate::{PgStore, backend};

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, scopes, disabled, token_generation";

fn client_from_row(row: &Row) -> Result<ClientRecord, StoreError> {
    let scopes: String = row.try_get(3).map_err(backend)?;
    Ok(ClientRecord {
        client_id: row.try_get(0).map_err(backend)?,
        name: row.try_get(1).map_err(backend)?,
        secret_hash: row.try_get(2).map_err(backend)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        disabled: row.try_get(4).map_err(backend)?,
        token_generation: row.try_get(5).map_err(backend)?,
    })
}

#[async_trait]
impl ClientStore for PgStore {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1"
            ))
            .await
            .map_err(backend)?;
        let row = client.query_opt(&stmt, &[&client_id]).await.map_err(backend)?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn put_client(&self, record: ClientRecord) -> Result<(), StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
                 secret_hash = excluded.secret_hash, scopes = excluded.scopes, disabled = excluded.disabled, \
                 token_generation = excluded.token_generation"
            ))
            .await
            .map_err(backend)?;
        client
            .execute(
                &stmt,
                &[
                    &record.client_id,
                    &record.name,
                    &record.secret_hash,
                    &record.scopes.join(" "),
                    &record.disabled,
                    &record.token_generation,
                ],
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        let client = self.conn().await?;
        // Code-point order, as on SQLite, whatever the database's locale.
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY client_id COLLATE \"C\""
            ))
            .await
            .map_err(backend)?;
        let rows = client.query(&stmt, &[]).await.map_err(backend)?;
        rows.iter().map(client_from_row).collect()
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let client = self.conn().await?;
        let stmt = client
            .prepare_cached("DELETE FROM oauth_clients WHERE client_id = $1")
            .await
            .map_err(backend)?;
        let n = client.execute(&stmt, &[&client_id]).await.map_err(backend)?;
        Ok(n > 0)
    }
}

#[async_trait]
impl SettingsStore for PgStore {
    /// Two statements, not one `INSERT … RETURNING` CTE: when another instance
    /// inserts the key first, `DO NOTHING` waits for its commit, and only a
    /// statement started after that (the SELECT) is sure to see its value.
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        let client = self.conn().await?;
        let (insert, select) = tokio::try_join!(
            client.prepare_cached("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"),
            client.prepare_cached("SELECT value FROM settings WHERE key = $1")
        )
        .map_err(backend)?;
        client.execute(&insert, &[&key, &value]).await.map_err(backend)?;
        let row = client.query_one(&select, &[&key]).await.map_err(backend)?;
        row.try_get(0).map_err(backend)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.conn().await?;
        client.simple_query("SELECT 1").await.map_err(backend)?;
        Ok(())
    }

    fn stats(&self) -> StoreStats {
        PgStore::stats(self)
    }
}
