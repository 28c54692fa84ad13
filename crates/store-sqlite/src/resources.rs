//! `ResourceStore` on SQLite.

use std::sync::mpsc::channel;

use async_trait::async_trait;
use oneroster::query::ListQuery;
use oneroster::{FieldDecl, ResourceDecl};
use rollcall_store::diff::Logged;
use rollcall_store::sql::quote;
use rollcall_store::{Page, RawPage, ResourceStore, StoreError, Update, WriteContext, Writes, schema, terms};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde_json::Value;

use crate::changes::{self, Entry};
use crate::list::{self, parse_doc};
use crate::write::{self, Row};
use crate::{SqliteStore, apply, backend};

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn get(&self, decl: &'static ResourceDecl, id: &str) -> Result<Option<Value>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| load(c, decl, &id)).await
    }

    async fn get_many(&self, decl: &'static ResourceDecl, ids: Vec<String>) -> Result<Vec<Value>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(move |c| {
            let marks: Vec<String> = (1..=ids.len()).map(|n| format!("?{n}")).collect();
            let q = format!(
                "SELECT doc FROM {} WHERE sourced_id IN ({})",
                quote(decl.collection),
                marks.join(",")
            );
            let mut stmt = c.prepare(&q).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(ids.iter()), |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| parse_doc(&r.map_err(backend)?)).collect()
        })
        .await
    }

    async fn unique_holders(
        &self,
        decl: &'static ResourceDecl,
        field: &'static FieldDecl,
        keys: Vec<String>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(move |c| {
            let mut out = Vec::new();
            for chunk in keys.chunks(500) {
                let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("?{n}")).collect();
                let key = schema::key_column(field);
                let q = format!(
                    "SELECT {key}, sourced_id FROM {} WHERE {key} IN ({})",
                    quote(decl.collection),
                    marks.join(",")
                );
                let mut stmt = c.prepare(&q).map_err(backend)?;
                let rows = stmt
                    .query_map(params_from_iter(chunk.iter()), |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(backend)?;
                for row in rows {
                    out.push(row.map_err(backend)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, StoreError> {
        let (memo, query) = (self.memo.clone(), query.clone());
        let (items, total) = self.read_list(move |c| list::list(c, &memo, decl, &query)).await?;
        Ok(Page { items, total })
    }

    async fn list_raw(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<RawPage, StoreError> {
        let (memo, query) = (self.memo.clone(), query.clone());
        let (items, total) = self.read_list(move |c| list::list(c, &memo, decl, &query)).await?;
        Ok(RawPage { items, total })
    }

    async fn insert(&self, decl: &'static ResourceDecl, doc: Value) -> Result<(), StoreError> {
        self.insert_many(decl, vec![doc]).await
    }

    async fn insert_many(&self, decl: &'static ResourceDecl, docs: Vec<Value>) -> Result<(), StoreError> {
        let ctx = WriteContext::current();
        self.write_grouped(move |c| {
            let mut entries = Vec::with_capacity(docs.len());
            for doc in &docs {
                let row = Row::new(decl, doc)?;
                write::insert(c, decl, &row)?;
                entries.push(Entry::new(decl, row.id(), Logged::created(decl, doc)));
            }
            changes::append(c, &ctx, &entries)
        })
        .await
    }

    async fn apply(&self, writes: Writes) -> Result<u64, StoreError> {
        let alone = self.single_connection();
        let (caller, gone) = channel::<()>();
        let ctx = WriteContext::current();
        let applied = self
            .write(move |c| {
                let direct = alone && leave_wal(c);
                let result = apply::run(c, writes, &ctx, &gone);
                if direct {
                    return_to_wal(c);
                } else if result.is_ok() {
                    truncate_wal(c);
                }
                result
            })
            .await;
        drop(caller);
        applied
    }

    async fn update(&self, decl: &'static ResourceDecl, id: &str, change: Update) -> Result<Value, StoreError> {
        let id = id.to_owned();
        let ctx = WriteContext::current();
        self.write_grouped(move |c| {
            let current = load(c, decl, &id)?.ok_or(StoreError::NotFound)?;
            let old_terms = terms::rows(decl, &current);
            let next = change(current.clone())?;
            write::replace(c, decl, &id, &old_terms, &Row::new(decl, &next)?)?;
            let entry = Entry::new(decl, &id, Logged::updated(decl, &current, &next));
            changes::append(c, &ctx, &[entry])?;
            Ok(next)
        })
        .await
    }
}

/// Moves the database from the WAL to a rollback journal for one bulk load,
/// when no other connection has the file open (SQLite refuses the switch
/// otherwise, and the load goes through the WAL as usual). Pages new to the
/// file need no journal entry, so a load into empty tables writes them
/// once; the journal still makes the load all or nothing.
fn leave_wal(c: &Connection) -> bool {
    let mode = c.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0));
    matches!(mode.as_deref(), Ok("delete"))
}

/// Back to the WAL after [`leave_wal`]. Should that fail (another process
/// opened the file meanwhile), the next connection to open it switches it.
fn return_to_wal(c: &Connection) {
    let mode = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0));
    if !matches!(mode.as_deref(), Ok("wal")) {
        tracing::warn!(?mode, "could not return to the WAL after a bulk load");
    }
}

/// The commit copied the load into the database file; hand the WAL's GBs
/// back to the disk (waits up to the busy timeout for readers, then leaves
/// it for later). Housekeeping: a failure here loses nothing, so it does
/// not fail the committed load.
fn truncate_wal(c: &Connection) {
    if let Err(e) = c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        tracing::warn!(error = %e, "could not truncate the WAL after a bulk load");
    }
}

pub(crate) fn load(c: &Connection, decl: &ResourceDecl, id: &str) -> Result<Option<Value>, StoreError> {
    let doc: Option<String> = c
        .prepare_cached(&format!(
            "SELECT doc FROM {} WHERE sourced_id = ?1",
            quote(decl.collection)
        ))
        .map_err(backend)?
        .query_row([id], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    doc.map(|d| parse_doc(&d)).transpose()
}
