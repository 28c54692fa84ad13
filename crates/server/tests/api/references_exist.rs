//! References that point somewhere: a write naming an org, course, class,
//! academic session, user or agent that does not exist is 422 naming the
//! reference, and writes nothing; `Rollcall-Reference-Check: off` (admin
//! only) lets a bulk loader send children before parents.

use oneroster::ResourceDecl;
use oneroster::model::{class::CLASSES, enrollment::ENROLLMENTS, user::USERS};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, class, enrollment, org, user};

/// Asserts a 422 whose description is exactly `message`.
#[track_caller]
fn assert_refused(r: &Reply, message: &str) {
    r.assert_imsx(422, "invaliddata");
    assert_eq!(r.body["imsx_description"], message);
}

async fn absent(app: &TestApp, decl: &'static ResourceDecl, id: &str) -> bool {
    app.rollcall.engine.store().get(decl, id).await.unwrap().is_none()
}

#[tokio::test]
async fn each_kind_of_reference_to_nothing_is_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let mut u = user("u1", "Ann", "Lee");
    u["roles"][0]["org"]["sourcedId"] = json!("nowhere");
    let r = app.post("users", json!({ "user": u })).await;
    assert_refused(&r, "roles[0].org.sourcedId: no org 'nowhere'");
    let mut u = user("u1", "Ann", "Lee");
    u["primaryOrg"] = json!({"sourcedId": "org-x"});
    u["agents"] = json!([{"sourcedId": "parent-x"}]);
    let r = app.post("users", json!({ "user": u })).await;
    assert_refused(
        &r,
        "primaryOrg.sourcedId: no org 'org-x'; agents[0].sourcedId: no user 'parent-x'",
    );
    assert!(absent(&app, &USERS, "u1").await);

    let mut c = class("class-2", "Geometry");
    c["course"] = json!({"sourcedId": "course-x"});
    c["terms"] = json!([{"sourcedId": "term-1"}, {"sourcedId": "term-x"}]);
    let r = app.post("classes", json!({ "class": c })).await;
    assert_refused(
        &r,
        "course.sourcedId: no course 'course-x'; terms[1].sourcedId: no academicSession 'term-x'",
    );
    assert!(absent(&app, &CLASSES, "class-2").await);

    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let r = app
        .post(
            "enrollments",
            json!({ "enrollment": enrollment("e1", "u1", "class-x") }),
        )
        .await;
    assert_refused(&r, "class.sourcedId: no class 'class-x'");
    let r = app
        .post(
            "enrollments",
            json!({ "enrollment": enrollment("e1", "user-x", "class-1") }),
        )
        .await;
    assert_refused(&r, "user.sourcedId: no user 'user-x'");
    assert!(absent(&app, &ENROLLMENTS, "e1").await);
    let e = app
        .post(
            "enrollments",
            json!({ "enrollment": enrollment("e1", "u1", "class-1") }),
        )
        .await;
    assert_eq!(e.status, 201, "{}", e.body);
}

#[tokio::test]
async fn put_and_patch_check_the_references_they_send() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let mut u = user("u1", "Ann", "Lee");
    u["roles"][0]["org"]["sourcedId"] = json!("org-x");
    let r = app.put("users/u1", json!({ "user": u })).await;
    assert_refused(&r, "roles[0].org.sourcedId: no org 'org-x'");
    let r = app
        .patch("users/u1", json!({"user": {"agents": [{"sourcedId": "u1x"}]}}))
        .await;
    assert_refused(&r, "agents[0].sourcedId: no user 'u1x'");
    let r = app
        .patch("orgs/school-1", json!({"org": {"parent": {"sourcedId": "district-x"}}}))
        .await;
    assert_refused(&r, "parent.sourcedId: no org 'district-x'");
    let stored = app.rollcall.engine.get(&USERS, "u1").await.unwrap();
    assert_eq!(stored["roles"][0]["org"]["sourcedId"], "school-1");
    assert_eq!(stored["agents"], json!([]));
    let r = app.patch("users/u1", json!({"user": {"phone": "555"}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_soft_deleted_target_still_exists() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("orgs", "org", org("school-2", "South High")).await;
    assert_eq!(app.delete("orgs/school-2").await.status, 204);
    let mut u = user("u1", "Ann", "Lee");
    u["roles"][0]["org"]["sourcedId"] = json!("school-2");
    assert_eq!(app.post("users", json!({ "user": u })).await.status, 201);
}

#[tokio::test]
async fn an_orgs_children_may_be_written_before_them() {
    let app = TestApp::spawn().await;
    let mut district = org("d1", "District");
    district["type"] = json!("district");
    district["children"] = json!([{"sourcedId": "school-later"}]);
    assert_eq!(app.post("orgs", json!({ "org": district })).await.status, 201);
    let mut school = org("school-later", "Later High");
    school["parent"] = json!({"sourcedId": "d1"});
    assert_eq!(app.post("orgs", json!({ "org": school })).await.status, 201);
}

/// A POST of `body` to `path` with `Rollcall-Reference-Check: value`.
async fn without_check(app: &TestApp, token: &str, path: &str, body: Value, value: &str) -> Reply {
    let request = app.http.post(app.url(path)).bearer_auth(token).json(&body);
    app.send(request.header("Rollcall-Reference-Check", value)).await
}

#[tokio::test]
async fn the_reference_check_header_lets_an_admin_send_children_first() {
    let app = TestApp::spawn().await;
    let body = json!({ "user": user("u1", "Ann", "Lee") });
    let r = without_check(&app, &app.token, "users", body.clone(), "on").await;
    assert_refused(&r, "roles[0].org.sourcedId: no org 'school-1'");
    let r = without_check(&app, &app.token, "users", body.clone(), "maybe").await;
    r.assert_imsx(400, "invaliddata");
    let writer = app.client_token("writer", &["roster.createput"]).await;
    let r = without_check(&app, &writer, "users", body.clone(), "off").await;
    r.assert_imsx(403, "forbidden");
    assert!(absent(&app, &USERS, "u1").await);

    let r = without_check(&app, &app.token, "users", body, "off").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = without_check(
        &app,
        &app.token,
        "classes",
        json!({ "class": class("class-1", "Algebra") }),
        "off",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.add_school().await;
    let r = app.get("users/u1").await;
    assert_eq!(r.body["user"]["roles"][0]["org"]["sourcedId"], "school-1", "{}", r.body);
}

#[tokio::test]
async fn a_course_structure_may_refer_to_its_own_course() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let lesson = json!({"url": "https://qti.example.org/tests/L1", "skillCode": "S1", "lessonCode": "L1",
        "title": "Lesson L1", "unit-title": "Fractions", "status": "active", "xp": 10});
    let body = json!({
        "course": {"sourcedId": "c9", "title": "Art", "org": {"sourcedId": "school-1"}},
        "courseStructure": {"l1": lesson},
    });
    let r = app.post("courses/structure", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut bad = body;
    bad["course"]["sourcedId"] = json!("c10");
    bad["course"]["org"]["sourcedId"] = json!("org-x");
    let r = app.post("courses/structure", bad).await;
    r.assert_imsx(422, "invaliddata");
    let text = r.body["imsx_description"].as_str().unwrap();
    assert!(text.contains("org.sourcedId: no org 'org-x'"), "{text}");
}
