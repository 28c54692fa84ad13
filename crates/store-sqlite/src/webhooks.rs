//! `WebhookStore` on SQLite: the shared statements with `?N` for `$N`;
//! every change is a small write joining the writer's group commits.

use async_trait::async_trait;
use rollcall_store::webhooks::{self as sql, decode_list, encode_list};
use rollcall_store::{StoreError, WebhookRecord, WebhookState, WebhookStatus, WebhookStore};
use rusqlite::{Connection, OptionalExtension, Row, ToSql};

use crate::{SqliteStore, backend};

/// The table, with the secret as a BLOB of sealed bytes.
pub fn table() -> String {
    sql::table("BLOB")
}

/// A shared statement in SQLite's spelling of numbered parameters.
fn spelled(statement: &str) -> String {
    statement.replace('$', "?")
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<(WebhookRecord, String, String, String)> {
    let record = WebhookRecord {
        id: row.get(0)?,
        url: row.get(1)?,
        resources: Vec::new(),
        operations: Vec::new(),
        filter: row.get(4)?,
        key_id: row.get(5)?,
        sealed: row.get(6)?,
        created_at: row.get(7)?,
        state: WebhookState {
            position: row.get(8)?,
            status: WebhookStatus::Active,
            attempts: row.get(10)?,
            next_attempt_at: row.get(11)?,
            last_error: row.get(12)?,
            last_delivery_at: row.get(13)?,
        },
    };
    Ok((record, row.get(2)?, row.get(3)?, row.get(9)?))
}

/// The row's lists and status, decoded.
fn finish(
    (mut record, resources, operations, status): (WebhookRecord, String, String, String),
) -> Result<WebhookRecord, StoreError> {
    record.resources = decode_list(&resources)?;
    record.operations = decode_list(&operations)?;
    record.state.status = WebhookStatus::parse(&status)?;
    Ok(record)
}

fn execute(c: &Connection, statement: &str, params: &[&dyn ToSql]) -> Result<usize, StoreError> {
    c.prepare_cached(&spelled(statement))
        .map_err(backend)?
        .execute(params)
        .map_err(backend)
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn insert_webhook(&self, r: WebhookRecord) -> Result<(), StoreError> {
        self.write_grouped(move |c| {
            let (resources, operations) = (encode_list(&r.resources), encode_list(&r.operations));
            let s = &r.state;
            execute(
                c,
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
            .map(drop)
        })
        .await
    }

    async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            let row = c
                .prepare_cached(&spelled(sql::SELECT_ONE))
                .map_err(backend)?
                .query_row([id], from_row)
                .optional()
                .map_err(backend)?;
            row.map(finish).transpose()
        })
        .await
    }

    async fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(sql::SELECT_ALL).map_err(backend)?;
            let rows = stmt.query_map([], from_row).map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(finish)).collect()
        })
        .await
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write_grouped(move |c| Ok(execute(c, sql::DELETE, &[&id])? > 0))
            .await
    }

    async fn reseal_webhook(&self, id: &str, key_id: &str, sealed: Vec<u8>) -> Result<bool, StoreError> {
        let (id, key_id) = (id.to_owned(), key_id.to_owned());
        self.write_grouped(move |c| Ok(execute(c, sql::RESEAL, &[&id, &key_id, &sealed])? > 0))
            .await
    }

    async fn set_webhook_status(
        &self,
        id: &str,
        state: &WebhookState,
        restart_at: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (id, s, restart_at) = (id.to_owned(), state.clone(), restart_at.map(str::to_owned));
        self.write_grouped(move |c| {
            let params: &[&dyn ToSql] = &[
                &id,
                &s.status.as_str(),
                &s.attempts,
                &s.next_attempt_at,
                &s.last_error,
                &restart_at,
            ];
            Ok(execute(c, sql::SET_STATUS, params)? > 0)
        })
        .await
    }

    async fn lease_webhook(&self, id: &str, holder: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let (id, holder) = (id.to_owned(), holder.to_owned());
        self.write_grouped(move |c| Ok(execute(c, sql::LEASE, &[&id, &holder, &now, &until])? > 0))
            .await
    }

    async fn save_webhook_state(
        &self,
        id: &str,
        holder: &str,
        state: &WebhookState,
        until: i64,
    ) -> Result<bool, StoreError> {
        let (id, holder, s) = (id.to_owned(), holder.to_owned(), state.clone());
        self.write_grouped(move |c| {
            let params: &[&dyn ToSql] = &[
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
            Ok(execute(c, sql::SAVE_STATE, params)? > 0)
        })
        .await
    }

    async fn release_webhook(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        let (id, holder) = (id.to_owned(), holder.to_owned());
        self.write_grouped(move |c| execute(c, sql::RELEASE, &[&id, &holder]).map(drop))
            .await
    }
}
