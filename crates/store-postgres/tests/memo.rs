//! Totals and deep-offset positions remembered while the database's
//! snapshot is unchanged: every page equals the same slice of the whole
//! ordered list, on first and repeated requests; and no remembered answer
//! outlives a commit by another instance, even one that commits while an
//! older transaction still holds the snapshot's `xmin` back.

mod support;

use oneroster::model::user::USERS;
use rollcall_store::ResourceStore;
use rollcall_store_postgres::PgStore;
use serde_json::{Value, json};
use support::{TestDb, ids, user};

const RECORDS: u32 = 1_300;

fn record(i: u32) -> Value {
    let role = if i.is_multiple_of(5) { "teacher" } else { "student" };
    let mut doc = user(&format!("u{i:04}"), &format!("u{i}@x.org"), role);
    // Few distinct names, so ties are broken by sourcedId.
    doc["familyName"] = json!(format!("Name{}", i % 7));
    doc
}

/// Deep pages (first computed, then remembered) against slices of the whole
/// list read at once.
async fn pages_match_the_whole_list(store: &PgStore) {
    let queries: [&[(&str, &str)]; 3] = [
        &[("sort", "familyName")],
        &[("sort", "familyName"), ("orderBy", "desc")],
        &[("filter", "roles.role='student'")],
    ];
    for base in queries {
        let mut all_pairs = base.to_vec();
        all_pairs.push(("limit", "3000"));
        let (all, total) = ids(store, &all_pairs).await;
        assert_eq!(total, all.len() as u64);
        for offset in ["0", "1000", "1100", "1000", "1090", "1037", "1250", "1100", "2000"] {
            let mut pairs = base.to_vec();
            pairs.extend([("offset", offset), ("limit", "100")]);
            let (page, page_total) = ids(store, &pairs).await;
            let start = offset.parse::<usize>().unwrap().min(all.len());
            assert_eq!(page_total, total, "{pairs:?}");
            assert_eq!(page, &all[start..(start + 100).min(all.len())], "{pairs:?}");
        }
    }
}

async fn active(store: &PgStore) -> u64 {
    ids(store, &[("filter", "status='active'"), ("limit", "1")]).await.1
}

#[tokio::test]
async fn remembered_pages_equal_the_whole_list_before_and_after_another_instances_writes() {
    let Some(db) = TestDb::create().await else { return };
    let (here, there) = (db.open().await, db.open().await);
    here.insert_many(&USERS, (0..RECORDS).map(record).collect())
        .await
        .unwrap();
    pages_match_the_whole_list(&here).await;
    pages_match_the_whole_list(&here).await;
    // Another instance moves records around the remembered positions.
    for i in (0..RECORDS).step_by(97) {
        let id = format!("u{i:04}");
        there
            .update(
                &USERS,
                &id,
                Box::new(|mut d: Value| {
                    d["familyName"] = json!("Name0");
                    Ok(d)
                }),
            )
            .await
            .unwrap();
    }
    there.insert(&USERS, record(5_000)).await.unwrap();
    pages_match_the_whole_list(&here).await;
}

/// The trap of caching across instances: an old transaction is still open
/// (holding `xmin`) when the answer is remembered; a younger one commits on
/// another instance; then the old one commits. Each commit must show.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_behind_an_older_open_transaction_is_never_hidden_by_a_remembered_total() {
    let Some(db) = TestDb::create().await else { return };
    let (here, slow, young) = (db.open().await, db.open().await, db.open().await);
    here.insert_many(&USERS, (0..50).map(record).collect()).await.unwrap();
    assert_eq!(active(&here).await, 50);

    // The old transaction holds its row lock (and so its transaction id)
    // until the test lets it go on.
    let (inside, entered) = std::sync::mpsc::channel();
    let (release, go) = std::sync::mpsc::channel::<()>();
    let old = tokio::spawn(async move {
        let change = move |mut d: Value| {
            inside.send(()).unwrap();
            go.recv().unwrap();
            d["status"] = json!("tobedeleted");
            Ok(d)
        };
        slow.update(&USERS, "u0001", Box::new(change)).await.unwrap();
    });
    tokio::task::spawn_blocking(move || entered.recv().unwrap())
        .await
        .unwrap();
    assert_eq!(active(&here).await, 50, "remembered while the old transaction is open");
    assert_eq!(active(&here).await, 50);

    young.insert(&USERS, record(900)).await.unwrap();
    assert_eq!(
        active(&here).await,
        51,
        "the young commit shows although xmin has not moved"
    );
    assert_eq!(active(&here).await, 51);

    release.send(()).unwrap();
    old.await.unwrap();
    assert_eq!(active(&here).await, 50, "the old commit shows");
}
