//! The PostgreSQL backend against a real server: filters, sorts, conflicts,
//! the terms table, concurrent updates and migrations, and that the compiled
//! queries use indexes (EXPLAIN). Each test gets a fresh database created
//! with a natural-language default collation (ICU `en-US`), so code-point
//! ordering has to come from the schema, not from the server.

mod support;

use oneroster::model::user::USERS;
use oneroster::resource::ModelError;
use rollcall_store::sql;
use rollcall_store::{ClientRecord, ClientStore, ResourceStore, SettingsStore, StoreError};
use rollcall_store_postgres::Postgres;
use serde_json::{Value, json};
use support::{TestDb, ids, params, query, user, with};
use tokio_postgres::Client;

#[tokio::test]
async fn filters_select_by_scalar_many_contains_in_list_and_range() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    let mut both = user("u2", "b@Example.org", "teacher");
    both["roles"]
        .as_array_mut()
        .unwrap()
        .push(json!({"roleType": "secondary", "role": "student",
        "org": {"sourcedId": "o2"}}));
    for doc in [
        with(user("u1", "a@example.org", "student"), "familyName", json!("Smith")),
        with(both, "dateLastModified", json!("2026-01-02T00:00:00.000Z")),
        with(user("u3", "c@other.net", "teacher"), "familyName", json!("Smith")),
        with(
            with(user("u4", "", "aide"), "email", Value::Null),
            "familyName",
            json!("ÉLODIE"),
        ),
    ] {
        store.insert(&USERS, doc).await.unwrap();
    }
    let modified = "2026-01-03T00:00:00.000Z";
    store
        .update(
            &USERS,
            "u3",
            Box::new(move |d| Ok(with(d, "dateLastModified", json!(modified)))),
        )
        .await
        .unwrap();

    for (filter, expected) in [
        ("familyName='Smith'", &["u1", "u3"][..]),
        ("roles.role='teacher'", &["u2", "u3"]),
        ("roles.role!='student'", &["u3", "u4"]),
        ("roles.org.sourcedId='o2'", &["u2"]),
        ("email~'EXAMPLE.org'", &["u1", "u2"]),
        ("email!='a@example.org'", &["u2", "u3", "u4"]),
        ("familyName@'Fu2,ÉLODIE'", &["u2", "u4"]),
        ("roles.role@'teacher,aide'", &["u2", "u3", "u4"]),
        ("metadata.k@'a,b'", &[]),
        ("familyName~'élo'", &["u4"]),
        ("familyName~'50%_'", &[]),
        (
            "dateLastModified>='2026-01-02T00:00:00Z' AND dateLastModified<'2026-01-03T00:00:00Z'",
            &["u2"],
        ),
        ("dateLastModified>'2026-01-01T12:00:00Z'", &["u2", "u3"]),
        (
            "roles.role='student' AND familyName='Smith' OR email~'other'",
            &["u1", "u3"],
        ),
    ] {
        let (found, total) = ids(&store, &[("filter", filter)]).await;
        assert_eq!(found, expected, "{filter}");
        assert_eq!(total, expected.len() as u64, "{filter}");
    }
    assert_eq!(ids(&store, &[("search", "exAMPLE")]).await.0, ["u1", "u2"]);
    assert_eq!(ids(&store, &[("search", "Élodie")]).await.0, ["u4"]);
    // The total counts every match, not the page.
    let (page, total) = ids(
        &store,
        &[("filter", "roles.role='teacher'"), ("limit", "1"), ("offset", "1")],
    )
    .await;
    assert_eq!((page, total), (vec!["u3".to_owned()], 2));

    let many = store
        .get_many(&USERS, vec!["u4".into(), "nobody".into(), "u1".into()])
        .await
        .unwrap();
    let mut found: Vec<&str> = many.iter().map(|d| d["sourcedId"].as_str().unwrap()).collect();
    found.sort_unstable();
    assert_eq!(found, ["u1", "u4"]);
    assert_eq!(
        store.get(&USERS, "u2").await.unwrap().unwrap()["email"],
        "b@Example.org"
    );
    assert!(store.get(&USERS, "nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn sorts_follow_code_points_with_sourced_id_tie_breaks() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    for (id, family, email) in [
        ("u1", "beta", Some("x@x.org")),
        ("u2", "Alpha", None),
        ("u3", "beta", Some("y@x.org")),
        ("u4", "Zed", Some("z@x.org")),
        ("U5", "Émile", None),
    ] {
        let doc = with(user(id, "", "student"), "familyName", json!(family));
        store.insert(&USERS, with(doc, "email", json!(email))).await.unwrap();
    }
    // Code points put capitals before lower case, and É after both; en-US
    // (this database's default) would say alpha, beta, Émile, Zed.
    let sort = |field, order| [("sort", field), ("orderBy", order)];
    assert_eq!(
        ids(&store, &sort("familyName", "asc")).await.0,
        ["u2", "u4", "u1", "u3", "U5"]
    );
    assert_eq!(
        ids(&store, &sort("familyName", "desc")).await.0,
        ["U5", "u3", "u1", "u4", "u2"]
    );
    // Records without the field come first ascending and last descending.
    assert_eq!(
        ids(&store, &sort("email", "asc")).await.0,
        ["U5", "u2", "u1", "u3", "u4"]
    );
    assert_eq!(
        ids(&store, &sort("email", "desc")).await.0,
        ["u4", "u3", "u1", "u2", "U5"]
    );
    assert_eq!(
        ids(&store, &sort("sourcedId", "desc")).await.0,
        ["u4", "u3", "u2", "u1", "U5"]
    );
    assert_eq!(
        ids(&store, &[("filter", "familyName>'Zed'")]).await.0,
        ["U5", "u1", "u3"]
    );
}

#[tokio::test]
async fn duplicate_ids_and_emails_conflict_and_change_nothing() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
    let e = store
        .insert(&USERS, user("u1", "b@x.org", "teacher"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m == "a user with sourcedId 'u1' already exists"),
        "{e:?}"
    );
    let e = store
        .insert(&USERS, user("u2", "A@X.org", "teacher"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(m) if m == "another user already has this email"),
        "{e:?}"
    );
    assert!(store.get(&USERS, "u2").await.unwrap().is_none());
    assert_eq!(ids(&store, &[]).await.1, 1);
    // The failed inserts left no stray terms rows behind.
    assert_eq!(ids(&store, &[("filter", "roles.role='teacher'")]).await.1, 0);

    // A batch is all or nothing: one taken email stores none of it.
    let batch = vec![user("u4", "d@x.org", "teacher"), user("u5", "a@x.ORG", "teacher")];
    let e = store.insert_many(&USERS, batch).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("email")), "{e:?}");
    assert!(store.get(&USERS, "u4").await.unwrap().is_none());
    assert_eq!(ids(&store, &[("filter", "roles.role='teacher'")]).await.1, 0);

    // An update taking a used email fails the same way and keeps the record.
    store.insert(&USERS, user("u3", "c@x.org", "student")).await.unwrap();
    let e = store
        .update(&USERS, "u3", Box::new(|_| Ok(user("u3", "A@x.ORG", "teacher"))))
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("email")), "{e:?}");
    assert_eq!(store.get(&USERS, "u3").await.unwrap().unwrap()["email"], "c@x.org");
    assert_eq!(ids(&store, &[("filter", "roles.role='teacher'")]).await.1, 0);
}

fn batch(users: &[(&str, &str)]) -> Result<Vec<String>, StoreError> {
    Ok(users
        .iter()
        .map(|(id, email)| user(id, email, "student").to_string())
        .collect())
}

/// A bulk load is one transaction: a later batch's conflict, or the
/// producer withdrawing the load, keeps none of the earlier batches.
#[tokio::test]
async fn bulk_loads_are_all_or_nothing() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    let taken = vec![batch(&[("u1", "a@x.org")]), batch(&[("u2", "A@x.org")])];
    let e = store
        .insert_bulk(&USERS, Box::new(taken.into_iter()))
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("email")), "{e:?}");
    assert_eq!(ids(&store, &[]).await.1, 0);

    let withdrawn = vec![
        batch(&[("u1", "a@x.org")]),
        Err(StoreError::Invalid(ModelError("stop".into()))),
    ];
    let e = store
        .insert_bulk(&USERS, Box::new(withdrawn.into_iter()))
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid(ModelError(m)) if m == "stop"), "{e:?}");
    assert_eq!(ids(&store, &[]).await.1, 0);

    let fine = vec![
        batch(&[("u1", "a@x.org")]),
        batch(&[("u2", "b@x.org"), ("u3", "c@x.org")]),
    ];
    assert_eq!(store.insert_bulk(&USERS, Box::new(fine.into_iter())).await.unwrap(), 3);
    assert_eq!(ids(&store, &[("filter", "roles.role='student'")]).await.1, 3);
}

/// A producer that blocks (an import waiting for its verdict) does not
/// stall the runtime, even a single-threaded one: the store pulls batches
/// off it, so other tasks keep running meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn a_bulk_load_pulls_a_blocking_producer_off_the_runtime() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    let (tx, rx) = std::sync::mpsc::sync_channel(0);
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        tx.send(batch(&[("u1", "a@x.org")])).unwrap();
    });
    let ticks = std::sync::Arc::new(AtomicU32::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    assert_eq!(store.insert_bulk(&USERS, Box::new(rx.into_iter())).await.unwrap(), 1);
    ticker.abort();
    let ticks = ticks.load(Ordering::SeqCst);
    assert!(
        ticks >= 5,
        "other tasks ran only {ticks} times while the producer blocked"
    );
}

#[tokio::test]
async fn updates_rewrite_terms_and_reject_atomically() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
    let stored = store
        .update(&USERS, "u1", Box::new(|_| Ok(user("u1", "a@x.org", "teacher"))))
        .await
        .unwrap();
    assert_eq!(stored["roles"][0]["role"], "teacher");
    assert_eq!(ids(&store, &[("filter", "roles.role='student'")]).await.1, 0);
    assert_eq!(ids(&store, &[("filter", "roles.role='teacher'")]).await.1, 1);

    let missing = store.update(&USERS, "nobody", Box::new(Ok)).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound), "{missing:?}");
    let rejected = store
        .update(&USERS, "u1", Box::new(|_| Err(ModelError("no".into()))))
        .await
        .unwrap_err();
    assert!(matches!(rejected, StoreError::Invalid(_)), "{rejected:?}");
    assert_eq!(store.get(&USERS, "u1").await.unwrap().unwrap(), stored);
}

#[tokio::test]
async fn concurrent_updates_of_one_record_all_apply() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let store = store.clone();
        tasks.spawn(async move {
            let append = |mut d: Value| {
                d["givenName"] = json!(format!("{}x", d["givenName"].as_str().unwrap()));
                Ok(d)
            };
            store.update(&USERS, "u1", Box::new(append)).await.unwrap();
        });
    }
    tasks.join_all().await;
    assert_eq!(
        store.get(&USERS, "u1").await.unwrap().unwrap()["givenName"],
        format!("G{}", "x".repeat(12))
    );
}

#[tokio::test]
async fn settings_keep_the_first_value() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    let (a, b) = tokio::join!(
        store.setting_or_insert("key", "one"),
        store.setting_or_insert("key", "two")
    );
    let first = a.unwrap();
    assert_eq!(b.unwrap(), first);
    assert_eq!(store.setting_or_insert("key", "three").await.unwrap(), first);
    assert_eq!(store.setting_or_insert("other", "four").await.unwrap(), "four");
    store.ping().await.unwrap();
}

#[tokio::test]
async fn clients_are_created_replaced_listed_and_deleted() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    let client = |id: &str, scopes: &[&str]| ClientRecord {
        client_id: id.to_owned(),
        name: format!("{id} app"),
        secret_hash: "$argon2id$hash".to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        disabled: false,
        token_generation: 7,
    };
    store.put_client(client("b", &["roster.readonly"])).await.unwrap();
    store.put_client(client("a", &[])).await.unwrap();
    assert_eq!(
        store.client("b").await.unwrap(),
        Some(client("b", &["roster.readonly"]))
    );
    let replaced = ClientRecord {
        disabled: true,
        token_generation: i64::MAX,
        ..client("b", &["roster.readonly", "roster-core.readonly"])
    };
    store.put_client(replaced.clone()).await.unwrap();
    assert_eq!(store.clients().await.unwrap(), vec![client("a", &[]), replaced]);
    assert!(store.delete_client("a").await.unwrap());
    assert!(!store.delete_client("a").await.unwrap());
    assert_eq!(store.client("a").await.unwrap(), None);
}

#[tokio::test]
async fn instances_starting_together_migrate_once_and_add_new_columns() {
    let Some(db) = TestDb::create().await else { return };
    let (a, b, c) = tokio::join!(
        rollcall_store_postgres::open(&db.url, 1),
        rollcall_store_postgres::open(&db.url, 1),
        rollcall_store_postgres::open(&db.url, 1)
    );
    let (a, ..) = (a.unwrap(), b.unwrap(), c.unwrap());
    a.insert(&USERS, with(user("u1", "a@x.org", "student"), "username", json!("ann")))
        .await
        .unwrap();
    // A field missing from an older schema is added, filled from the
    // documents already stored, and indexed, on the next start.
    db.sql()
        .await
        .batch_execute("ALTER TABLE users DROP COLUMN \"f_username\"")
        .await
        .unwrap();
    let store = db.open().await;
    assert_eq!(ids(&store, &[("filter", "username='ann'")]).await.0, ["u1"]);
    let indexed: i64 = db
        .sql()
        .await
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'users__f_username'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(indexed, 1);
}

/// `EXPLAIN` of the compiled page query for `pairs`.
async fn plan(client: &Client, pairs: &[(&str, &str)]) -> String {
    let (page, _) = sql::list(&Postgres, &USERS, &query(pairs));
    let rows = client
        .query(&format!("EXPLAIN {}", page.sql), &params(&page.params))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

/// PostgreSQL rightly scans tiny tables, so this fills one first: 3,000
/// users, 1 in 100 a teacher, then ANALYZE so the planner knows.
#[tokio::test]
async fn indexed_filters_and_sorts_use_indexes() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    // Enough rows that PostgreSQL's costs favour indexes as they would at scale.
    let docs: Vec<Value> = (0..20_000)
        .map(|n| {
            let role = if n % 100 == 0 { "teacher" } else { "student" };
            let day = format!("2025-{:02}-{:02}T00:00:00.000Z", n % 12 + 1, n % 28 + 1);
            with(
                user(&format!("u{n:05}"), &format!("u{n}@x.org"), role),
                "dateLastModified",
                json!(day),
            )
        })
        .collect();
    for batch in docs.chunks(5000) {
        store.insert_many(&USERS, batch.to_vec()).await.unwrap();
    }
    let client = db.sql().await;
    client.batch_execute("ANALYZE").await.unwrap();

    for (pairs, index) in [
        (vec![("filter", "email='u42@x.org'")], "users__f_email"),
        (vec![("filter", "roles.role='teacher'")], "users__terms__fv"),
        (vec![("filter", "familyName='Fu00042'")], "users__f_familyName"),
        (vec![("sort", "familyName"), ("offset", "10")], "users__f_familyName"),
        (vec![("sort", "familyName"), ("orderBy", "desc")], "users__f_familyName"),
        // A delta sync: most records match, so the index serves both the
        // range and the order (a selective range rightly sorts its matches).
        (
            vec![
                ("filter", "dateLastModified>'2025-02-01'"),
                ("sort", "dateLastModified"),
            ],
            "users__f_dateLastModified",
        ),
        (vec![("filter", "sourcedId='u00042'")], "users_pkey"),
    ] {
        let plan = plan(&client, &pairs).await;
        assert!(plan.contains(index), "{pairs:?} does not use {index}:\n{plan}");
        assert!(
            !plan.contains("Seq Scan on users "),
            "{pairs:?} scans the table:\n{plan}"
        );
        // A selective filter may sort its few matches, and the outer query
        // re-sorts the one page it fetched; but the rows of a requested sort
        // must be chosen by walking its index (the node under the Limit), or
        // every page would sort the whole collection.
        let node = |l: &str| l.trim_start().trim_start_matches("-> ").to_owned();
        let under_limit = plan
            .lines()
            .map(node)
            .skip_while(|l| !l.starts_with("Limit"))
            .nth(1)
            .unwrap_or_default();
        let sorted = pairs.iter().any(|(k, _)| *k == "sort");
        assert!(
            !(sorted && under_limit.starts_with("Sort")),
            "{pairs:?} sorts in memory:\n{plan}"
        );
    }
}

/// Databases from before the email key (a unique index on `lower(f_email)`,
/// which folds ASCII only) get the key column filled on start; one already
/// holding two emails equal under the key is refused, naming them, and
/// starts once they differ.
#[tokio::test]
async fn a_database_from_before_the_email_key_is_filled_or_its_duplicates_named() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    store
        .insert(&USERS, user("u1", "STRAßE@x.org", "student"))
        .await
        .unwrap();
    store
        .insert(&USERS, user("u2", "other@x.org", "student"))
        .await
        .unwrap();
    drop(store);
    let sql = db.sql().await;
    sql.batch_execute(
        "ALTER TABLE users DROP COLUMN k_email;
         UPDATE users SET doc = jsonb_set(doc, '{email}', '\"strasse@x.org\"') WHERE sourced_id = 'u2';
         CREATE UNIQUE INDEX users__uniq__f_email ON users (lower(f_email));",
    )
    .await
    .unwrap();
    let message = match rollcall_store_postgres::open(&db.url, 2).await {
        Ok(_) => panic!("a database with duplicate keys opened"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("'strasse@x.org': u1, u2") && message.contains("email must be unique"),
        "{message}"
    );
    sql.batch_execute("UPDATE users SET doc = jsonb_set(doc, '{email}', '\"Other@x.org\"') WHERE sourced_id = 'u2'")
        .await
        .unwrap();
    let store = db.open().await;
    let row = sql
        .query_one("SELECT k_email FROM users WHERE sourced_id = 'u2'", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "other@x.org");
    let legacy = sql
        .query_one("SELECT to_regclass('users__uniq__f_email') IS NULL", &[])
        .await
        .unwrap();
    assert!(legacy.get::<_, bool>(0), "the lower() index is dropped");
    for email in ["strasse@X.org", " OTHER@x.org"] {
        let e = store.insert(&USERS, user("u3", email, "student")).await.unwrap_err();
        assert!(
            matches!(&e, StoreError::Conflict(m) if m.contains("email")),
            "{email}: {e:?}"
        );
    }
}

/// Usernames became unique after databases held users: one whose users
/// share a username (under the key) is refused on start, naming them, and
/// starts once they differ.
#[tokio::test]
async fn a_database_with_users_sharing_a_username_names_them() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
    store.insert(&USERS, user("u2", "b@x.org", "student")).await.unwrap();
    drop(store);
    let sql = db.sql().await;
    sql.batch_execute(
        "ALTER TABLE users DROP COLUMN k_username;
         UPDATE users SET doc = jsonb_set(doc, '{username}', '\"Ann\"') WHERE sourced_id = 'u1';
         UPDATE users SET doc = jsonb_set(doc, '{username}', '\"ann \"') WHERE sourced_id = 'u2';",
    )
    .await
    .unwrap();
    let message = match rollcall_store_postgres::open(&db.url, 2).await {
        Ok(_) => panic!("a database with duplicate usernames opened"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("'ann': u1, u2") && message.contains("username must be unique"),
        "{message}"
    );
    sql.batch_execute("UPDATE users SET doc = jsonb_set(doc, '{username}', '\"ann2\"') WHERE sourced_id = 'u2'")
        .await
        .unwrap();
    let store = db.open().await;
    let mut third = user("u3", "c@x.org", "student");
    third["username"] = "ANN".into();
    let e = store.insert(&USERS, third).await.unwrap_err();
    assert!(matches!(&e, StoreError::Conflict(m) if m.contains("username")), "{e:?}");
}

/// An unreachable server fails the test instead of passing it unrun; only
/// `ROLLCALL_SKIP_POSTGRES=1` skips (checked by `TestDb::create`).
#[tokio::test]
#[should_panic(expected = "POSTGRES NOT REACHABLE")]
async fn an_unreachable_server_fails_the_test() {
    TestDb::create_on("postgres://postgres@127.0.0.1:1/postgres".into()).await;
}

/// Every statement runs within the budget PostgreSQL enforces: a read past
/// it is `TimedOut` and leaves its connection usable, while migrations and
/// bulk loads, which legitimately run long, lift it for their transaction.
#[tokio::test]
async fn a_read_past_its_budget_is_stopped_but_loads_and_migrations_are_not() {
    let Some(db) = TestDb::create().await else { return };
    let budget = std::time::Duration::from_millis(20);
    let store = rollcall_store_postgres::open_with(&db.url, 1, budget).await.unwrap();
    let batch: Vec<String> = (0..20_000)
        .map(|i| {
            with(
                user(&format!("u{i}"), &format!("u{i}@x.org"), "student"),
                "metadata",
                json!({"k": "none"}),
            )
            .to_string()
        })
        .collect();
    let loaded = store
        .insert_bulk(&USERS, Box::new(std::iter::once(Ok(batch))))
        .await
        .unwrap();
    assert_eq!(loaded, 20_000);
    let filter = (0..100)
        .map(|i| format!("metadata.k='x{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ");

    let e = store.list(&USERS, &query(&[("filter", &filter)])).await.unwrap_err();
    assert!(matches!(e, StoreError::TimedOut(b) if b == budget), "{e:?}");
    assert_eq!(
        ids(&store, &[("filter", "sourcedId='u7'")]).await,
        (vec!["u7".to_owned()], 1)
    );

    let roomy = db.open().await;
    assert_eq!(ids(&roomy, &[("filter", &filter)]).await.1, 0);
}
