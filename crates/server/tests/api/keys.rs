//! Alternate keys: `/users/{key}` names a user by sourcedId, otherwise by
//! username; `?by=` picks sourcedId, username, email or identifier. Unique
//! usernames (409 naming the field, on the database's own index) and the
//! key working with If-Match, Idempotency-Key and FieldsToNull.

use oneroster::model::user::USERS;
use serde_json::{Value, json};

use crate::helpers::{TestApp, org, user};

/// School `school-1` and users u1 (username `ann.lee`, identifier `ID-7`)
/// and u2 (username `bo`, identifier `ID-7` too).
async fn two_users() -> TestApp {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let mut ann = user("u1", "Ann", "Lee");
    ann["username"] = json!("ann.lee");
    ann["identifier"] = json!("ID-7");
    app.create("users", "user", ann).await;
    let mut bo = user("u2", "Bo", "Diaz");
    bo["username"] = json!("bo");
    bo["identifier"] = json!("ID-7");
    app.create("users", "user", bo).await;
    app
}

async fn stored(app: &TestApp, id: &str) -> Value {
    app.rollcall.engine.get(&USERS, id).await.unwrap()
}

#[tokio::test]
async fn a_user_is_found_by_sourced_id_or_else_by_username() {
    let app = two_users().await;
    for (key, id) in [("u1", "u1"), ("ann.lee", "u1"), ("ANN.LEE", "u1"), ("bo", "u2")] {
        let r = app.get(&format!("users/{key}")).await;
        assert_eq!(r.status, 200, "{key}: {}", r.body);
        assert_eq!(r.body["user"]["sourcedId"], id, "{key}");
    }
    let r = app.get("users/nobody").await;
    r.assert_imsx(404, "unknownobject");
    assert_eq!(
        r.body["imsx_description"],
        "user 'nobody' not found (no user has this sourcedId or username)"
    );
}

#[tokio::test]
async fn a_sourced_id_wins_over_another_users_username() {
    let app = two_users().await;
    let r = app.patch("users/u2", json!({"user": {"username": "u1"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get("users/u1").await.body["user"]["givenName"], "Ann");
    let r = app.get("users/u1?by=username").await;
    assert_eq!(r.body["user"]["sourcedId"], "u2", "{}", r.body);
}

#[tokio::test]
async fn by_forces_one_key() {
    let app = two_users().await;
    for (query, id) in [
        ("ann.lee?by=username", "u1"),
        ("u2@example.org?by=email", "u2"),
        ("U2@Example.ORG?by=email", "u2"),
        ("u1?by=sourcedId", "u1"),
    ] {
        let r = app.get(&format!("users/{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(r.body["user"]["sourcedId"], id, "{query}");
    }
    app.get("users/ann.lee?by=sourcedId")
        .await
        .assert_imsx(404, "unknownobject");
    let r = app.get("users/u1?by=username").await;
    r.assert_imsx(404, "unknownobject");
    assert_eq!(
        r.body["imsx_description"],
        "user 'u1' not found (no user has this username)"
    );
}

#[tokio::test]
async fn an_unknown_by_is_400_listing_the_valid_keys() {
    let app = two_users().await;
    for request in [
        app.http.get(app.url("users/u1?by=givenName")),
        app.http.delete(app.url("users/u1?by=givenName")),
        app.http
            .patch(app.url("users/u1?by=givenName"))
            .json(&json!({"user": {"phone": "1"}})),
    ] {
        let r = app.send(request.bearer_auth(&app.token)).await;
        r.assert_imsx(400, "invaliddata");
        assert_eq!(
            r.body["imsx_description"],
            "by: 'givenName' is not a key of users; valid: sourcedId, username, email, identifier"
        );
    }
    app.get("users/u1?by=username&by=email")
        .await
        .assert_imsx(400, "invaliddata");
    let r = app.get("orgs/school-1?by=identifier").await;
    r.assert_imsx(400, "invaliddata");
    assert_eq!(stored(&app, "u1").await["status"], "active");
}

#[tokio::test]
async fn an_identifier_held_by_two_users_is_ambiguous() {
    let app = two_users().await;
    let r = app.get("users/ID-7?by=identifier").await;
    r.assert_imsx(409, "invaliddata");
    let text = r.body["imsx_description"].as_str().unwrap();
    assert!(text.starts_with("identifier 'ID-7' is not unique"), "{text}");
    let r = app.delete("users/ID-7?by=identifier").await;
    r.assert_imsx(409, "invaliddata");
    assert_eq!(stored(&app, "u1").await["status"], "active");
    assert_eq!(stored(&app, "u2").await["status"], "active");
    app.patch("users/bo", json!({"user": {"identifier": "ID-8"}})).await;
    let r = app.get("users/ID-8?by=identifier").await;
    assert_eq!(r.body["user"]["sourcedId"], "u2", "{}", r.body);
}

#[tokio::test]
async fn put_patch_and_delete_address_the_user_a_username_names() {
    let app = two_users().await;
    let mut replacement = user("u1", "Ann", "Lee-Park");
    replacement["username"] = json!("ann.lee");
    let r = app.put("users/ann.lee", json!({ "user": replacement })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stored(&app, "u1").await["familyName"], "Lee-Park");
    let r = app.patch("users/ann.lee", json!({"user": {"phone": "555"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["sourcedId"], "u1");
    assert_eq!(stored(&app, "u1").await["phone"], "555");
    let r = app
        .put("users/nobody", json!({ "user": user("nobody", "N", "O") }))
        .await;
    r.assert_imsx(404, "unknownobject");
    assert_eq!(app.delete("users/bo").await.status, 204);
    assert_eq!(stored(&app, "u2").await["status"], "tobedeleted");
    assert_eq!(stored(&app, "u1").await["status"], "active");
}

#[tokio::test]
async fn a_key_works_with_if_match_idempotency_keys_and_fields_to_null() {
    let app = two_users().await;
    app.patch("users/u1", json!({"user": {"phone": "555"}})).await;
    let etag = app.get("users/ann.lee").await.header("etag").unwrap().to_owned();
    let stale = app
        .send(
            app.http
                .patch(app.url("users/ann.lee"))
                .bearer_auth(&app.token)
                .header("If-Match", "\"not-it\"")
                .json(&json!({"user": {"sms": "1"}})),
        )
        .await;
    stale.assert_imsx(412, "invaliddata");
    assert_eq!(stale.header("etag"), Some(etag.as_str()));
    let body = json!({"user": {"sms": "2"}, "FieldsToNull": ["phone"]});
    let send = || {
        app.http
            .patch(app.url("users/ann.lee"))
            .bearer_auth(&app.token)
            .header("If-Match", &etag)
            .header("Idempotency-Key", "k-1")
            .json(&body)
    };
    let first = app.send(send()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let replay = app.send(send()).await;
    assert_eq!((replay.status, &replay.body), (200, &first.body));
    let doc = stored(&app, "u1").await;
    assert_eq!((doc["sms"].as_str(), doc.get("phone")), (Some("2"), None), "{doc}");
}

#[tokio::test]
async fn usernames_are_unique_on_their_key() {
    let app = two_users().await;
    let mut clash = user("u3", "Cy", "Ng");
    clash["username"] = json!(" Ann.Lee ");
    let r = app.post("users", json!({ "user": clash })).await;
    r.assert_imsx(409, "invaliddata");
    assert_eq!(r.body["imsx_description"], "another user already has this username");
    let r = app.patch("users/u2", json!({"user": {"username": "ANN.LEE"}})).await;
    r.assert_imsx(409, "invaliddata");
    assert_eq!(stored(&app, "u2").await["username"], "bo");
    app.get("users/u3").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn of_many_concurrent_creates_with_one_username_exactly_one_wins() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let creates = (0..16).map(|i| {
        let mut body = user(&format!("c{i}"), "Ann", "Lee");
        body["username"] = json!(if i % 2 == 0 { "same" } else { "SAME" });
        app.post("users", json!({ "user": body }))
    });
    let replies = futures_util::future::join_all(creates).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [[201].as_slice(), &[409; 15]].concat(), "{statuses:?}");
    let r = app.get("users?filter=givenName='Ann'").await;
    assert_eq!(r.body["totalCount"], 1, "{}", r.body);
}
