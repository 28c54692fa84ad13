//! `Idempotency-Key`s in the `idempotency_keys` table; claims are small
//! writes, so they join the writer's group commits.

use async_trait::async_trait;
use rollcall_store::schema::{CLAIM_KEY, EXPIRE_KEYS, FINISH_KEY, HELD_KEY, RELEASE_KEY};
use rollcall_store::{IdempotencyStore, KeyClaim, KeyTimes, StoreError};
use rusqlite::OptionalExtension;

use crate::{SqliteStore, backend};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_key(
        &self,
        client: &str,
        key: &str,
        fingerprint: &str,
        at: KeyTimes,
    ) -> Result<KeyClaim, StoreError> {
        let (client, key, fingerprint) = (client.to_owned(), key.to_owned(), fingerprint.to_owned());
        self.write_grouped(move |c| {
            c.execute(EXPIRE_KEYS, [at.expired_before, at.stale_before])
                .map_err(backend)?;
            let params: &[(&str, &dyn rusqlite::ToSql)] =
                &[("$1", &client), ("$2", &key), ("$3", &fingerprint), ("$4", &at.now)];
            if c.execute(CLAIM_KEY, params).map_err(backend)? == 1 {
                return Ok(KeyClaim::Claimed);
            }
            let held = c
                .query_row(HELD_KEY, &[("$1", &client), ("$2", &key)], |r| {
                    Ok(KeyClaim::Held {
                        fingerprint: r.get(0)?,
                        response: r.get(1)?,
                    })
                })
                .optional()
                .map_err(backend)?;
            held.ok_or_else(|| StoreError::Backend("an idempotency key vanished while it was claimed".into()))
        })
        .await
    }

    async fn finish_key(&self, client: &str, key: &str, response: &str) -> Result<(), StoreError> {
        let (client, key, response) = (client.to_owned(), key.to_owned(), response.to_owned());
        self.write_grouped(move |c| {
            let params: &[(&str, &dyn rusqlite::ToSql)] = &[("$1", &client), ("$2", &key), ("$3", &response)];
            c.execute(FINISH_KEY, params).map(drop).map_err(backend)
        })
        .await
    }

    async fn release_key(&self, client: &str, key: &str) -> Result<(), StoreError> {
        let (client, key) = (client.to_owned(), key.to_owned());
        self.write_grouped(move |c| {
            c.execute(RELEASE_KEY, &[("$1", &client), ("$2", &key)])
                .map(drop)
                .map_err(backend)
        })
        .await
    }
}
