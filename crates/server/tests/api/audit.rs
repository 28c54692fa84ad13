//! The audit trail (`…/{id}/audit`) and `?asOf=` on single-record reads.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{CLIENT_ID, TestApp, user};

fn fields(r: &crate::helpers::Reply) -> Vec<(String, String)> {
    r.body["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A moment strictly between two writes.
async fn moment() -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = oneroster::Timestamp::new(oneroster::Clock::now(&oneroster::SystemClock)).to_wire();
    tokio::time::sleep(Duration::from_millis(5)).await;
    at
}

#[tokio::test]
async fn the_audit_lists_each_field_change_newest_first_with_who_and_when() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut ada = user("u-1", "Ada", "Lovelace");
    ada["metadata"] = json!({"house": "red"});
    app.create("users", "user", ada).await;
    let between = moment().await;
    let patched = app
        .patch(
            "users/u-1",
            json!({"user": {"givenName": "Augusta", "password": "new-s3cret", "metadata": {"house": "blue"}}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);

    let r = app.get("users/u-1/audit").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let total: usize = r.header("x-total-count").unwrap().parse().unwrap();
    let entries = r.body["audit"].as_array().unwrap();
    assert_eq!(entries.len(), total);
    let newest = &entries[0];
    assert_eq!(newest["operation"], "update");
    assert_eq!(newest["client"], CLIENT_ID);
    assert_eq!(newest["origin"], "api");
    assert_eq!(newest["requestId"].as_str(), patched.header("x-request-id"));
    assert_eq!(newest["dateTime"], patched.body["user"]["dateLastModified"]);
    let update: Vec<&Value> = entries.iter().filter(|e| e["operation"] == "update").collect();
    let given = update.iter().find(|e| e["field"] == "givenName").unwrap();
    assert_eq!((&given["before"], &given["after"]), (&json!("Ada"), &json!("Augusta")));
    let house = update.iter().find(|e| e["field"] == "metadata.house").unwrap();
    assert_eq!((&house["before"], &house["after"]), (&json!("red"), &json!("blue")));
    let password = update.iter().find(|e| e["field"] == "password").unwrap();
    assert_eq!(password["changed"], true);
    assert!(password.get("before").is_none() && password.get("after").is_none());
    assert!(!r.body.to_string().contains("new-s3cret"));
    let last = entries.last().unwrap();
    assert_eq!(last["operation"], "create");
    assert!(
        entries
            .iter()
            .any(|e| e["operation"] == "create" && e["field"] == "givenName" && e["after"] == "Ada")
    );

    let only = app.get("users/u-1/audit?field=givenName").await;
    assert_eq!(
        fields(&only),
        [
            ("givenName".into(), "update".into()),
            ("givenName".into(), "create".into())
        ]
    );
    let inside = app.get("users/u-1/audit?field=metadata").await;
    assert_eq!(
        fields(&inside),
        [
            ("metadata.house".into(), "update".into()),
            ("metadata".into(), "create".into())
        ],
        "a create lists its top-level fields"
    );
    let since = app.get(&format!("users/u-1/audit?since={between}")).await;
    assert!(fields(&since).iter().all(|(_, op)| op == "update"), "{}", since.body);
    let until = app.get(&format!("users/u-1/audit?until={between}")).await;
    assert!(fields(&until).iter().all(|(_, op)| op == "create"), "{}", until.body);
    let paged = app.get("users/u-1/audit?limit=2&offset=1").await;
    assert_eq!(paged.body["audit"].as_array().unwrap().len(), 2);
    assert_eq!(paged.body["audit"][0], entries[1]);
    assert_eq!(paged.header("x-total-count"), Some(total.to_string().as_str()));
}

#[tokio::test]
async fn the_audit_refuses_bad_parameters_unknown_records_and_writes() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u-1", "Ada", "Lovelace")).await;
    app.get("users/nobody/audit").await.assert_imsx(404, "unknownobject");
    app.get("users/u-1/audit?since=yesterday")
        .await
        .assert_imsx(400, "invaliddata");
    app.get("users/u-1/audit?limit=0").await.assert_imsx(400, "invaliddata");
    app.get("users/u-1/audit?offset=-1")
        .await
        .assert_imsx(400, "invaliddata");
    app.get("users/u-1/audit?field=shoeSize")
        .await
        .assert_imsx(400, "invalid_selection_field");
    let r = app.post("users/u-1/audit", json!({"audit": []})).await;
    assert_eq!(r.status, 405);
    assert_eq!(app.delete("users/u-1/audit").await.status, 405);
    let orgs = app.get("orgs/nothing/audit").await;
    orgs.assert_imsx(404, "unknownobject");
    let core = app.client_token("demo", &["roster-demographics.readonly"]).await;
    let r = app
        .send(app.http.get(app.url("users/u-1/audit")).bearer_auth(&core))
        .await;
    r.assert_imsx(403, "forbidden");
}

#[tokio::test]
async fn as_of_shows_the_record_as_it_was_then() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let before_it = moment().await;
    app.create("users", "user", user("u-1", "Ada", "Lovelace")).await;
    let first = moment().await;
    app.patch(
        "users/u-1",
        json!({"user": {"givenName": "Augusta", "metadata": {"x": 1}}}),
    )
    .await;
    let second = moment().await;
    assert_eq!(app.delete("users/u-1").await.status, 204);

    let then = app.get(&format!("users/u-1?asOf={first}")).await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(then.body["user"]["givenName"], "Ada");
    assert_eq!(then.body["user"]["status"], "active");
    assert!(
        then.body["user"].get("metadata").is_none_or(|m| m.get("x").is_none()),
        "{}",
        then.body
    );
    let later = app.get(&format!("users/u-1?asOf={second}")).await;
    assert_eq!(later.body["user"]["givenName"], "Augusta");
    assert_eq!(later.body["user"]["status"], "active");
    let now = app.get("users/u-1").await;
    assert_eq!(now.body["user"]["status"], "tobedeleted");
    app.get(&format!("users/u-1?asOf={before_it}"))
        .await
        .assert_imsx(404, "unknownobject");
    app.get("users/u-1?asOf=soon").await.assert_imsx(400, "invaliddata");
    app.get(&format!("users/nobody?asOf={first}"))
        .await
        .assert_imsx(404, "unknownobject");

    // On PostgreSQL pruning stops before transactions still running on the
    // server (other tests'): retry until all three changes are gone.
    let (mut removed, deadline) = (0, std::time::Instant::now() + Duration::from_secs(60));
    while removed < 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        removed += app.rollcall.engine.prune_changes(Duration::ZERO).await.unwrap();
    }
    let gone = app.get(&format!("users/u-1?asOf={first}")).await;
    gone.assert_imsx(410, "unknownobject");
    assert_eq!(app.get(&format!("users/u-1?asOf={}", moment().await)).await.status, 200);
}

/// A user's audit trail is reachable by username, as the user is.
#[tokio::test]
async fn a_users_audit_is_found_by_username_too() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut ada = user("u-1", "Ada", "Lovelace");
    ada["username"] = json!("ada.l");
    app.create("users", "user", ada).await;
    let by_id = app.get("users/u-1/audit").await;
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    let by_name = app.get("users/ada.l/audit").await;
    assert_eq!(by_name.status, 200, "{}", by_name.body);
    assert_eq!(by_name.body, by_id.body);
    app.get("users/ada.l/audit?by=sourcedId")
        .await
        .assert_imsx(404, "unknownobject");
}
