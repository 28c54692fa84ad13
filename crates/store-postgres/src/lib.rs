//! The PostgreSQL backend, for deployments that run several instances over
//! one database.
//!
//! Connections come from a small `deadpool` pool of `tokio-postgres` clients:
//! on a shared box 4 connections measured faster than 8 or 16, and
//! tokio-postgres beat sqlx by ~25% per point read (see `STACK.md`). Every
//! statement goes through the per-connection `prepare_cached`, so a query
//! shape is parsed once per connection, not once per request; that cache is
//! bounded (see [`STATEMENTS_PER_CONNECTION`]).
//!
//! Documents are stored as `JSONB` with one generated, stored column per
//! declared scalar field, all `COLLATE "C"` so text compares and sorts in
//! code-point order exactly as on SQLite, whatever the database's locale.
//!
//! # Layout
//! - [`testing`]: a throwaway database per test (for this and other crates' tests).
//! - `migrate`: creates and upgrades the schema under an advisory lock.
//! - `list`: pages and totals, remembered while the database's snapshot is unchanged.
//! - `resources`, `clients`, `credentials`, `webhooks`: the trait implementations.

mod changes;
mod clients;
mod credentials;
mod extension;
mod idempotency;
mod list;
mod migrate;
mod resources;
pub mod testing;
mod webhooks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod};
use rollcall_store::StoreError;
use rollcall_store::error::DEFAULT_QUERY_BUDGET;
use rollcall_store::sql::Dialect;
use rollcall_store::stats::{Connections, Histogram, StoreStats};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

/// PostgreSQL's spellings for the shared SQL compiler.
pub struct Postgres;

impl Dialect for Postgres {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    /// Lower-cases under ICU's root locale, which follows the same Unicode
    /// rules as Rust's `to_lowercase` (the needle's side). Not the column's
    /// own collation: "C" lower-cases ASCII only. Needs PostgreSQL built with
    /// ICU (the default from 16, and in every common 15 package).
    fn contains_ci(&self, column: &str, needle: &str) -> String {
        format!("strpos(lower({column} COLLATE \"und-x-icu\"), {needle}) > 0")
    }

    fn json_path(&self, dotted: &str) -> String {
        dotted.to_owned()
    }

    fn json_text(&self, path: &str) -> String {
        format!("(doc #>> string_to_array({path}, '.'))")
    }

    /// The `jsonb` value: `jsonb` orders numbers as numbers, and its
    /// B-tree operators let an expression index serve filters and sorts.
    fn json_at(&self, dotted: &str) -> String {
        format!("(doc #> '{{{}}}')", dotted.replace('.', ","))
    }

    fn json_value(&self, param: &str) -> String {
        format!("({param}::text)::jsonb")
    }

    fn json_any_of(&self, expr: &str, list: &str) -> String {
        format!("{expr} IN (SELECT jsonb_array_elements(({list}::text)::jsonb))")
    }

    fn any_of(&self, column: &str, list: &str) -> String {
        format!("{column} = ANY({list})")
    }
}

/// Statements one connection keeps prepared. Clients choose the shape of
/// list queries (every filter structure is a statement text of its own), and
/// each prepared statement holds memory in its server process until it is
/// closed: unbounded, a client varying its filters grew one server process
/// without limit. Past this, a connection's cache is emptied (its
/// statements closed) when it is next taken from the pool; the shapes in
/// use are prepared again once.
pub const STATEMENTS_PER_CONNECTION: usize = 256;

/// A handle to the connection pool; cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Lists hold at most one connection fewer than the pool has, so a
    /// lookup or a write always finds one free however many slow lists
    /// are running (a pool of one is shared by all).
    lists: Arc<Semaphore>,
    /// Every connection's `statement_timeout`: how long one statement may
    /// run before PostgreSQL cancels it.
    budget: Duration,
    /// Totals and deep-offset positions, valid while the database's
    /// snapshot is unchanged (see `list`).
    memo: Arc<list::PgMemo>,
    /// How long taking a connection from the pool waited, in microseconds.
    waits: Arc<Histogram>,
}

impl PgStore {
    /// A pooled connection. Waits while all are busy: requests queue here
    /// rather than open more connections than the database serves well.
    async fn conn(&self) -> Result<Object, StoreError> {
        let queued = Instant::now();
        let conn = self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => backend(e),
            e => StoreError::Backend(format!("no database connection: {e}")),
        })?;
        self.waits.observe_duration(queued.elapsed());
        if conn.statement_cache.size() > STATEMENTS_PER_CONNECTION {
            conn.statement_cache.clear();
        }
        Ok(conn)
    }

    /// A connection for a list, once fewer than the lists' share of the
    /// pool are in use by lists; it is given back with the permit.
    async fn list_conn(&self) -> Result<(OwnedSemaphorePermit, Object), StoreError> {
        let permit = self
            .lists
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("the store is closed".into()))?;
        Ok((permit, self.conn().await?))
    }

    /// Pool waits and fill so far.
    fn stats(&self) -> StoreStats {
        let status = self.pool.status();
        let count = |n: usize| n as u64;
        StoreStats {
            waits: vec![("pool", self.waits.snapshot())],
            connections: Some(Connections {
                open: count(status.size),
                idle: count(status.available),
                max: count(status.max_size),
                waiting: count(status.waiting),
            }),
            group_sizes: None,
        }
    }

    /// As [`backend`], naming a statement that PostgreSQL cancelled at the
    /// budget (for the reads, whose cost a client's query decides).
    fn fail(&self, e: tokio_postgres::Error) -> StoreError {
        if e.code() == Some(&SqlState::QUERY_CANCELED) {
            return StoreError::TimedOut(self.budget);
        }
        backend(e)
    }
}

/// Connects to the database at `url` (`postgres://user@host:port/db` or
/// `key=value` form), migrates it, and keeps at most `pool_size` connections,
/// with the default budget for one statement.
pub async fn open(url: &str, pool_size: usize) -> Result<PgStore, StoreError> {
    open_with(url, pool_size, DEFAULT_QUERY_BUDGET).await
}

/// As [`open`], with PostgreSQL cancelling any statement that runs longer
/// than `budget` (set as each connection's `statement_timeout`, so the
/// database enforces it even when this process is busy). Migrations and
/// bulk loads lift it for their own transaction.
pub async fn open_with(url: &str, pool_size: usize, budget: Duration) -> Result<PgStore, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    // After any options the URL gives, so the configured budget wins.
    // PostgreSQL takes at most i32::MAX milliseconds.
    let millis = budget.as_millis().clamp(1, i32::MAX as u128);
    let timeout = format!("-c statement_timeout={millis}");
    let options = config
        .get_options()
        .map_or(timeout.clone(), |o| format!("{o} {timeout}"));
    config.options(options);
    // Without a timeout an unreachable server hangs start-up (and every later
    // reconnect) for as long as the operating system keeps retrying.
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(pool_size.max(1))
        .build()
        .map_err(|e| StoreError::Backend(format!("connection pool: {e}")))?;
    let lists = Arc::new(Semaphore::new(pool_size.saturating_sub(1).max(1)));
    let store = PgStore {
        pool,
        lists,
        budget,
        memo: Arc::default(),
        waits: Arc::new(Histogram::durations()),
    };
    migrate::run(&mut store.conn().await?).await?;
    Ok(store)
}

/// tokio-postgres's `Display` names only the kind ("db error"); the server's
/// message, which is what a log reader needs, is in the source.
fn backend(e: tokio_postgres::Error) -> StoreError {
    match std::error::Error::source(&e) {
        Some(cause) => StoreError::Backend(format!("{e}: {cause}")),
        None => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use oneroster::model::user::USERS;
    use oneroster::query::ListQuery;
    use rollcall_store::ResourceStore;

    use super::*;
    use crate::testing::TestDb;

    /// Hundreds of filter shapes through one connection leave it holding
    /// no more prepared statements than the bound (plus one list's two).
    #[tokio::test]
    async fn the_statement_cache_stays_bounded_whatever_the_filter_shapes() {
        let Some(db) = TestDb::create().await else { return };
        let store = open(&db.url, 1).await.unwrap();
        for field in ["givenName", "familyName", "email"] {
            for n in 1..=100 {
                let filter = vec![format!("{field}='x'"); n].join(" OR ");
                let query = ListQuery::from_pairs(&USERS, [("filter", filter.as_str())]).unwrap();
                store.list(&USERS, &query).await.unwrap();
            }
        }
        let held = store.pool.get().await.unwrap().statement_cache.size();
        assert!(held <= STATEMENTS_PER_CONNECTION + 2, "{held} statements prepared");
    }

    /// With every connection lists may take in use, a get still finds one.
    #[tokio::test]
    async fn lists_leave_a_connection_for_lookups() {
        let Some(db) = TestDb::create().await else { return };
        let store = open(&db.url, 3).await.unwrap();
        let held = vec![store.list_conn().await.unwrap(), store.list_conn().await.unwrap()];
        let get = tokio::time::timeout(std::time::Duration::from_secs(5), store.get(&USERS, "u1")).await;
        assert!(get.expect("the get waited for a connection").unwrap().is_none());
        let more = tokio::time::timeout(std::time::Duration::from_millis(200), store.list_conn()).await;
        assert!(more.is_err(), "a third list took the last connection");
        drop(held);
    }
}
