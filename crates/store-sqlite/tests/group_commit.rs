//! Group commit: concurrent single writes share commits, each is answered
//! with its own outcome, and a failing or panicking write takes none of its
//! neighbours down.

mod common;

use std::sync::Arc;

use common::{TempDb, user};
use oneroster::model::user::USERS;
use rollcall_store::{ResourceStore, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_commits_and_fail_alone() {
    let db = TempDb::new();
    let store = Arc::new(rollcall_store_sqlite::open(&db.path()).unwrap());
    store
        .insert(&USERS, user("taken", "taken@x.org", "student"))
        .await
        .unwrap();
    let (groups_before, writes_before) = store.commit_stats().get();

    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Every tenth write reuses a stored email: refused by the unique index.
            let email = if i % 10 == 0 {
                "taken@x.org".to_owned()
            } else {
                format!("u{i}@x.org")
            };
            store.insert(&USERS, user(&format!("u{i}"), &email, "student")).await
        }));
    }
    let mut refused = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(()) => assert_ne!(i % 10, 0, "u{i} reused a taken email and was stored"),
            Err(StoreError::Conflict(_)) => {
                assert_eq!(i % 10, 0, "u{i} was refused");
                refused += 1;
            }
            Err(e) => panic!("u{i}: {e}"),
        }
    }
    assert_eq!(refused, 30);
    for i in 0..300 {
        let stored = store.get(&USERS, &format!("u{i}")).await.unwrap();
        assert_eq!(stored.is_some(), i % 10 != 0, "u{i}");
    }
    let (groups, writes) = store.commit_stats().get();
    let (groups, writes) = (groups - groups_before, writes - writes_before);
    assert_eq!(writes, 300, "every write went through a group");
    assert!(
        groups < writes / 2,
        "writes waiting together share commits: {writes} writes in {groups} groups"
    );
}

#[tokio::test]
async fn a_panicking_write_fails_and_leaves_the_database_as_it_was() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
    let before = store.get(&USERS, "u1").await.unwrap();
    let failed = store
        .update(&USERS, "u1", Box::new(|_| panic!("a bug in a write")))
        .await;
    assert!(failed.is_err());
    assert_eq!(store.get(&USERS, "u1").await.unwrap(), before);
    store.insert(&USERS, user("u2", "b@x.org", "student")).await.unwrap();
    assert!(
        store.get(&USERS, "u2").await.unwrap().is_some(),
        "the writer carries on"
    );
}
