//! Every read runs within a time budget that SQLite enforces: a query past
//! it is stopped with `TimedOut`, and its connection serves the next read.

mod common;

use std::time::Duration;

use common::{TempDb, user};
use oneroster::model::user::USERS;
use oneroster::query::ListQuery;
use rollcall_store::{ResourceStore, StoreError};

/// A filter no index helps: a hundred conditions on a metadata key, each
/// reading every document.
fn unindexed_filter() -> String {
    (0..100)
        .map(|i| format!("metadata.k='x{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// `n` users, each with a metadata key none of the filter's values match.
fn users(n: usize) -> Vec<serde_json::Value> {
    (0..n)
        .map(|i| {
            let mut u = user(&format!("u{i}"), &format!("u{i}@x.org"), "student");
            u["metadata"] = serde_json::json!({"k": "none"});
            u
        })
        .collect()
}

#[tokio::test]
async fn a_read_past_its_budget_is_stopped_and_its_connection_reused() {
    let db = TempDb::new();
    let budget = Duration::from_millis(5);
    let store = rollcall_store_sqlite::open_with(&db.path(), budget).unwrap();
    store.insert_many(&USERS, users(3_000)).await.unwrap();
    let filter = unindexed_filter();
    let heavy = ListQuery::from_pairs(&USERS, [("filter", filter.as_str())]).unwrap();

    let e = store.list(&USERS, &heavy).await.unwrap_err();
    assert!(matches!(e, StoreError::TimedOut(b) if b == budget), "{e:?}");

    // Every list connection is still usable, with no transaction left open.
    for _ in 0..8 {
        let (total, found) = common::ids(&store, &[("filter", "sourcedId='u7'")]).await;
        assert_eq!((total, found), (1, vec!["u7".to_owned()]));
    }
    store.insert(&USERS, user("new", "new@x.org", "teacher")).await.unwrap();
    assert!(store.get(&USERS, "new").await.unwrap().is_some());

    // The same query completes with room to run.
    let roomy = rollcall_store_sqlite::open(&db.path()).unwrap();
    assert_eq!(roomy.list(&USERS, &heavy).await.unwrap().total, 0);
}
