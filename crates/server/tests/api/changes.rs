//! The change feed: what each entry says, paging by cursor, refused
//! parameters, scopes, and retention (a pruned cursor is a 410).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{CLIENT_ID, TestApp, enrollment, user};

async fn feed(app: &TestApp, query: &str) -> (Vec<Value>, String) {
    let r = app.get(&format!("changes{query}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let changes = r.body["changes"].as_array().unwrap().clone();
    (changes, r.body["next"].as_str().unwrap().to_owned())
}

/// The feed once it shows at least `n` changes. On PostgreSQL the feed
/// stops before any transaction still running anywhere on the server
/// (another test's import, say) until it ends: later, never lost.
async fn feed_of(app: &TestApp, query: &str, n: usize) -> (Vec<Value>, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (changes, next) = feed(app, query).await;
        if changes.len() >= n || std::time::Instant::now() > deadline {
            return (changes, next);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_write_is_in_the_feed_in_order_with_who_made_it() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let mut student = user("u-1", "Ada", "Lovelace");
    student["password"] = json!("s3cret-pass");
    let created = app.post("users", json!({"user": student})).await;
    assert_eq!(created.status, 201);
    let patched = app.patch("users/u-1", json!({"user": {"givenName": "Augusta"}})).await;
    assert_eq!(patched.status, 200);
    app.create("enrollments", "enrollment", enrollment("e-1", "u-1", "class-1"))
        .await;
    assert_eq!(app.delete("enrollments/e-1").await.status, 204);

    let (changes, _) = feed_of(&app, "", 8).await;
    let kinds: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap(),
                c["sourcedId"].as_str().unwrap(),
                c["operation"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("orgs", "school-1", "create"),
            ("academicSessions", "term-1", "create"),
            ("courses", "course-1", "create"),
            ("classes", "class-1", "create"),
            ("users", "u-1", "create"),
            ("users", "u-1", "update"),
            ("enrollments", "e-1", "create"),
            ("enrollments", "e-1", "delete"),
        ]
    );
    let create = &changes[4];
    assert_eq!(create["client"], CLIENT_ID);
    assert_eq!(create["origin"], "api");
    assert_eq!(create["requestId"].as_str(), created.header("x-request-id"));
    assert_eq!(create["record"]["givenName"], "Ada");
    assert_eq!(create["fields"], json!([{"field": "password", "changed": true}]));
    let update = &changes[5];
    assert_eq!(update["requestId"].as_str(), patched.header("x-request-id"));
    assert_eq!(update["dateTime"], patched.body["user"]["dateLastModified"]);
    let given = update["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "givenName");
    assert_eq!(
        given,
        Some(&json!({"field": "givenName", "before": "Ada", "after": "Augusta"}))
    );
    let text = Value::Array(changes.clone()).to_string();
    assert!(!text.contains("s3cret") && !text.contains("argon2"), "{text}");
    let status = changes[7]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "status");
    assert_eq!(
        status,
        Some(&json!({"field": "status", "before": "active", "after": "tobedeleted"}))
    );
}

#[tokio::test]
async fn a_consumer_pages_with_next_and_never_sees_a_change_twice() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    feed_of(&app, "", 4).await;
    let (first, next) = feed(&app, "?limit=3").await;
    assert_eq!(first.len(), 3);
    assert_eq!(next, first[2]["cursor"].as_str().unwrap());
    let (rest, end) = feed(&app, &format!("?after={next}")).await;
    assert_eq!(rest.len(), 1);
    let (nothing, same) = feed(&app, &format!("?after={end}")).await;
    assert!(nothing.is_empty());
    assert_eq!(same, end, "next stays where it was when nothing is new");
    app.create("users", "user", user("u-2", "Grace", "Hopper")).await;
    let (new, _) = feed_of(&app, &format!("?after={end}"), 1).await;
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["sourcedId"], "u-2");
}

#[tokio::test]
async fn bad_feed_parameters_are_refused_precisely() {
    let app = TestApp::spawn().await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "after=not a cursor",
        "after=abc-x",
    ] {
        app.get(&format!("changes?{query}"))
            .await
            .assert_imsx(400, "invaliddata");
    }
    assert_eq!(app.get("changes?limit=1000").await.status, 200);
    let gone = app.get("changes?after=0123abcd-5").await;
    gone.assert_imsx(410, "unknownobject");
    assert!(
        gone.body["imsx_description"]
            .as_str()
            .unwrap()
            .contains("from the start")
    );
}

#[tokio::test]
async fn the_feed_needs_the_roster_scope_and_hides_demographics_without_theirs() {
    let app = TestApp::spawn().await;
    let core = app.client_token("core", &["roster-core.readonly"]).await;
    let r = app.send(app.http.get(app.url("changes")).bearer_auth(&core)).await;
    r.assert_imsx(403, "forbidden");
    app.add_school().await;
    app.create("users", "user", user("u-1", "Ada", "Lovelace")).await;
    app.create(
        "demographics",
        "demographics",
        json!({"sourcedId": "u-1", "sex": "female"}),
    )
    .await;
    feed_of(&app, "", 3).await;
    let roster = app.client_token("roster", &["roster.readonly"]).await;
    let r = app.send(app.http.get(app.url("changes")).bearer_auth(&roster)).await;
    assert_eq!(r.status, 200);
    let types: Vec<&str> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["orgs", "users"]);
    let (all, _) = feed(&app, "").await;
    assert_eq!(all.len(), 3, "an admin sees the demographics change too");
    assert_eq!(all[2]["type"], "demographics");
    assert_eq!(r.body["next"], all[2]["cursor"], "the cursor moves past what is hidden");
}

#[tokio::test]
async fn a_cursor_older_than_retention_is_gone_with_a_resync_message() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u-1", "Ada", "Lovelace")).await;
    let (_, old) = feed_of(&app, "", 2).await;
    app.create("users", "user", user("u-2", "Grace", "Hopper")).await;
    feed_of(&app, "", 3).await;
    // The clock moves on; everything so far is older than a zero retention.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let removed = app.rollcall.engine.prune_changes(Duration::ZERO).await.unwrap();
    assert_eq!(removed, 3);
    let gone = app.get(&format!("changes?after={old}")).await;
    gone.assert_imsx(410, "unknownobject");
    assert!(gone.body["imsx_description"].as_str().unwrap().contains("retention"));
    let (left, next) = feed(&app, "").await;
    assert!(left.is_empty());
    app.create("users", "user", user("u-3", "Edsger", "Dijkstra")).await;
    let (after, _) = feed_of(&app, &format!("?after={next}"), 1).await;
    assert_eq!(after.len(), 1, "a fresh cursor keeps working after pruning");
}
