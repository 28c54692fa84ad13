//! The embedded SQLite backend.
//!
//! SQLite connections are synchronous, so they live on dedicated threads fed
//! by channels: one writer (SQLite allows one at a time anyway, and a single
//! writer makes read-modify-write updates race-free) and a few readers, which
//! in WAL mode never wait for the writer: some for lists, some for lookups by
//! key, so a get never queues behind slow lists. Every read runs within a
//! time budget that SQLite itself enforces. This measured ~2.3× faster than a
//! pooled async driver on this hardware (see `STACK.md`).
//!
//! # Layout
//! - [`pool`]: the threads and channels.
//! - [`migrate`]: creates and upgrades the schema from the declarations.
//! - [`list`]: pages and totals, remembered between writes by [`memo`].
//! - [`apply`]: many writes (an import, a generated dataset) in one transaction.
//! - [`backup`]: online backup and checked restore of the file.
//! - [`changes`]: the change log, appended to inside every write's transaction.
//! - [`resources`], [`clients`], [`credentials`], [`webhooks`]: the trait
//!   implementations; [`write`]: one record's document, field columns and
//!   terms rows.

mod apply;
pub mod backup;
mod changes;
mod clients;
mod credentials;
mod extension;
mod group;
mod idempotency;
mod list;
mod memo;
mod migrate;
mod pool;
mod resources;
mod webhooks;
mod write;

use std::path::Path;
use std::time::Duration;

use rollcall_store::StoreError;
use rollcall_store::error::DEFAULT_QUERY_BUDGET;
use rollcall_store::sql::Dialect;

pub use group::CommitStats;
pub use pool::SqliteStore;

/// SQLite's spellings for the shared SQL compiler.
pub struct Sqlite;

impl Dialect for Sqlite {
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn contains_ci(&self, column: &str, needle: &str) -> String {
        format!("instr(rollcall_fold({column}), {needle}) > 0")
    }

    fn json_path(&self, dotted: &str) -> String {
        format!("$.{dotted}")
    }

    /// `json_extract` gives booleans as 1/0 and numbers as numbers; spell
    /// them as JSON does, as PostgreSQL's `#>>` does.
    fn json_text(&self, path: &str) -> String {
        format!(
            "CASE json_type(doc, {path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
             ELSE CAST(json_extract(doc, {path}) AS TEXT) END"
        )
    }

    /// `json_extract` gives JSON numbers as numbers and strings as text,
    /// so values compare typed; booleans are 1 and 0 on both sides.
    fn json_at(&self, dotted: &str) -> String {
        format!("json_extract(doc, '$.{dotted}')")
    }

    fn json_value(&self, param: &str) -> String {
        format!("json_extract({param}, '$')")
    }

    fn json_any_of(&self, expr: &str, list: &str) -> String {
        format!("{expr} IN (SELECT value FROM json_each({list}))")
    }

    /// The list is bound as a JSON array (see `list::to_sql`).
    fn any_of(&self, column: &str, list: &str) -> String {
        format!("{column} IN (SELECT value FROM json_each({list}))")
    }

    fn row_key(&self) -> &'static str {
        "rowid"
    }
}

/// Opens (creating and migrating) the database file at `path`, with the
/// default budget for one read.
pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
    open_with(path, DEFAULT_QUERY_BUDGET)
}

/// As [`open`], stopping any read that runs longer than `budget`
/// ([`StoreError::TimedOut`]).
pub fn open_with(path: &Path, budget: Duration) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(path, true, budget)
}

/// As [`open`], with a single connection, for a process that only runs one
/// job at a time on the database (a command-line import). Its bulk loads
/// bypass the WAL whenever no other connection (in any process) has the file
/// open: they write the database file directly, once, where the WAL writes
/// everything twice (the commit, then the checkpoint); a 1,000,000-user
/// import took 37.5 s instead of 44 s.
///
/// Its reads have no time budget: with one job at a time there is no other
/// request for a slow read to hold up.
pub fn open_alone(path: &Path) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(path, false, Duration::MAX)
}

fn backend(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        Some(DatabaseBusy | DatabaseLocked) => StoreError::Busy(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}
