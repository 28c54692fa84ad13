//! `Idempotency-Key`: a retried write runs once and gets the first answer
//! again; a reused key with another request is refused; keys belong to
//! their client.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

fn new_user(given: &str) -> Value {
    // No sourcedId: the server allocates one, so a second run would make a second user.
    json!({"user": {"enabledUser": true, "givenName": given, "familyName": "Retry",
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}})
}

async fn post_keyed(app: &TestApp, token: &str, key: &str, body: &Value) -> Reply {
    let request = app
        .http
        .post(app.url("users"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body);
    app.send(request).await
}

async fn count_family(app: &TestApp) -> u64 {
    let r = app.get("users?filter=familyName%3D'Retry'").await;
    r.header("x-total-count").unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_retried_create_runs_once_and_replays_its_answer() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let first = post_keyed(&app, &app.token, "create-ann-1", &new_user("Ann")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.header("idempotent-replayed").is_none());
    let again = post_keyed(&app, &app.token, "create-ann-1", &new_user("Ann")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "the same allocated sourcedId");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count_family(&app).await, 1, "a retry never makes a second user");

    // The same key with a different body: refused, nothing written.
    let other = post_keyed(&app, &app.token, "create-ann-1", &new_user("Bo")).await;
    other.assert_imsx(422, "invaliddata");
    assert!(other.body.to_string().contains("different request"), "{}", other.body);
    assert_eq!(count_family(&app).await, 1);

    // A new key is a new request.
    assert_eq!(
        post_keyed(&app, &app.token, "create-ann-2", &new_user("Ann"))
            .await
            .status,
        201
    );
    assert_eq!(count_family(&app).await, 2);
}

#[tokio::test]
async fn refusals_are_replayed_and_keys_belong_to_their_client() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let bad = json!({"user": {"givenName": "No roles"}});
    let first = post_keyed(&app, &app.token, "k", &bad).await;
    assert_eq!(first.status, 422);
    let again = post_keyed(&app, &app.token, "k", &bad).await;
    assert_eq!((again.status, &again.body), (422, &first.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let token = app
        .client_token("other", &["roster.createput", "roster-core.readonly"])
        .await;
    let theirs = post_keyed(&app, &token, "k", &new_user("Cy")).await;
    assert_eq!(
        theirs.status, 201,
        "another client's key 'k' is its own: {}",
        theirs.body
    );
}

#[tokio::test]
async fn concurrent_retries_write_once() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let body = new_user("Dee");
    let tries = (0..8).map(|_| post_keyed(&app, &app.token, "burst", &body));
    let replies = futures_util::future::join_all(tries).await;
    let created: Vec<&Reply> = replies.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|r| r.body == created[0].body),
        "one sourcedId for every 201"
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        r.assert_imsx(409, "invaliddata");
    }
    assert_eq!(count_family(&app).await, 1);
}

#[tokio::test]
async fn a_malformed_key_is_refused_before_anything_runs() {
    let app = TestApp::spawn().await;
    let long = "k".repeat(256);
    let r = post_keyed(&app, &app.token, &long, &new_user("Eve")).await;
    r.assert_imsx(400, "invaliddata");
    assert_eq!(count_family(&app).await, 0);
}
