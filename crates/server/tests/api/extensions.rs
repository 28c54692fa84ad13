//! Typed extension fields end to end: declared through `/admin/extensions`,
//! checked on every write, filtered and sorted typed, unique ones enforced
//! by the database, listed in `/capabilities` and the served OpenAPI
//! document, and Netex's `extendedFields` accepted as input.

use serde_json::{Value, json};

use crate::helpers::{TestApp, org, user};

async fn declare(app: &TestApp, resource: &str, field: Value) -> crate::helpers::Reply {
    app.post(&format!("/admin/extensions/{resource}"), field).await
}

/// A school and three users, with the user fields `house` (an indexed
/// enum), `lockerNumber` (a unique integer) and `gpa` (a number) declared.
async fn school() -> TestApp {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    for field in [
        json!({"name": "house", "type": "enum", "values": ["red", "blue", "green"], "indexed": true}),
        json!({"name": "lockerNumber", "type": "integer", "unique": true}),
        json!({"name": "gpa", "type": "number"}),
    ] {
        let r = declare(&app, "users", field).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    for (id, house, locker, gpa) in [("u1", "red", 9, 3.5), ("u2", "blue", 10, 2.0), ("u3", "red", 100, 4.0)] {
        let mut record = user(id, "Ann", "Lee");
        record["metadata"] = json!({"ext": {"house": house, "lockerNumber": locker, "gpa": gpa}});
        app.create("users", "user", record).await;
    }
    app
}

#[tokio::test]
async fn declared_fields_are_listed_and_removed() {
    let app = school().await;
    let all = app.get("/admin/extensions").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let names: Vec<&str> = all.body["extensionFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gpa", "house", "lockerNumber"]);
    assert_eq!(
        app.get("/admin/extensions/orgs").await.body,
        json!({"extensionFields": []})
    );
    declare(&app, "users", json!({"name": "house", "type": "string"}))
        .await
        .assert_imsx(409, "invaliddata");
    let r = app.delete("/admin/extensions/users/house").await;
    assert_eq!(r.status, 204, "{}", r.body);
    app.delete("/admin/extensions/users/house")
        .await
        .assert_imsx(404, "unknownobject");
    let filtered = app.get("users?filter=metadata.ext.house='red'").await;
    assert_eq!(
        filtered.status, 200,
        "a removed field is free-form metadata again: {}",
        filtered.body
    );
    assert_eq!(filtered.ids("users"), ["u1", "u3"]);
    let mut record = user("u4", "Bo", "Ng");
    record["metadata"] = json!({"ext": {"house": 7, "lockerNumber": 11}});
    app.create("users", "user", record).await;
}

#[tokio::test]
async fn bad_declarations_and_other_scopes_are_refused() {
    let app = TestApp::spawn().await;
    for bad in [
        json!({"name": "a.b", "type": "string"}),
        json!({"name": "house", "type": "colour"}),
        json!({"name": "house", "type": "enum"}),
        json!({"name": "house", "type": "string", "values": ["x"]}),
        json!({"name": "house", "type": "string", "shade": "dark"}),
    ] {
        declare(&app, "users", bad.clone())
            .await
            .assert_imsx(422, "invaliddata");
    }
    declare(&app, "pets", json!({"name": "house", "type": "string"}))
        .await
        .assert_imsx(404, "unknownobject");
    let reader = app.client_token("reader", &["roster.readonly"]).await;
    let r = app
        .send(
            app.http
                .post(app.url("/admin/extensions/users"))
                .bearer_auth(reader)
                .json(&json!({"name": "house", "type": "string"})),
        )
        .await;
    r.assert_imsx(403, "forbidden");
    assert_eq!(app.get("/admin/extensions").await.body, json!({"extensionFields": []}));
}

#[tokio::test]
async fn every_write_checks_the_declared_types() {
    let app = school().await;
    let mut bad = user("u9", "Cy", "Ra");
    bad["metadata"] = json!({"ext": {"house": "purple"}});
    let r = app.post("users", json!({"user": bad})).await;
    r.assert_imsx(422, "invaliddata");
    let message = r.body["imsx_description"].as_str().unwrap();
    assert!(
        message.contains("metadata.ext.house") && message.contains("red, blue, green"),
        "{message}"
    );
    app.get("users/u9").await.assert_imsx(404, "unknownobject");

    let r = app
        .patch(
            "users/u1",
            json!({"user": {"metadata": {"ext": {"lockerNumber": "nine"}}}}),
        )
        .await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .contains("metadata.ext.lockerNumber")
    );
    let mut replaced = user("u1", "Ann", "Lee");
    replaced["metadata"] = json!({"ext": {"gpa": "high"}});
    app.put("users/u1", json!({"user": replaced}))
        .await
        .assert_imsx(422, "invaliddata");
    let kept = app.get("users/u1").await;
    assert_eq!(kept.body["user"]["metadata"]["ext"]["lockerNumber"], 9, "{}", kept.body);

    let r = app
        .patch("users/u1", json!({"user": {"metadata": {"ext": {"gpa": 3.9}}}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.get("users/u1").await.body["user"]["metadata"]["ext"]["gpa"], 3.9);
}

#[tokio::test]
async fn required_fields_must_be_sent() {
    let app = TestApp::spawn().await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let r = declare(
        &app,
        "users",
        json!({"name": "cohort", "type": "date", "required": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.post("users", json!({"user": user("u1", "Ann", "Lee")})).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .contains("metadata.ext.cohort")
    );
    let mut record = user("u1", "Ann", "Lee");
    record["metadata"] = json!({"ext": {"cohort": "2026-09-01"}});
    app.create("users", "user", record).await;
}

#[tokio::test]
async fn filters_and_sorts_compare_typed_values() {
    let app = school().await;
    let ids = |path: &'static str| {
        let app = &app;
        async move {
            let r = app.get(path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            r.ids("users")
        }
    };
    assert_eq!(ids("users?filter=metadata.ext.house='red'").await, ["u1", "u3"]);
    // As numbers 9 < 10 < 100; as text "100" < "9".
    assert_eq!(ids("users?filter=metadata.ext.lockerNumber>'9'").await, ["u2", "u3"]);
    assert_eq!(
        ids("users?sort=metadata.ext.lockerNumber&orderBy=desc").await,
        ["u3", "u2", "u1"]
    );
    assert_eq!(
        ids("users?filter=metadata.ext.gpa>='3.5'&sort=metadata.ext.gpa").await,
        ["u1", "u3"]
    );
    assert_eq!(
        ids("users?filter=metadata.ext.lockerNumber@'9,100'").await,
        ["u1", "u3"]
    );
    assert_eq!(ids("users?filter=metadata.ext.house!='red'").await, ["u2"]);
    let r = app.get("users?filter=metadata.ext.lockerNumber='nine'").await;
    r.assert_imsx(400, "invalid_filter_field");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .contains("metadata.ext.lockerNumber")
    );

    // Keyset paging through the `next` link on a typed sort.
    let first = app.get("users?sort=metadata.ext.lockerNumber&limit=2").await;
    assert_eq!(first.ids("users"), ["u1", "u2"]);
    let link = first.header("link").unwrap().to_owned();
    let next = link
        .split(',')
        .find(|part| part.contains("rel=\"next\""))
        .and_then(|part| part.split(['<', '>']).nth(1))
        .unwrap_or_else(|| panic!("no next link: {link}"))
        .to_owned();
    let rest = app.send(app.http.get(next).bearer_auth(&app.token)).await;
    assert_eq!(rest.ids("users"), ["u3"], "{}", rest.body);
}

#[tokio::test]
async fn unique_fields_clash_with_409() {
    let app = school().await;
    let mut twin = user("u9", "Cy", "Ra");
    twin["metadata"] = json!({"ext": {"lockerNumber": 9}});
    let r = app.post("users", json!({"user": twin})).await;
    r.assert_imsx(409, "invaliddata");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .contains("metadata.ext.lockerNumber"),
        "{}",
        r.body
    );
    app.get("users/u9").await.assert_imsx(404, "unknownobject");
    let r = app
        .patch(
            "users/u2",
            json!({"user": {"metadata": {"ext": {"lockerNumber": 100}}}}),
        )
        .await;
    r.assert_imsx(409, "invaliddata");
    assert_eq!(
        app.get("users/u2").await.body["user"]["metadata"]["ext"]["lockerNumber"],
        10
    );

    // Values already shared: the unique declaration is refused, and not kept.
    declare(&app, "users", json!({"name": "house2", "type": "string"})).await;
    for id in ["u1", "u2"] {
        let r = app
            .patch(
                &format!("users/{id}"),
                json!({"user": {"metadata": {"ext": {"house2": "x"}}}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    app.delete("/admin/extensions/users/house2").await;
    declare(
        &app,
        "users",
        json!({"name": "house2", "type": "string", "unique": true}),
    )
    .await
    .assert_imsx(409, "invaliddata");
    assert_eq!(
        app.get("/admin/extensions/users").await.body["extensionFields"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn extended_fields_are_accepted_as_declared_fields() {
    let app = school().await;
    let mut record = user("u9", "Cy", "Ra");
    record["extendedFields"] = json!({"house": "green", "lockerNumber": 12});
    app.create("users", "user", record).await;
    let stored = app.get("users/u9").await.body["user"].clone();
    assert_eq!(stored["metadata"]["ext"], json!({"house": "green", "lockerNumber": 12}));
    assert!(stored.get("extendedFields").is_none(), "{stored}");

    let r = app
        .patch("users/u9", json!({"user": {"extendedFields": {"gpa": 1.5}}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.get("users/u9").await.body["user"]["metadata"]["ext"],
        json!({"house": "green", "lockerNumber": 12, "gpa": 1.5})
    );

    let mut replaced = user("u9", "Cy", "Ra");
    replaced["extendedFields"] = json!({"shoeSize": 9, "hatSize": 7, "house": "red"});
    let r = app.put("users/u9", json!({"user": replaced})).await;
    r.assert_imsx(422, "invaliddata");
    let message = r.body["imsx_description"].as_str().unwrap();
    let unknown = message.split(';').next().unwrap();
    assert!(
        unknown.contains("shoeSize") && unknown.contains("hatSize") && !unknown.contains("house"),
        "{message}"
    );
    assert_eq!(
        app.get("users/u9").await.body["user"]["metadata"]["ext"]["house"],
        "green"
    );
    let r = app
        .patch("users/u9", json!({"user": {"extendedFields": {"house": "mauve"}}}))
        .await;
    r.assert_imsx(422, "invaliddata");
}

#[tokio::test]
async fn capabilities_and_openapi_list_declared_fields() {
    let app = school().await;
    let caps = app.get("capabilities").await;
    let users = &caps.body["collections"]["users"];
    for list in ["filterable", "sortable"] {
        assert!(
            users[list].as_array().unwrap().contains(&json!("metadata.ext.house")),
            "{list}: {users}"
        );
    }
    assert_eq!(users["extensionFields"][1]["values"], json!(["red", "blue", "green"]));
    assert_eq!(caps.body["collections"]["orgs"]["extensionFields"], json!([]));

    let doc = app.get("/openapi.json").await.body;
    let schema = &doc["components"]["schemas"]["UserDType"]["properties"];
    assert_eq!(
        schema["metadata"]["properties"]["ext"]["properties"]["lockerNumber"],
        json!({"type": "integer"})
    );
    assert_eq!(
        schema["extendedFields"]["properties"]["house"]["enum"],
        json!(["red", "blue", "green"])
    );
    assert!(doc["paths"]["/admin/extensions/{resource}"]["post"].is_object());
}

#[tokio::test]
async fn views_take_extended_fields_too() {
    let app = TestApp::spawn().await;
    let r = declare(&app, "orgs", json!({"name": "district", "type": "integer"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut school = org("school-9", "West High");
    school["extendedFields"] = json!({"district": 7});
    let r = app.post("schools", json!({"org": school})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        app.get("orgs/school-9").await.body["org"]["metadata"]["ext"]["district"],
        7
    );
    let mut school = org("school-9", "West High");
    school["extendedFields"] = json!({"region": 1});
    app.put("schools/school-9", json!({"org": school}))
        .await
        .assert_imsx(422, "invaliddata");
}

/// Another instance on the same database (here: a second service over the
/// same store) sees a declaration once its copy is `REFRESH_AFTER` old.
#[tokio::test]
async fn other_instances_see_declarations_after_their_refresh_interval() {
    use rollcall_service::extensions::REFRESH_AFTER;
    let app = TestApp::spawn().await;
    let store = app.rollcall.engine.store().clone();
    let other = rollcall_service::Extensions::new(store);
    assert!(other.current().await.unwrap().all().is_empty());
    let r = declare(&app, "users", json!({"name": "house", "type": "string"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        other.current().await.unwrap().all().is_empty(),
        "a fresh copy is used as it is"
    );
    tokio::time::sleep(REFRESH_AFTER + std::time::Duration::from_millis(200)).await;
    let mut seen = false;
    for _ in 0..50 {
        if other.current().await.unwrap().field("users", "house").is_some() {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(seen, "the old copy was re-read in the background");
}
