//! The change log on SQLite: one table whose `INTEGER PRIMARY KEY` is
//! assigned inside the write's transaction. SQLite has one writer at a
//! time, so that number is commit order: a reader that saw position `n`
//! can never later meet a committed entry below `n`. `AUTOINCREMENT` keeps
//! numbers from being reused once pruning has emptied the table.

use async_trait::async_trait;
use oneroster::ResourceDecl;
use rollcall_store::diff::Logged;
use rollcall_store::{
    Change, ChangeOperation, ChangePage, ChangePosition, ChangeStore, History, Origin, StoreError, WriteContext,
};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::{SqliteStore, backend};

/// The log, and its one-row state: the epoch that names this log in
/// cursors (a restore starts a new one) and what pruning removed.
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS change_log (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    resource TEXT NOT NULL, sourced_id TEXT NOT NULL, operation TEXT NOT NULL, at TEXT NOT NULL,
    actor TEXT, request_id TEXT, origin TEXT NOT NULL, record TEXT, fields TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS change_log_record ON change_log (resource, sourced_id, position);
CREATE TABLE IF NOT EXISTS change_log_state (
    id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL,
    pruned_through INTEGER NOT NULL DEFAULT 0, pruned_before TEXT);
INSERT OR IGNORE INTO change_log_state (id, epoch) VALUES (1, lower(hex(randomblob(8))));
";

/// Gives the log a new epoch: cursors into the log as it was become `Gone`.
pub(crate) const NEW_EPOCH: &str = "UPDATE change_log_state SET epoch = lower(hex(randomblob(8)))";

const APPEND: &str = "INSERT INTO change_log \
    (resource, sourced_id, operation, at, actor, request_id, origin, record, fields) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

const COLUMNS: &str = "position, resource, sourced_id, operation, at, actor, request_id, origin, record, fields";

/// One entry to append: the write's [`Logged`] with its record's identity,
/// its JSON already written out, so an import's preparing thread does that
/// work rather than the single writer.
pub(crate) struct Entry {
    pub resource: &'static str,
    pub sourced_id: String,
    operation: &'static str,
    at: String,
    record: Option<String>,
    fields: String,
}

impl Entry {
    pub fn new(decl: &'static ResourceDecl, sourced_id: &str, logged: Logged) -> Self {
        Self {
            resource: decl.path(),
            sourced_id: sourced_id.to_owned(),
            operation: logged.operation.as_str(),
            record: logged.record.as_ref().map(ToString::to_string),
            fields: logged.fields_json(),
            at: logged.at,
        }
    }
}

/// Appends `entries` in order, inside the caller's transaction.
pub(crate) fn append(c: &Connection, ctx: &WriteContext, entries: &[Entry]) -> Result<(), StoreError> {
    let mut insert = c.prepare_cached(APPEND).map_err(backend)?;
    for e in entries {
        insert
            .execute(rusqlite::params![
                e.resource,
                e.sourced_id,
                e.operation,
                e.at,
                ctx.actor,
                ctx.request_id,
                ctx.origin.as_str(),
                e.record,
                e.fields,
            ])
            .map_err(backend)?;
    }
    Ok(())
}

struct State {
    epoch: String,
    pruned_through: i64,
    pruned_before: Option<String>,
}

fn state(c: &Connection) -> Result<State, StoreError> {
    c.query_row(
        "SELECT epoch, pruned_through, pruned_before FROM change_log_state WHERE id = 1",
        [],
        |r| {
            Ok(State {
                epoch: r.get(0)?,
                pruned_through: r.get(1)?,
                pruned_before: r.get(2)?,
            })
        },
    )
    .map_err(backend)
}

/// Where to read from after `after`, or `Gone`.
fn start(state: &State, after: Option<&ChangePosition>) -> Result<i64, StoreError> {
    let Some(after) = after else {
        return Ok(state.pruned_through);
    };
    match after.parts() {
        Some((epoch, at)) if epoch == state.epoch && at.len() == 1 => {
            if at[0] < state.pruned_through {
                Err(StoreError::Gone(rollcall_store::changes::PRUNED.into()))
            } else {
                Ok(at[0])
            }
        }
        _ => Err(StoreError::Gone(rollcall_store::changes::OTHER_LOG.into())),
    }
}

fn change(epoch: &str, r: &Row<'_>) -> rusqlite::Result<Change> {
    let record: Option<String> = r.get(8)?;
    let fields: String = r.get(9)?;
    let operation: String = r.get(3)?;
    let origin: String = r.get(7)?;
    Ok(Change {
        position: ChangePosition::new(epoch, &[r.get(0)?]),
        resource: r.get(1)?,
        sourced_id: r.get(2)?,
        operation: ChangeOperation::parse(&operation).unwrap_or(ChangeOperation::Update),
        at: r.get(4)?,
        actor: r.get(5)?,
        request_id: r.get(6)?,
        origin: Origin::parse(&origin),
        record: record.and_then(|t| serde_json::from_str(&t).ok()),
        fields: serde_json::from_str(&fields).unwrap_or_default(),
    })
}

fn page(c: &Connection, after: Option<&ChangePosition>, limit: usize) -> Result<ChangePage, StoreError> {
    // One snapshot for the state and the page: a prune between them could
    // otherwise remove entries the page was about to hand out.
    let snapshot = c.unchecked_transaction().map_err(backend)?;
    let state = state(c)?;
    let from = start(&state, after)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM change_log WHERE position > ?1 ORDER BY position LIMIT ?2"
        ))
        .map_err(backend)?;
    let changes: Vec<Change> = stmt
        .query_map((from, limit as i64), |r| change(&state.epoch, r))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    let next = match changes.last() {
        Some(last) => last.position.clone(),
        None => ChangePosition::new(&state.epoch, &[from]),
    };
    drop(stmt);
    snapshot.commit().map_err(backend)?;
    Ok(ChangePage { changes, next })
}

fn history(
    c: &Connection,
    resource: &str,
    id: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<History, StoreError> {
    let state = state(c)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM change_log WHERE resource = ?1 AND sourced_id = ?2 \
             AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at <= ?4) ORDER BY position DESC"
        ))
        .map_err(backend)?;
    let changes = stmt
        .query_map((resource, id, since, until), |r| change(&state.epoch, r))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    Ok(History {
        changes,
        pruned_before: state.pruned_before,
    })
}

/// Deletes the oldest entries up to the first one made at or after
/// `before`, so what is removed is always a prefix of the log and
/// `pruned_through` says exactly which cursors it invalidated.
fn prune(c: &mut Connection, before: &str) -> Result<u64, StoreError> {
    let tx = c.transaction().map_err(backend)?;
    let first_kept: Option<i64> = tx
        .query_row(
            "SELECT position FROM change_log WHERE at >= ?1 ORDER BY position LIMIT 1",
            [before],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    let last: Option<i64> = match first_kept {
        Some(kept) => tx.query_row(
            "SELECT max(position) FROM change_log WHERE position < ?1",
            [kept],
            |r| r.get(0),
        ),
        None => tx.query_row("SELECT max(position) FROM change_log", [], |r| r.get(0)),
    }
    .map_err(backend)?;
    let Some(last) = last else { return Ok(0) };
    let removed = tx
        .execute("DELETE FROM change_log WHERE position <= ?1", [last])
        .map_err(backend)?;
    tx.execute(
        "UPDATE change_log_state SET pruned_through = max(pruned_through, ?1), \
         pruned_before = max(coalesce(pruned_before, ''), ?2)",
        (last, before),
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(removed as u64)
}

#[async_trait]
impl ChangeStore for SqliteStore {
    async fn changes_after(&self, after: Option<&ChangePosition>, limit: usize) -> Result<ChangePage, StoreError> {
        let after = after.cloned();
        self.read(move |c| page(c, after.as_ref(), limit)).await
    }

    async fn history(
        &self,
        decl: &'static ResourceDecl,
        sourced_id: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<History, StoreError> {
        let (id, since, until) = (
            sourced_id.to_owned(),
            since.map(str::to_owned),
            until.map(str::to_owned),
        );
        self.read(move |c| history(c, decl.path(), &id, since.as_deref(), until.as_deref()))
            .await
    }

    async fn prune_changes(&self, before: &str) -> Result<u64, StoreError> {
        let before = before.to_owned();
        self.write(move |c| prune(c, &before)).await
    }
}
