//! The change log on SQLite: entries in the write's transaction (gone with a
//! failed write, present with every bulk row), who wrote, and a restore
//! that starts a new log so older cursors are refused.

mod common;

use common::{TempDb, user};
use oneroster::model::user::USERS;
use rollcall_store::{ChangeOperation, ChangeStore, Origin, ResourceStore, StoreError, Write, WriteContext};
use serde_json::json;

#[tokio::test]
async fn entries_commit_with_their_writes_and_name_who_wrote() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let api = WriteContext {
        actor: Some("client-a".into()),
        request_id: Some("req-1".into()),
        origin: Origin::Api,
    };
    WriteContext::scope(api, store.insert(&USERS, user("u1", "a@x.org", "student")))
        .await
        .unwrap();
    // A refused write (a taken email) leaves no entry behind.
    let taken = store.insert(&USERS, user("u2", "a@x.org", "student")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let import = WriteContext {
        origin: Origin::Import,
        ..WriteContext::default()
    };
    let rows = vec![
        user("u3", "c@x.org", "teacher").to_string(),
        user("u4", "d@x.org", "student").to_string(),
    ];
    let mut changed = user("u1", "a@x.org", "student");
    changed["givenName"] = json!("Changed");
    changed["dateLastModified"] = json!("2026-01-02T00:00:00.000Z");
    let steps = vec![
        Ok(Write::Insert(&USERS, rows)),
        Ok(Write::Replace {
            decl: &USERS,
            id: "u1".into(),
            read: Some("2026-01-01T00:00:00.000Z".into()),
            doc: changed.to_string(),
        }),
    ];
    WriteContext::scope(import, store.apply(Box::new(steps.into_iter())))
        .await
        .unwrap();

    let page = store.changes_after(None, 10).await.unwrap();
    let seen: Vec<(&str, ChangeOperation, Origin)> = page
        .changes
        .iter()
        .map(|c| (c.sourced_id.as_str(), c.operation, c.origin))
        .collect();
    assert_eq!(
        seen,
        [
            ("u1", ChangeOperation::Create, Origin::Api),
            ("u3", ChangeOperation::Create, Origin::Import),
            ("u4", ChangeOperation::Create, Origin::Import),
            ("u1", ChangeOperation::Update, Origin::Import),
        ]
    );
    assert_eq!(page.changes[0].actor.as_deref(), Some("client-a"));
    assert_eq!(page.changes[0].request_id.as_deref(), Some("req-1"));
    let given = page.changes[3].fields.iter().find(|f| f.path == "givenName").unwrap();
    assert_eq!(
        (given.before.clone(), given.after.clone()),
        (Some(json!("G")), Some(json!("Changed")))
    );
    assert_eq!(page.next, page.changes[3].position);
}

#[tokio::test]
async fn a_restore_starts_a_new_log_and_older_cursors_are_gone() {
    let db = TempDb::new();
    let backup = db.path().with_extension("backup");
    let cursor = {
        let store = rollcall_store_sqlite::open(&db.path()).unwrap();
        store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
        rollcall_store_sqlite::backup::backup(&db.path(), &backup).unwrap();
        store.insert(&USERS, user("u2", "b@x.org", "student")).await.unwrap();
        store.changes_after(None, 10).await.unwrap().next
    };
    rollcall_store_sqlite::backup::restore(&backup, &db.path()).unwrap();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let refused = store.changes_after(Some(&cursor), 10).await;
    assert!(
        matches!(&refused, Err(StoreError::Gone(m)) if m.contains("restored")),
        "{refused:?}"
    );
    let fresh = store.changes_after(None, 10).await.unwrap();
    assert_eq!(fresh.changes.len(), 1, "the backup's own history stays readable");
    assert_ne!(fresh.next, cursor);
}
