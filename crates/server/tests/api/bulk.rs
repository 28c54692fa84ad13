//! `POST /{collection}/bulk`: every record written in one transaction, or
//! none with a report naming each refused record, its path and rule.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, org, user};

async fn total(app: &TestApp, collection: &str) -> u64 {
    let r = app.get(collection).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["totalCount"].as_u64().unwrap()
}

fn users(ids: impl IntoIterator<Item = usize>) -> Vec<Value> {
    ids.into_iter()
        .map(|n| user(&format!("u{n}"), "Given", &format!("Family{n}")))
        .collect()
}

/// The `imsx_error_details` entries as (index, sourcedId, path).
fn details(r: &Reply) -> Vec<(String, String, String)> {
    r.body["imsx_error_details"]
        .as_array()
        .unwrap_or_else(|| panic!("no details in {}", r.body))
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap().to_owned();
            assert!(!text("message").is_empty(), "{d}");
            (text("index"), text("sourcedId"), text("path"))
        })
        .collect()
}

#[tokio::test]
async fn creates_new_records_and_replaces_stored_ones() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Old", "Name")).await;
    let mut records = users(0..3);
    records.push(json!({ "enabledUser": "true", "givenName": "No", "familyName": "Id",
        "roles": [{ "roleType": "primary", "role": "teacher", "org": { "sourcedId": "school-1" } }] }));
    let r = app.post("users/bulk", json!({ "users": records })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 3);
    assert_eq!(r.body["replaced"], 1);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[1], json!({ "index": 1, "sourcedId": "u1", "status": "replaced" }));
    assert_eq!(items[0], json!({ "index": 0, "sourcedId": "u0", "status": "created" }));
    let allocated = items[3]["sourcedId"].as_str().unwrap();

    assert_eq!(total(&app, "users").await, 4);
    let replaced = app.get("users/u1").await;
    assert_eq!(replaced.body["user"]["givenName"], "Given");
    assert_eq!(
        app.get(&format!("users/{allocated}")).await.body["user"]["givenName"],
        "No"
    );
    assert_eq!(app.get("users/u2").await.body["user"]["email"], "u2@example.org");
}

#[tokio::test]
async fn one_bad_record_writes_nothing_and_the_report_names_it() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut records = users(0..5);
    records[3]["givenName"] = Value::Null;
    records[3]["roles"][0]["role"] = json!("pupil");
    records.push(json!("not a record"));
    let r = app.post("users/bulk", json!({ "users": records })).await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(
        details(&r),
        [
            ("3".into(), "u3".into(), "users[3].givenName".into()),
            ("3".into(), "u3".into(), "users[3].roles[0].role".into()),
            ("5".into(), String::new(), "users[5]".into()),
        ]
    );
    let fields = r.body["imsx_CodeMinor"]["imsx_codeMinorField"].as_array().unwrap();
    assert_eq!(fields[1]["imsx_codeMinorFieldName"], "users[3].givenName");
    let text = r.body["imsx_description"].as_str().unwrap();
    assert!(
        text.starts_with("2 of 6 users refused, nothing was written; 3 problems: users[3].givenName:"),
        "{text}"
    );
    assert_eq!(total(&app, "users").await, 0);
}

#[tokio::test]
async fn a_sourced_id_sent_twice_is_refused_at_its_second_place() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut records = users(0..3);
    records.push(user("u1", "Again", "Twice"));
    let r = app.post("users/bulk", json!({ "users": records })).await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(details(&r), [("3".into(), "u1".into(), "users[3].sourcedId".into())]);
    let message = r.body["imsx_error_details"][0]["message"].as_str().unwrap();
    assert!(message.contains("also the sourcedId of item 1"), "{message}");
    assert_eq!(total(&app, "users").await, 0);
}

#[tokio::test]
async fn more_records_than_allowed_is_413_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let records: Vec<Value> = vec![json!({}); rollcall_service::bulk::MAX_RECORDS + 1];
    let r = app.post("users/bulk", json!({ "users": records })).await;
    r.assert_imsx(413, "invaliddata");
    let text = r.body["imsx_description"].as_str().unwrap();
    assert!(text.contains("at most 10000 users"), "{text}");
    assert_eq!(total(&app, "users").await, 0);
}

#[tokio::test]
async fn unique_clashes_with_stored_records_or_each_other_are_named_per_item() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u9", "Taken", "Email")).await;
    let mut records = users(0..4);
    records[2]["email"] = json!(" U9@Example.org");
    records[2]["roles"][0]["org"]["sourcedId"] = json!("nowhere");
    records[3]["username"] = json!("same.name");
    records[1]["username"] = json!("Same.Name");
    let r = app.post("users/bulk", json!({ "users": records })).await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(
        details(&r),
        [
            ("2".into(), "u2".into(), "users[2].roles[0].org.sourcedId".into()),
            ("2".into(), "u2".into(), "users[2].email".into()),
            ("3".into(), "u3".into(), "users[3].username".into()),
        ]
    );
    let text = r.body["imsx_description"].as_str().unwrap();
    assert!(
        text.contains("users[2].email: another user already has this email"),
        "{text}"
    );
    assert!(text.contains("is also the username of item 1"), "{text}");
    assert!(
        text.starts_with("2 of 4 users refused"),
        "one refusal per record: {text}"
    );
    assert_eq!(total(&app, "users").await, 1);
}

#[tokio::test]
async fn passwords_are_hashed_and_a_replacement_keeps_an_unsent_one() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut records = users(0..2);
    records[0]["password"] = json!("s3cret-one");
    let r = app.post("users/bulk", json!({ "users": records })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let engine = &app.rollcall.engine;
    let users = &oneroster::model::user::USERS;
    let hash = engine.get(users, "u0").await.unwrap()["password"].clone();
    assert!(hash.as_str().unwrap().starts_with("$argon2id$"), "{hash}");
    assert!(app.get("users/u0").await.body["user"].get("password").is_none());

    let r = app
        .post("users/bulk", json!({ "users": [user("u0", "Renamed", "Later")] }))
        .await;
    assert_eq!(r.body["replaced"], 1, "{}", r.body);
    let stored = engine.get(users, "u0").await.unwrap();
    assert_eq!(stored["password"], hash);
    assert_eq!(stored["givenName"], "Renamed");
}

#[tokio::test]
async fn every_collection_has_a_bulk_route_under_its_scope() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "orgs/bulk",
            json!({ "orgs": [org("school-1", "North"), org("school-2", "South")] }),
        )
        .await;
    assert_eq!(r.body["created"], 2, "{}", r.body);
    let r = app.post("orgs/bulk", json!({ "org": [] })).await;
    r.assert_imsx(422, "invaliddata");

    let reader = app.client_token("reader", &["roster.readonly"]).await;
    let request = app
        .http
        .post(app.url("orgs/bulk"))
        .bearer_auth(reader)
        .json(&json!({ "orgs": [org("school-3", "East")] }));
    app.send(request).await.assert_imsx(403, "forbidden");
    assert_eq!(total(&app, "orgs").await, 2);
}

#[tokio::test]
async fn a_record_named_bulk_stays_reachable() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("bulk", "Bulk Academy")).await;
    assert_eq!(app.get("orgs/bulk").await.body["org"]["name"], "Bulk Academy");
    assert_eq!(app.delete("orgs/bulk").await.status, 204);
}

/// A bulk body past the ordinary request limit (the tests' is 64 KiB) is
/// taken, also when an `Idempotency-Key` layer reads it first, and a retry
/// with the same key gets the first answer without writing again.
#[tokio::test]
async fn a_large_bulk_body_is_taken_and_a_keyed_retry_replays() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let body = json!({ "users": users(0..400) });
    assert!(body.to_string().len() > 64 * 1024);
    let send = || {
        let request = app.http.post(app.url("users/bulk")).bearer_auth(&app.token);
        app.send(request.header("Idempotency-Key", "bulk-1").json(&body))
    };
    let first = send().await;
    assert_eq!(first.body["created"], 400, "{}", first.body);
    let again = send().await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(total(&app, "users").await, 400);
}

/// References are checked as a single write checks them, against what is
/// stored and what comes in the same request; each refused record is named.
#[tokio::test]
async fn a_reference_to_nothing_writes_nothing_and_is_named() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut records = users(0..3);
    records[1]["roles"][0]["org"]["sourcedId"] = json!("nowhere");
    records[2]["agents"] = json!([{ "sourcedId": "u0", "type": "user" }, { "sourcedId": "ghost", "type": "user" }]);
    let r = app.post("users/bulk", json!({ "users": records.clone() })).await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(
        details(&r),
        [
            ("1".into(), "u1".into(), "users[1].roles[0].org.sourcedId".into()),
            ("2".into(), "u2".into(), "users[2].agents[1].sourcedId".into()),
        ]
    );
    let text = r.body["imsx_description"].as_str().unwrap();
    assert!(text.contains("no org 'nowhere'"), "{text}");
    assert_eq!(total(&app, "users").await, 0);

    let request = app.http.post(app.url("users/bulk")).bearer_auth(&app.token);
    let request = request.header("Rollcall-Reference-Check", "off");
    let r = app.send(request.json(&json!({ "users": records }))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(total(&app, "users").await, 3);
}

#[tokio::test]
async fn a_parent_may_come_in_the_same_bulk_request() {
    let app = TestApp::spawn().await;
    let mut district = org("d1", "District");
    district["type"] = json!("district");
    let mut school = org("school-1", "North");
    school["parent"] = json!({ "sourcedId": "d1" });
    let r = app.post("orgs/bulk", json!({ "orgs": [school, district] })).await;
    assert_eq!(r.body["created"], 2, "{}", r.body);
}

/// Declared extension fields are checked on bulk writes too, and Netex's
/// `extendedFields` is taken there as on single writes.
#[tokio::test]
async fn extension_fields_are_checked_in_bulk() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let field = json!({ "name": "house", "type": "enum", "values": ["red", "blue"] });
    assert_eq!(app.post("/admin/extensions/users", field).await.status, 201);
    let mut records = users(0..2);
    records[0]["extendedFields"] = json!({ "house": "red" });
    records[1]["metadata"] = json!({ "ext": { "house": "purple" } });
    let r = app.post("users/bulk", json!({ "users": records.clone() })).await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(
        details(&r),
        [("1".into(), "u1".into(), "users[1].metadata.ext.house".into())]
    );
    assert_eq!(total(&app, "users").await, 0);

    records[1]["metadata"]["ext"]["house"] = json!("blue");
    let r = app.post("users/bulk", json!({ "users": records })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = app.get("users/u0").await;
    assert_eq!(
        stored.body["user"]["metadata"]["ext"]["house"], "red",
        "{}",
        stored.body
    );
}

/// A keyed bulk write's report can pass a mebibyte (one problem entry per
/// refused record); it is answered and replayed whole, never emptied.
#[tokio::test]
async fn a_large_keyed_report_is_answered_and_replayed_whole() {
    let app = TestApp::spawn().await;
    let body = json!({ "users": vec![json!({}); 8000] });
    let send = || {
        let request = app.http.post(app.url("users/bulk")).bearer_auth(&app.token);
        app.send(request.header("Idempotency-Key", "bulk-report").json(&body))
    };
    let first = send().await;
    first.assert_imsx(422, "invaliddata");
    assert!(first.body.to_string().len() > 1 << 20, "the report is past a MiB");
    assert!(details(&first).len() >= 8000);
    let again = send().await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
}
