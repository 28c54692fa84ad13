//! Optimistic concurrency: every single-record answer carries an `ETag`;
//! `If-Match` on PUT, PATCH and DELETE is checked in the write's own
//! transaction, so of many writers holding one version exactly one wins;
//! `If-None-Match: *` on PUT creates only.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, org};

fn user(given: &str) -> Value {
    json!({"user": {"sourcedId": "u1", "enabledUser": true, "givenName": given, "familyName": "Lee",
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}})
}

async fn with_header(app: &TestApp, request: reqwest::RequestBuilder, name: &str, value: &str) -> Reply {
    app.send(request.bearer_auth(&app.token).header(name, value)).await
}

#[tokio::test]
async fn if_match_lets_only_the_named_version_be_changed() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    app.post("users", user("Ann")).await;
    let read = app.get("users/u1").await;
    let etag = read.header("etag").expect("an ETag on a single record").to_owned();

    let stale = with_header(
        &app,
        app.http.put(app.url("users/u1")).json(&user("Bo")),
        "If-Match",
        "\"1999-01-01T00:00:00.000Z\"",
    )
    .await;
    stale.assert_imsx(412, "invaliddata");
    assert_eq!(
        stale.header("etag"),
        Some(etag.as_str()),
        "412 names the current version"
    );
    assert_eq!(
        app.get("users/u1").await.body["user"]["givenName"],
        "Ann",
        "nothing changed"
    );

    let fresh = with_header(
        &app,
        app.http.put(app.url("users/u1")).json(&user("Bo")),
        "If-Match",
        &etag,
    )
    .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    let next = fresh.header("etag").unwrap().to_owned();
    assert_ne!(next, etag, "every write makes a new version");

    let patch = json!({"user": {"middleName": "X"}});
    let old = with_header(
        &app,
        app.http.patch(app.url("users/u1")).json(&patch),
        "If-Match",
        &etag,
    )
    .await;
    assert_eq!(old.status, 412);
    let gone = with_header(&app, app.http.delete(app.url("users/u1")), "If-Match", &etag).await;
    assert_eq!(gone.status, 412);
    assert_eq!(app.get("users/u1").await.body["user"]["status"], "active");
    let deleted = with_header(&app, app.http.delete(app.url("users/u1")), "If-Match", &next).await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn of_many_writers_holding_one_version_exactly_one_wins() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    app.post("users", user("Ann")).await;
    let etag = app.get("users/u1").await.header("etag").unwrap().to_owned();
    let writes = (0..12).map(|i| {
        let body = json!({"user": {"middleName": format!("M{i}")}});
        with_header(&app, app.http.patch(app.url("users/u1")).json(&body), "If-Match", &etag)
    });
    let replies = futures_util::future::join_all(writes).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 412).count(), 11, "{statuses:?}");
}

#[tokio::test]
async fn if_none_match_star_creates_only() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let created = with_header(
        &app,
        app.http.put(app.url("users/u1")).json(&user("Ann")),
        "If-None-Match",
        "*",
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["user"]["givenName"], "Ann");
    assert!(created.header("etag").is_some());
    let again = with_header(
        &app,
        app.http.put(app.url("users/u1")).json(&user("Bo")),
        "If-None-Match",
        "*",
    )
    .await;
    again.assert_imsx(412, "invaliddata");
    assert_eq!(app.get("users/u1").await.body["user"]["givenName"], "Ann");
}
