//! `WebhookStore` on PostgreSQL: the shared statements, each one round trip.
//! A lease is one conditional `UPDATE`, which row locking makes atomic
//! between instances.

use async_trait::async_trait;
use rollcall_store::webhooks::{self as sql, decode_list, encode_list};
use rollcall_store::{StoreError, WebhookRecord, WebhookState, WebhookStatus, WebhookStore};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::{PgStore, backend};

/// The table, with the secret as BYTEA of sealed bytes.
pub fn table() -> String {
    sql::table("BYTEA")
}

fn from_row(row: &Row) -> Result<WebhookRecord, StoreError> {
    let get_list = |i| {
        row.try_get::<_, String>(i)
            .map_err(backend)
            .and_then(|t| decode_list(&t))
    };
    Ok(WebhookRecord {
        id: row.try_get(0).map_err(backend)?,
        url: row.try_get(1).map_err(backend)?,
        resources: get_list(2)?,
        operations: get_list(3)?,
        filter: row.try_get(4).map_err(backend)?,
        key_id: row.try_get(5).map_err(backend)?,
        sealed: row.try_get(6).map_err(backend)?,
        created_at: row.try_get(7).map_err(backend)?,
        state: WebhookState {
            position: row.try_get(8).map_err(backend)?,
            status: WebhookStatus::parse(row.try_get(9).map_err(backend)?)?,
            attempts: row.try_get(10).map_err(backend)?,
            next_attempt_at: row.try_get(11).map_err(backend)?,
            last_error: row.try_get(12).map_err(backend)?,
            last_delivery_at: row.try_get(13).map_err(backend)?,
        },
    })
}

impl PgStore {
    async fn run(&self, statement: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.conn().await?;
        let stmt = client.prepare_cached(statement).await.map_err(backend)?;
        client.execute(&stmt, params).await.map_err(backend)
    }

    async fn rows(&self, statement: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<WebhookRecord>, StoreError> {
        let client = self.conn().await?;
        let stmt = client.prepare_cached(statement).await.map_err(backend)?;
        let rows = client.query(&stmt, params).await.map_err(backend)?;
        rows.iter().map(from_row).collect()
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn insert_webhook(&self, r: WebhookRecord) -> Result<(), StoreError> {
        let (resources, operations) = (encode_list(&r.resources), encode_list(&r.operations));
        let s = &r.state;
        self.run(
            sql::INSERT,
            &[
                &r.id,
                &r.url,
                &resources,
                &operations,
                &r.filter,
                &r.key_id,
                &r.sealed,
                &r.created_at,
                &s.position,
                &s.status.as_str(),
                &s.attempts,
                &s.next_attempt_at,
                &s.last_error,
                &s.last_delivery_at,
            ],
        )
        .await
        .map(drop)
    }

    async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        Ok(self.rows(sql::SELECT_ONE, &[&id]).await?.pop())
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        self.rows(sql::SELECT_ALL, &[]).await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.run(sql::DELETE, &[&id]).await? > 0)
    }

    async fn reseal_webhook(&self, id: &str, key_id: &str, sealed: Vec<u8>) -> Result<bool, StoreError> {
        Ok(self.run(sql::RESEAL, &[&id, &key_id, &sealed]).await? > 0)
    }

    async fn set_webhook_status(
        &self,
        id: &str,
        s: &WebhookState,
        restart_at: Option<&str>,
    ) -> Result<bool, StoreError> {
        let params: &[&(dyn ToSql + Sync)] = &[
            &id,
            &s.status.as_str(),
            &s.attempts,
            &s.next_attempt_at,
            &s.last_error,
            &restart_at,
        ];
        Ok(self.run(sql::SET_STATUS, params).await? > 0)
    }

    async fn lease_webhook(&self, id: &str, holder: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        Ok(self.run(sql::LEASE, &[&id, &holder, &now, &until]).await? > 0)
    }

    async fn save_webhook_state(
        &self,
        id: &str,
        holder: &str,
        s: &WebhookState,
        until: i64,
    ) -> Result<bool, StoreError> {
        let params: &[&(dyn ToSql + Sync)] = &[
            &id,
            &holder,
            &s.position,
            &s.status.as_str(),
            &s.attempts,
            &s.next_attempt_at,
            &s.last_error,
            &s.last_delivery_at,
            &until,
        ];
        Ok(self.run(sql::SAVE_STATE, params).await? > 0)
    }

    async fn release_webhook(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        self.run(sql::RELEASE, &[&id, &holder]).await.map(drop)
    }
}
