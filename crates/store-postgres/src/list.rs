//! Listing: the page and its total read in one `REPEATABLE READ` snapshot,
//! with both remembered (`rollcall_store::memo`) for as long as that
//! snapshot is the current one.
//!
//! The epoch of a remembered answer is the text of `pg_current_snapshot()`
//! read inside the answer's own transaction: its `xmin`, `xmax` and the
//! transactions then in progress. Two snapshots with the same text see
//! exactly the same committed data, and the text changes as soon as any
//! transaction that writes finishes, on this instance or any other sharing
//! the database (PostgreSQL's transaction ids are cluster-wide). Comparing a
//! sequence value or `xmin` alone would not be enough: a young transaction
//! can commit while an older one still holds `xmin` back.

use deadpool_postgres::Transaction;
use oneroster::ResourceDecl;
use oneroster::query::ListQuery;
use rollcall_store::memo::{Memo, StatementKey};
use rollcall_store::sql::{self, Compiled, ManyValued};
use rollcall_store::{Page, StoreError};
use serde_json::Value;
use tokio_postgres::IsolationLevel;

use crate::{PgStore, Postgres, backend, resources::params};

/// Remembered totals and positions, valid while the snapshot is the same.
pub type PgMemo = Memo<String>;

pub async fn list(store: &PgStore, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, StoreError> {
    let (_permit, mut client) = store.list_conn().await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| store.fail(e))?;
    let epoch: String = tx
        .query_one("SELECT pg_current_snapshot()::text", &[])
        .await
        .map_err(|e| store.fail(e))?
        .try_get(0)
        .map_err(backend)?;
    let memo = &store.memo;
    let (first, count) = sql::list(&Postgres, decl, query);
    let count_key: StatementKey = (count.sql, count.params);
    let order = (count_key.clone(), query.sort.map(|k| (k.field.name, k.descending)));
    let plan = memo.deep_plan(&epoch, &order, query);
    let page = match &plan {
        Some(plan) => sql::page(&Postgres, decl, &plan.query, ManyValued::In),
        None => first,
    };
    let (items, total) = match memo.count(&epoch, &count_key) {
        Some(total) => (docs(store, &tx, &page).await?, total),
        None => {
            // Both statements go down the one connection together
            // (tokio-postgres pipelines them): one round trip, not two.
            let (items, total) = both(tokio::join!(docs(store, &tx, &page), total(store, &tx, &count_key)))?;
            memo.put_count(&epoch, count_key, total);
            (items, total)
        }
    };
    tx.commit().await.map_err(|e| store.fail(e))?;
    let items = match plan {
        Some(plan) => memo.deep_finish(&epoch, order, query, &plan, items, |v| Some(v.clone())),
        None => items,
    };
    Ok(Page { items, total })
}

/// Both answers, or the error that stopped them. When one statement runs
/// past the budget, the other fails only because the transaction was
/// aborted: the timeout is what the caller must hear, whichever came first.
fn both<A, B>(pair: (Result<A, StoreError>, Result<B, StoreError>)) -> Result<(A, B), StoreError> {
    match pair {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(e @ StoreError::TimedOut(_)), _) | (_, Err(e @ StoreError::TimedOut(_))) => Err(e),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

async fn docs(store: &PgStore, tx: &Transaction<'_>, page: &Compiled) -> Result<Vec<Value>, StoreError> {
    let stmt = tx.prepare_cached(&page.sql).await.map_err(|e| store.fail(e))?;
    let rows = tx
        .query(&stmt, &params(&page.params))
        .await
        .map_err(|e| store.fail(e))?;
    rows.iter().map(|r| r.try_get(0).map_err(backend)).collect()
}

async fn total(store: &PgStore, tx: &Transaction<'_>, count: &StatementKey) -> Result<u64, StoreError> {
    let stmt = tx.prepare_cached(&count.0).await.map_err(|e| store.fail(e))?;
    let row = tx
        .query_one(&stmt, &params(&count.1))
        .await
        .map_err(|e| store.fail(e))?;
    let total: i64 = row.try_get(0).map_err(backend)?;
    Ok(total as u64)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_timeout_wins_over_the_abort_it_caused_whichever_came_first() {
        let budget = Duration::from_millis(20);
        let aborted = || StoreError::Backend("current transaction is aborted".into());
        let pairs: [(Result<(), _>, Result<(), _>); 2] = [
            (Err(aborted()), Err(StoreError::TimedOut(budget))),
            (Err(StoreError::TimedOut(budget)), Err(aborted())),
        ];
        for pair in pairs {
            assert!(matches!(both(pair), Err(StoreError::TimedOut(b)) if b == budget));
        }
        assert!(matches!(
            both::<(), ()>((Err(aborted()), Ok(()))),
            Err(StoreError::Backend(_))
        ));
    }
}
