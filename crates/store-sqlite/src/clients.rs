//! `ClientStore` and `SettingsStore` on SQLite.

use async_trait::async_trait;
use rollcall_store::stats::StoreStats;
use rollcall_store::{ClientRecord, ClientStore, SettingsStore, StoreError};
use rusqlite::{OptionalExtension, Row};

use crate::{SqliteStore, backend};

const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, scopes, disabled, token_generation";

fn client_from_row(row: &Row<'_>) -> rusqlite::Result<ClientRecord> {
    let scopes: String = row.get(3)?;
    Ok(ClientRecord {
        client_id: row.get(0)?,
        name: row.get(1)?,
        secret_hash: row.get(2)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        disabled: row.get(4)?,
        token_generation: row.get(5)?,
    })
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        let id = client_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ?1"
            ))
            .map_err(backend)?
            .query_row([id], client_from_row)
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn put_client(&self, client: ClientRecord) -> Result<(), StoreError> {
        self.write(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO oauth_clients ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, \
                     secret_hash = excluded.secret_hash, scopes = excluded.scopes, disabled = excluded.disabled, \
                 token_generation = excluded.token_generation"
                ),
                (
                    &client.client_id,
                    &client.name,
                    &client.secret_hash,
                    client.scopes.join(" "),
                    client.disabled,
                    client.token_generation,
                ),
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {CLIENT_COLUMNS} FROM oauth_clients ORDER BY client_id"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], client_from_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError> {
        let id = client_id.to_owned();
        self.write(move |c| {
            let n = c
                .execute("DELETE FROM oauth_clients WHERE client_id = ?1", [id])
                .map_err(backend)?;
            Ok(n > 0)
        })
        .await
    }
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn setting_or_insert(&self, key: &str, value: &str) -> Result<String, StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |c| {
            c.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                (&key, &value),
            )
            .map_err(backend)?;
            c.query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| r.get(0))
                .map_err(backend)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    fn stats(&self) -> StoreStats {
        SqliteStore::stats(self)
    }
}

#[cfg(test)]
mod tests {
    use rollcall_store::ClientStore;

    /// A database from before clients had a token generation gets the
    /// column on open; its clients start at generation 0.
    #[tokio::test]
    async fn clients_from_before_token_generations_are_migrated() {
        let dir = std::env::temp_dir().join(format!("rollcall-clients-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE oauth_clients (client_id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, \
                 secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE); \
                 INSERT INTO oauth_clients VALUES ('old', 'Old app', '$argon2id$x', 'admin', FALSE);",
            )
            .unwrap();
        let store = crate::open(&path).unwrap();
        let old = store.client("old").await.unwrap().unwrap();
        assert_eq!((old.name.as_str(), old.token_generation), ("Old app", 0));
        let mut rotated = old.clone();
        rotated.token_generation = 42;
        store.put_client(rotated.clone()).await.unwrap();
        assert_eq!(store.clients().await.unwrap(), vec![rotated]);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
