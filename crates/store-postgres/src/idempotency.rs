//! `Idempotency-Key`s in the `idempotency_keys` table. A claim is one
//! `INSERT … ON CONFLICT DO NOTHING`: when another instance claims the key
//! first, it waits for that commit, and the SELECT after it sees the holder.

use async_trait::async_trait;
use rollcall_store::schema::{CLAIM_KEY, EXPIRE_KEYS, FINISH_KEY, HELD_KEY, RELEASE_KEY};
use rollcall_store::{IdempotencyStore, KeyClaim, KeyTimes, StoreError};

use crate::{PgStore, backend};

#[async_trait]
impl IdempotencyStore for PgStore {
    async fn claim_key(
        &self,
        client: &str,
        key: &str,
        fingerprint: &str,
        at: KeyTimes,
    ) -> Result<KeyClaim, StoreError> {
        let conn = self.conn().await?;
        let (expire, claim, held) = tokio::try_join!(
            conn.prepare_cached(EXPIRE_KEYS),
            conn.prepare_cached(CLAIM_KEY),
            conn.prepare_cached(HELD_KEY)
        )
        .map_err(backend)?;
        conn.execute(&expire, &[&at.expired_before, &at.stale_before])
            .await
            .map_err(backend)?;
        if conn
            .execute(&claim, &[&client, &key, &fingerprint, &at.now])
            .await
            .map_err(backend)?
            == 1
        {
            return Ok(KeyClaim::Claimed);
        }
        let row = conn.query_opt(&held, &[&client, &key]).await.map_err(backend)?;
        let row = row.ok_or_else(|| StoreError::Backend("an idempotency key vanished while it was claimed".into()))?;
        Ok(KeyClaim::Held {
            fingerprint: row.try_get(0).map_err(backend)?,
            response: row.try_get(1).map_err(backend)?,
        })
    }

    async fn finish_key(&self, client: &str, key: &str, response: &str) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let finish = conn.prepare_cached(FINISH_KEY).await.map_err(backend)?;
        conn.execute(&finish, &[&client, &key, &response])
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn release_key(&self, client: &str, key: &str) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let release = conn.prepare_cached(RELEASE_KEY).await.map_err(backend)?;
        conn.execute(&release, &[&client, &key]).await.map_err(backend)?;
        Ok(())
    }
}
