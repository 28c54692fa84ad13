//! The change log on PostgreSQL, ordered by (transaction id, sequence).
//!
//! A sequence alone is not commit order: a writer can take 41, another 42
//! and commit first, and a reader that paged past 42 would never see 41.
//! Each entry therefore carries its transaction's id (`pg_current_xact_id()`)
//! and the feed hands out only entries of transactions below the reader's
//! snapshot horizon (`pg_snapshot_xmin`): every transaction below it has
//! ended, and every one still running or yet to write has an id at or above
//! it, so nothing can later appear before a position already handed out.
//! Within a transaction the sequence orders its entries.
//!
//! The cost is latency, never loss: a long transaction anywhere on the
//! server (an import is one; the horizon counts every database's) holds the
//! horizon back, and the feed waits for it to end before going past it.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use oneroster::ResourceDecl;
use rollcall_store::changes::{OTHER_LOG, PRUNED};
use rollcall_store::diff::Logged;
use rollcall_store::{
    Change, ChangeOperation, ChangePage, ChangePosition, ChangeStore, History, Origin, StoreError, WriteContext,
};
use serde_json::Value;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use crate::{PgStore, backend};

/// The log and its one-row state (see the SQLite backend's): the epoch
/// naming this log in cursors and the last position pruning removed.
pub(crate) const TABLES: &str = "
CREATE SEQUENCE IF NOT EXISTS change_log_seq;
CREATE TABLE IF NOT EXISTS change_log (
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq BIGINT NOT NULL DEFAULT nextval('change_log_seq'),
    resource TEXT COLLATE \"C\" NOT NULL, sourced_id TEXT COLLATE \"C\" NOT NULL, operation TEXT NOT NULL,
    at TEXT COLLATE \"C\" NOT NULL, actor TEXT, request_id TEXT, origin TEXT NOT NULL, record JSONB,
    fields JSONB NOT NULL, PRIMARY KEY (xid, seq));
CREATE INDEX IF NOT EXISTS change_log_record ON change_log (resource, sourced_id, xid, seq);
CREATE TABLE IF NOT EXISTS change_log_state (
    id INT PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL,
    pruned_xid BIGINT NOT NULL DEFAULT 0, pruned_seq BIGINT NOT NULL DEFAULT 0, pruned_before TEXT);
INSERT INTO change_log_state (id, epoch)
    VALUES (1, substr(md5(random()::text || clock_timestamp()::text), 1, 16)) ON CONFLICT DO NOTHING;
";

/// The oldest transaction id that may still add entries: the horizon of a
/// snapshot taken by a statement of its own *before* the snapshot that
/// reads entries below it, so a transaction that ends between the two is
/// visible to the read.
const HORIZON: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint";

async fn horizon(c: &impl GenericClient) -> Result<i64, StoreError> {
    let row = c.query_one(HORIZON, &[]).await.map_err(backend)?;
    Ok(row.get(0))
}

const COLUMNS: &str = "xid::text::bigint, seq, resource, sourced_id, operation, at, actor, request_id, origin, \
                       record, fields";

/// Appends one entry per logged write, in order, in the caller's transaction:
/// one statement however many.
pub(crate) async fn append(
    tx: &impl GenericClient,
    ctx: &WriteContext,
    decl: &ResourceDecl,
    entries: Vec<(String, Logged)>,
) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO change_log (resource, sourced_id, operation, at, actor, request_id, origin, record, fields) \
             SELECT $1, i, o, a, $2, $3, $4, r, f FROM unnest($5::text[], $6::text[], $7::text[], $8::jsonb[], \
             $9::jsonb[]) WITH ORDINALITY AS t(i, o, a, r, f, n) ORDER BY n",
        )
        .await
        .map_err(backend)?;
    let n = entries.len();
    let (mut ids, mut ops, mut ats, mut records, mut fields) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (id, logged) in entries {
        ids.push(id);
        ops.push(logged.operation.as_str());
        fields.push(serde_json::to_value(&logged.fields).unwrap_or(Value::Array(Vec::new())));
        ats.push(logged.at);
        records.push(logged.record);
    }
    let params: [&(dyn ToSql + Sync); 9] = [
        &decl.path(),
        &ctx.actor,
        &ctx.request_id,
        &ctx.origin.as_str(),
        &ids,
        &ops,
        &ats,
        &records,
        &fields,
    ];
    tx.execute(&stmt, &params).await.map_err(backend)?;
    Ok(())
}

struct State {
    epoch: String,
    pruned: (i64, i64),
    pruned_before: Option<String>,
}

async fn state(c: &impl GenericClient) -> Result<State, StoreError> {
    let row = c
        .query_one(
            "SELECT epoch, pruned_xid, pruned_seq, pruned_before FROM change_log_state WHERE id = 1",
            &[],
        )
        .await
        .map_err(backend)?;
    Ok(State {
        epoch: row.get(0),
        pruned: (row.get(1), row.get(2)),
        pruned_before: row.get(3),
    })
}

/// Where to read from after `after`, or `Gone`.
fn start(state: &State, after: Option<&ChangePosition>) -> Result<(i64, i64), StoreError> {
    let Some(after) = after else { return Ok(state.pruned) };
    match after.parts() {
        Some((epoch, at)) if epoch == state.epoch && at.len() == 2 => {
            let at = (at[0], at[1]);
            if at < state.pruned {
                Err(StoreError::Gone(PRUNED.into()))
            } else {
                Ok(at)
            }
        }
        _ => Err(StoreError::Gone(OTHER_LOG.into())),
    }
}

fn change(epoch: &str, r: &tokio_postgres::Row) -> Change {
    let operation: String = r.get(4);
    let origin: String = r.get(8);
    let fields: Value = r.get(10);
    Change {
        position: ChangePosition::new(epoch, &[r.get(0), r.get(1)]),
        resource: r.get(2),
        sourced_id: r.get(3),
        operation: ChangeOperation::parse(&operation).unwrap_or(ChangeOperation::Update),
        at: r.get(5),
        actor: r.get(6),
        request_id: r.get(7),
        origin: Origin::parse(&origin),
        record: r.get(9),
        fields: serde_json::from_value(fields).unwrap_or_default(),
    }
}

#[async_trait]
impl ChangeStore for PgStore {
    async fn changes_after(&self, after: Option<&ChangePosition>, limit: usize) -> Result<ChangePage, StoreError> {
        let mut client = self.conn().await?;
        let horizon = horizon(&client).await?;
        // One snapshot for the state and the page, taken after the horizon
        // was read: a prune between them could otherwise remove entries
        // the page was about to hand out.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(backend)?;
        let state = state(&tx).await?;
        let from = start(&state, after)?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM change_log WHERE (xid, seq) > ($1::text::xid8, $2) \
                     AND xid < $4::text::xid8 ORDER BY xid, seq LIMIT $3"
                ),
                &[&from.0.to_string(), &from.1, &(limit as i64), &horizon.to_string()],
            )
            .await
            .map_err(|e| self.fail(e))?;
        tx.commit().await.map_err(backend)?;
        let changes: Vec<Change> = rows.iter().map(|r| change(&state.epoch, r)).collect();
        let next = match changes.last() {
            Some(last) => last.position.clone(),
            None => ChangePosition::new(&state.epoch, &[from.0, from.1]),
        };
        Ok(ChangePage { changes, next })
    }

    async fn history(
        &self,
        decl: &'static ResourceDecl,
        sourced_id: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<History, StoreError> {
        let client = self.conn().await?;
        let state = state(&client).await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM change_log WHERE resource = $1 AND sourced_id = $2 \
                     AND ($3::text IS NULL OR at >= $3) AND ($4::text IS NULL OR at <= $4) \
                     ORDER BY xid DESC, seq DESC"
                ),
                &[&decl.path(), &sourced_id, &since, &until],
            )
            .await
            .map_err(|e| self.fail(e))?;
        Ok(History {
            changes: rows.iter().map(|r| change(&state.epoch, r)).collect(),
            pruned_before: state.pruned_before,
        })
    }

    /// Removes a prefix of the log, only below the horizon: a transaction
    /// still running could otherwise commit an entry inside what was
    /// declared pruned.
    async fn prune_changes(&self, before: &str) -> Result<u64, StoreError> {
        let mut client = self.conn().await?;
        let horizon = horizon(&client).await?;
        let tx = client.transaction().await.map_err(backend)?;
        tx.batch_execute(crate::resources::UNBUDGETED).await.map_err(backend)?;
        let last = tx
            .query_opt(
                "WITH kept AS (SELECT xid, seq FROM change_log WHERE at >= $1 ORDER BY xid, seq LIMIT 1) \
                 SELECT c.xid::text::bigint, c.seq FROM change_log c WHERE c.xid < $2::text::xid8 \
                 AND NOT EXISTS (SELECT 1 FROM kept WHERE (kept.xid, kept.seq) <= (c.xid, c.seq)) \
                 ORDER BY c.xid DESC, c.seq DESC LIMIT 1",
                &[&before, &horizon.to_string()],
            )
            .await
            .map_err(backend)?;
        let Some(last) = last else { return Ok(0) };
        let (xid, seq): (i64, i64) = (last.get(0), last.get(1));
        let removed = tx
            .execute(
                "DELETE FROM change_log WHERE (xid, seq) <= ($1::text::xid8, $2)",
                &[&xid.to_string(), &seq],
            )
            .await
            .map_err(backend)?;
        tx.execute(
            "UPDATE change_log_state SET pruned_xid = $1, pruned_seq = $2, \
             pruned_before = greatest(pruned_before, $3) WHERE id = 1 AND (pruned_xid, pruned_seq) < ($1, $2)",
            &[&xid, &seq, &before],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(removed)
    }
}
