//! Explicit nulls (Blackbaud's `FieldsToNull`) and JSON Merge Patch
//! (RFC 7396): nested objects merge member by member, `null` clears.

use serde_json::{Value, json};

use crate::helpers::{TestApp, org};

async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let user = json!({"sourcedId": "u1", "enabledUser": true, "givenName": "Ann", "familyName": "Lee",
        "phone": "555-0100", "metadata": {"note": "new", "isTestUser": false},
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]});
    app.create("users", "user", user).await;
    app
}

async fn stored(app: &TestApp) -> Value {
    app.get("users/u1").await.body["user"].clone()
}

#[tokio::test]
async fn fields_to_null_clears_named_fields_beside_a_patch() {
    let app = seeded().await;
    let body = json!({"user": {"givenName": "Annie"}, "FieldsToNull": ["phone", "metadata.note"]});
    let r = app.patch("users/u1", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user = stored(&app).await;
    assert_eq!(user["givenName"], "Annie");
    assert!(user.get("phone").is_none_or(Value::is_null), "{user}");
    assert_eq!(
        user["metadata"],
        json!({"isTestUser": false}),
        "only the named member is cleared"
    );
}

#[tokio::test]
async fn unknown_or_required_fields_to_null_are_refused_and_change_nothing() {
    let app = seeded().await;
    let before = stored(&app).await;
    let unknown = app
        .patch("users/u1", json!({"user": {}, "FieldsToNull": ["nickname"]}))
        .await;
    unknown.assert_imsx(422, "invaliddata");
    assert!(unknown.body.to_string().contains("nickname"), "{}", unknown.body);
    let required = app
        .patch("users/u1", json!({"user": {}, "FieldsToNull": ["givenName"]}))
        .await;
    required.assert_imsx(422, "invaliddata");
    assert!(required.body.to_string().contains("givenName"), "{}", required.body);
    let malformed = app
        .patch("users/u1", json!({"user": {}, "FieldsToNull": "phone"}))
        .await;
    malformed.assert_imsx(422, "invaliddata");
    assert_eq!(stored(&app).await, before);
}

#[tokio::test]
async fn a_merge_patch_merges_nested_objects() {
    let app = seeded().await;
    let request = app
        .http
        .patch(app.url("users/u1"))
        .bearer_auth(&app.token)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"metadata": {"note": null, "grade": "5"}, "phone": null}).to_string());
    let r = app.send(request).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let user = stored(&app).await;
    assert_eq!(user["metadata"], json!({"isTestUser": false, "grade": "5"}));
    assert!(user.get("phone").is_none_or(Value::is_null));
    assert_eq!(
        user["roles"].as_array().unwrap().len(),
        1,
        "unsent fields keep their values"
    );
}
