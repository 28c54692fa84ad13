//! The users-management API end to end, as the TimeBack seeds describe it:
//! create (allocated ids), get (TimeBack rendering), password hashing, PUT,
//! PATCH, soft DELETE, uniqueness conflicts, getUserWithDemographics,
//! getClassesForUser and `fields` selection.

use std::time::Duration;

use oneroster::Timestamp;
use oneroster::model::user::USERS;
use serde_json::{Value, json};

use crate::helpers::{TestApp, class, enrollment, org, user};

/// The stored user behind the API (hashes included).
async fn stored(app: &TestApp, id: &str) -> Value {
    app.rollcall.engine.get(&USERS, id).await.unwrap()
}

async fn get_user(app: &TestApp, id: &str) -> Value {
    let r = app.get(&format!("users/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["user"].clone()
}

async fn user_count(app: &TestApp) -> u64 {
    let r = app.get("users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["totalCount"].as_u64().unwrap()
}

fn modified(doc: &Value) -> Timestamp {
    Timestamp::parse(doc["dateLastModified"].as_str().unwrap()).unwrap()
}

/// Ensures no password, hash or plain text appears anywhere in `body`.
#[track_caller]
fn assert_no_password(body: &Value) {
    let text = body.to_string();
    assert!(!text.contains("hunter"), "{text}");
    assert!(!text.contains("$argon2"), "{text}");
    assert!(!text.contains("\"password\""), "{text}");
}

#[tokio::test]
async fn create_without_sourced_id_allocates_a_uuid() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    for path in ["users/", "users"] {
        let mut body = user("x", "Ann", "Lee");
        body.as_object_mut().unwrap().remove("sourcedId");
        body["email"] = json!(format!("{}@example.org", path.len()));
        let r = app.post(path, json!({ "user": body })).await;
        assert_eq!(r.status, 201, "{path}: {}", r.body);
        let id = r.body["sourcedIdPairs"]["allocatedSourcedId"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(get_user(&app, id).await["givenName"], "Ann");
    }
}

#[tokio::test]
async fn create_with_sourced_id_keeps_it() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let r = app.post("users/", json!({"user": user("u-1", "Ann", "Lee")})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["sourcedIdPairs"]["allocatedSourcedId"], "u-1");
    assert_eq!(get_user(&app, "u-1").await["sourcedId"], "u-1");
}

#[tokio::test]
async fn get_renders_the_timeback_shape() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let mut body = user("u1", "Ann", "Lee");
    body["grades"] = json!([5, "05", "KG"]);
    body["primaryOrg"] = json!({"sourcedId": "school-1"});
    body["roles"][0]["metadata"] = json!({"alphaLevelAccess": ["L1", "L2"]});
    body["metadata"] = json!({"onboarding": {"step": 3}, "isTestUser": true});
    body["userIds"] = json!([{"type": "sis", "identifier": "S-42"}]);
    app.create("users", "user", body).await;

    let u = get_user(&app, "u1").await;
    assert_eq!(u["enabledUser"], "true");
    assert_eq!(u["grades"], json!(["5", "05", "KG"]));
    let date = u["dateLastModified"].as_str().unwrap();
    assert!(date.ends_with('Z') && Timestamp::parse(date).is_ok(), "{date}");
    for reference in [&u["roles"][0]["org"], &u["primaryOrg"]] {
        assert_eq!(reference["sourcedId"], "school-1");
        assert_eq!(reference["type"], "org");
        let href = reference["href"].as_str().unwrap();
        assert!(href.starts_with("http") && href.ends_with("/orgs/school-1"), "{href}");
    }
    assert_eq!(u["primaryOrg"]["name"], "North High");
    assert_eq!(u["roles"][0]["metadata"]["alphaLevelAccess"], json!(["L1", "L2"]));
    assert_eq!(u["metadata"], json!({"onboarding": {"step": 3}, "isTestUser": true}));
    assert_eq!(u["userIds"], json!([{"type": "sis", "identifier": "S-42"}]));
}

#[tokio::test]
async fn enabled_user_accepts_the_string_false() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut body = user("u1", "Ann", "Lee");
    body["enabledUser"] = json!("false");
    app.create("users", "user", body).await;
    assert_eq!(get_user(&app, "u1").await["enabledUser"], "false");
}

#[tokio::test]
async fn passwords_are_hashed_and_never_returned() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut body = user("u1", "Ann", "Lee");
    body["password"] = json!("hunter2");
    app.create("users", "user", body.clone()).await;

    let hash = stored(&app, "u1").await["password"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("$argon2") && hash != "hunter2", "{hash}");
    for path in [
        "users/u1",
        "users",
        "users/u1?fields=sourcedId,givenName",
        "users?fields=sourcedId,email",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_no_password(&r.body);
    }
    assert_no_password(&app.get("users/u1?fields=password").await.body);
    assert_no_password(&app.get("users/u1/demographics").await.body);
    body["password"] = json!("hunter3");
    let put = app.put("users/u1", json!({ "user": body })).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_no_password(&put.body);
    let new_hash = stored(&app, "u1").await["password"].as_str().unwrap().to_owned();
    assert!(new_hash.starts_with("$argon2") && new_hash != hash, "{new_hash}");
    let patch = app.patch("users/u1", json!({"user": {"givenName": "Bo"}})).await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    assert_no_password(&patch.body);
}

#[tokio::test]
async fn put_replaces_the_record() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut body = user("u1", "Ann", "Lee");
    body["middleName"] = json!("May");
    app.create("users", "user", body).await;
    let before = get_user(&app, "u1").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let r = app.put("users/u1", json!({"user": user("u1", "Anna", "Lee")})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = get_user(&app, "u1").await;
    assert_eq!(r.body["user"], after);
    assert_eq!(after["givenName"], "Anna");
    assert!(after.get("middleName").is_none(), "PUT must replace: {after}");
    assert!(modified(&after) > modified(&before));
}

#[tokio::test]
async fn put_to_an_unknown_user_is_404() {
    let app = TestApp::spawn().await;
    let r = app.put("users/ghost", json!({"user": user("ghost", "A", "B")})).await;
    r.assert_imsx(404, "unknownobject");
    assert_eq!(user_count(&app).await, 0);
}

#[tokio::test]
async fn put_with_another_sourced_id_in_the_body_is_422() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let before = get_user(&app, "u1").await;
    let r = app.put("users/u1", json!({"user": user("u2", "Bob", "Lee")})).await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(get_user(&app, "u1").await, before);
    assert_eq!(app.get("users/u2").await.status, 404);
}

#[tokio::test]
async fn put_without_a_password_keeps_the_stored_hash() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut body = user("u1", "Ann", "Lee");
    body["password"] = json!("hunter2");
    app.create("users", "user", body).await;
    let hash = stored(&app, "u1").await["password"].clone();
    let r = app.put("users/u1", json!({"user": user("u1", "Anna", "Lee")})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = stored(&app, "u1").await;
    assert_eq!(after["password"], hash);
    assert_eq!(after["givenName"], "Anna");
}

#[tokio::test]
async fn patch_changes_only_the_fields_sent() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut body = user("u1", "Ann", "Lee");
    body["middleName"] = json!("May");
    app.create("users", "user", body).await;
    let before = get_user(&app, "u1").await;

    let r = app.patch("users/u1", json!({"user": {"givenName": "X"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = get_user(&app, "u1").await;
    assert_eq!(r.body["user"], after);
    assert_eq!(after["givenName"], "X");
    for key in ["familyName", "middleName", "email", "roles", "enabledUser", "status"] {
        assert_eq!(after[key], before[key], "{key} changed");
    }

    let r = app.patch("users/u1", json!({"user": {"middleName": null}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = get_user(&app, "u1").await;
    assert!(after.get("middleName").is_none(), "{after}");
    assert_eq!(after["givenName"], "X");
}

#[tokio::test]
async fn patch_nulling_a_required_field_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let before = get_user(&app, "u1").await;
    let r = app
        .patch("users/u1", json!({"user": {"givenName": null, "familyName": "Z"}}))
        .await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(get_user(&app, "u1").await, before);
}

#[tokio::test]
async fn delete_is_a_soft_delete() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    app.create("users", "user", user("u2", "Bob", "Lee")).await;
    let before = get_user(&app, "u1").await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let r = app
        .http
        .delete(app.url("users/u1"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());

    let after = get_user(&app, "u1").await;
    assert_eq!(after["status"], "tobedeleted");
    assert!(modified(&after) > modified(&before));
    let list = app.get("users?filter=status%3D%27tobedeleted%27").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let ids: Vec<&str> = list.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["sourcedId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u1"]);

    app.delete("users/ghost").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn a_taken_sourced_id_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let before = get_user(&app, "u1").await;
    let mut dup = user("u1", "Bob", "Ray");
    dup["email"] = json!("bob@example.org");
    app.post("users", json!({ "user": dup }))
        .await
        .assert_imsx(409, "invaliddata");
    assert_eq!(get_user(&app, "u1").await, before);
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn a_taken_email_is_409_in_any_case() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut first = user("u1", "Ann", "Lee");
    first["email"] = json!("ann@x.org");
    app.create("users", "user", first).await;
    let before = get_user(&app, "u1").await;
    for email in ["ann@x.org", "ANN@x.org"] {
        let mut dup = user("u2", "Bob", "Ray");
        dup["email"] = json!(email);
        app.post("users", json!({ "user": dup }))
            .await
            .assert_imsx(409, "invaliddata");
    }
    assert_eq!(get_user(&app, "u1").await, before);
    assert_eq!(app.get("users/u2").await.status, 404);
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn demographics_are_embedded_in_the_user() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let r = app.get("users/u1/demographics").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["givenName"], "Ann");
    assert!(r.body["user"]["demographics"].is_null(), "{}", r.body);
    assert!(r.body["user"].as_object().unwrap().contains_key("demographics"));

    let demo = json!({"sourcedId": "u1", "birthDate": "2012-04-01", "asian": true, "white": "false"});
    app.create("demographics", "demographics", demo).await;
    let d = app.get("users/u1/demographics").await.body["user"]["demographics"].clone();
    assert_eq!(d["sourcedId"], "u1");
    assert_eq!(d["birthDate"], "2012-04-01");
    assert_eq!(d["asian"], "true");
    assert_eq!(d["white"], "false");

    let r = app.get("users/ghost/demographics").await;
    r.assert_imsx(404, "unknownobject");
    assert_eq!(r.body["imsx_description"], "User not found.");
}

#[tokio::test]
async fn classes_for_a_user_come_from_enrollments() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("classes", "class", class("class-2", "Algebra 1B")).await;
    app.create("classes", "class", class("class-3", "Algebra 1C")).await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    app.create("users", "user", user("u2", "Bob", "Ray")).await;
    app.create("enrollments", "enrollment", enrollment("e1", "u1", "class-1"))
        .await;
    app.create("enrollments", "enrollment", enrollment("e2", "u2", "class-2"))
        .await;

    let r = app.get("users/u1/classes").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let classes = r.body["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "{}", r.body);
    assert_eq!(classes[0]["sourcedId"], "class-1");
    assert_eq!(r.body["totalCount"], 1);
    assert_eq!(r.header("x-total-count"), Some("1"));

    app.create("enrollments", "enrollment", enrollment("e3", "u1", "class-3"))
        .await;
    let mut seen = Vec::new();
    for offset in [0, 1] {
        let r = app.get(&format!("users/u1/classes?limit=1&offset={offset}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["classes"].as_array().unwrap().len(), 1, "{}", r.body);
        assert_eq!(r.body["totalCount"], 2);
        assert_eq!(r.header("x-total-count"), Some("2"));
        seen.push(r.body["classes"][0]["sourcedId"].as_str().unwrap().to_owned());
    }
    seen.sort();
    assert_eq!(seen, ["class-1", "class-3"]);

    app.get("users/ghost/classes").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn fields_selects_only_the_named_keys() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let r = app.get("users/u1?fields=sourcedId,givenName").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"user": {"sourcedId": "u1", "givenName": "Ann"}}));
}

/// One profile holding `n` credentials, each with a password.
fn profiles_with_credentials(n: usize) -> Value {
    let credentials: Vec<Value> = (0..n)
        .map(|i| json!({"type": "pw", "username": format!("u{i}"), "password": format!("hunter{i}")}))
        .collect();
    json!([{"profileId": "p1", "profileType": "app", "vendorId": "v", "credentials": credentials}])
}

/// Hashing is slow on purpose (argon2, tens of milliseconds per password):
/// a body that will be refused must be refused before it is hashed, or a
/// few kilobytes of passwords hold a core for seconds before the 422.
#[tokio::test]
async fn an_invalid_body_is_refused_before_its_passwords_are_hashed() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let before = stored(&app, "u1").await;
    let mut body = user("u2", "Bob", "Ray");
    body["roles"] = json!([]);
    body["password"] = json!("hunter2");
    body["userProfiles"] = profiles_with_credentials(200);
    let mut replacement = body.clone();
    replacement["sourcedId"] = json!("u1");
    let patch = json!({"roles": [], "userProfiles": profiles_with_credentials(200)});
    for (method, path, body) in [
        ("POST", "users", body),
        ("PUT", "users/u1", replacement),
        ("PATCH", "users/u1", patch),
    ] {
        let started = std::time::Instant::now();
        let r = match method {
            "POST" => app.post(path, json!({ "user": body })).await,
            "PUT" => app.put(path, json!({ "user": body })).await,
            _ => app.patch(path, json!({ "user": body })).await,
        };
        r.assert_imsx(422, "invaliddata");
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(3),
            "{method} took {elapsed:?}: hashed before validating?"
        );
    }
    assert_eq!(stored(&app, "u1").await, before);
    assert_eq!(user_count(&app).await, 1);
}

#[tokio::test]
async fn credentials_per_user_are_capped() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let cap = oneroster::model::user::MAX_CREDENTIALS;
    let mut body = user("u1", "Ann", "Lee");
    body["userProfiles"] = profiles_with_credentials(cap + 1);
    let r = app.post("users", json!({ "user": body.clone() })).await;
    r.assert_imsx(422, "invaliddata");
    let description = r.body["imsx_description"].as_str().unwrap();
    assert!(description.contains(&format!("at most {cap}")), "{description}");
    assert_eq!(user_count(&app).await, 0);

    body["userProfiles"] = profiles_with_credentials(cap);
    app.create("users", "user", body).await;
    let profiles = &stored(&app, "u1").await["userProfiles"];
    assert_eq!(profiles[0]["credentials"].as_array().unwrap().len(), cap);
    assert!(
        profiles[0]["credentials"][0]["password"]
            .as_str()
            .unwrap()
            .starts_with("$argon2")
    );
    let r = app
        .patch(
            "users/u1",
            json!({"user": {"userProfiles": profiles_with_credentials(cap + 1)}}),
        )
        .await;
    r.assert_imsx(422, "invaliddata");
}

/// Emails that read as the same address collide: non-ASCII case, NFC and
/// NFD spellings, padding, and full case folding (`ß` is `ss`), whether the
/// second user is created or an existing one is changed to it.
#[tokio::test]
async fn emails_are_unique_once_trimmed_normalised_and_case_folded() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let pairs = [
        ("élodie@x.org", "ÉLODIE@x.org"),
        ("jos\u{e9}@x.org", "jose\u{301}@x.org"),
        ("ann@x.org", "ann@x.org "),
        ("STRAßE@x.org", "strasse@x.org"),
    ];
    for (n, (first, second)) in pairs.iter().enumerate() {
        let mut body = user(&format!("a{n}"), "Ann", "Lee");
        body["email"] = json!(first);
        app.create("users", "user", body).await;
        let mut dup = user(&format!("b{n}"), "Bob", "Ray");
        dup["email"] = json!(second);
        let r = app.post("users", json!({ "user": dup })).await;
        r.assert_imsx(409, "invaliddata");
        assert!(
            r.body["imsx_description"].as_str().unwrap().contains("email"),
            "{}",
            r.body
        );
    }
    app.create("users", "user", user("c", "Cy", "Day")).await;
    for (_, second) in pairs {
        let r = app.patch("users/c", json!({"user": {"email": second}})).await;
        r.assert_imsx(409, "invaliddata");
    }
    assert_eq!(user_count(&app).await, 5);
    let stored_email = get_user(&app, "a1").await["email"].clone();
    assert_eq!(stored_email, "jos\u{e9}@x.org", "the email is stored as sent");
    let r = app.patch("users/c", json!({"user": {"email": "  cy@x.org "}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get_user(&app, "c").await["email"], "cy@x.org", "padding is trimmed");
}
