//! Writable views: schools (orgs of type school) and grading periods
//! (academicSessions of type gradingPeriod) created, replaced and deleted
//! through their own paths with the bodies TimeBack documents; what a view
//! writes stays inside it; createGradingPeriodForTerm; and the wrappers each
//! profile answers with.

use rollcall_server::Profile;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// createSchool's documented body: no `type` is needed beyond `school`.
fn school(id: &str, name: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "name": name, "type": "school",
           "identifier": format!("ID-{id}"), "metadata": {"region": "north"}})
}

/// createGradingPeriod's documented body (`schoolYear` as a string).
fn grading_period(id: &str, title: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "title": title, "type": "gradingPeriod",
           "startDate": "2026-08-15", "endDate": "2026-10-15", "schoolYear": "2027",
           "org": {"sourcedId": "school-1"}})
}

fn session(id: &str, kind: &str) -> Value {
    json!({"sourcedId": id, "title": format!("Session {id}"), "type": kind,
           "startDate": "2026-08-15", "endDate": "2026-12-20", "schoolYear": "2027"})
}

#[tokio::test]
async fn schools_are_created_replaced_and_deleted_through_their_view() {
    let app = TestApp::spawn().await;
    let r = app
        .post("schools/", json!({"org": school("school-1", "North High")}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["sourcedIdPairs"]["allocatedSourcedId"], "school-1");

    let r = app.get("schools/school-1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["org"]["name"], "North High");
    assert_eq!(r.body["org"]["type"], "school");
    assert_eq!(app.get("orgs").await.ids("orgs"), ["school-1"]);

    let mut renamed = school("school-1", "North High School");
    renamed.as_object_mut().unwrap().remove("type");
    let r = app.put("schools/school-1", json!({"org": renamed})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["org"]["name"], "North High School");
    assert_eq!(r.body["org"]["type"], "school", "the view supplies its type");
    assert_eq!(app.get("orgs/school-1").await.body["org"]["name"], "North High School");

    let r = app.delete("schools/school-1").await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.get("schools/school-1").await.body["org"]["status"], "tobedeleted");
}

#[tokio::test]
async fn a_school_without_a_type_is_created_as_a_school() {
    let app = TestApp::spawn().await;
    let mut body = school("school-2", "South High");
    body.as_object_mut().unwrap().remove("type");
    let r = app.post("schools", json!({"org": body})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(app.get("orgs/school-2").await.body["org"]["type"], "school");
}

#[tokio::test]
async fn a_school_of_another_type_is_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let mut district = school("district-1", "Metro");
    district["type"] = "district".into();
    let r = app.post("schools", json!({"org": district.clone()})).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"].as_str().unwrap().starts_with("type:"),
        "{}",
        r.body
    );
    app.get("orgs/district-1").await.assert_imsx(404, "unknownobject");

    app.create("orgs", "org", school("school-1", "North High")).await;
    let mut moved = school("school-1", "North High");
    moved["type"] = "district".into();
    let r = app.put("schools/school-1", json!({"org": moved})).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"].as_str().unwrap().contains("type"),
        "{}",
        r.body
    );
    assert_eq!(
        app.get("orgs/school-1").await.body["org"]["type"],
        "school",
        "unchanged"
    );
}

#[tokio::test]
async fn an_org_outside_the_schools_view_is_not_found_through_it() {
    let app = TestApp::spawn().await;
    app.create(
        "orgs",
        "org",
        json!({"sourcedId": "district-1", "name": "Metro", "type": "district", "identifier": "M"}),
    )
    .await;
    app.get("schools/district-1").await.assert_imsx(404, "unknownobject");
    app.put("schools/district-1", json!({"org": school("district-1", "Metro")}))
        .await
        .assert_imsx(404, "unknownobject");
    app.delete("schools/district-1").await.assert_imsx(404, "unknownobject");
    app.put("schools/nowhere", json!({"org": school("nowhere", "X")}))
        .await
        .assert_imsx(404, "unknownobject");
    let r = app.get("orgs/district-1").await;
    assert_eq!(
        r.body["org"]["type"], "district",
        "the district was not turned into a school"
    );
    assert_eq!(r.body["org"]["status"], "active", "nor deleted");
}

#[tokio::test]
async fn deleting_a_school_leaves_its_classes_alone() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    assert_eq!(app.delete("schools/school-1").await.status, 204);
    let r = app.get("classes/class-1").await;
    assert_eq!(r.body["class"]["status"], "active", "{}", r.body);
    assert_eq!(r.body["class"]["school"]["sourcedId"], "school-1");
}

#[tokio::test]
async fn grading_periods_round_trip_through_their_view() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("academicSessions", "academicSession", session("term-1", "term"))
        .await;
    let r = app
        .post(
            "gradingPeriods/",
            json!({"academicSession": grading_period("gp-1", "Q1")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["sourcedIdPairs"]["allocatedSourcedId"], "gp-1");

    let r = app.get("gradingPeriods").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids("gradingPeriods"), ["gp-1"], "the term is not a grading period");
    assert_eq!(r.body["totalCount"], 1);
    let r = app.get("gradingPeriods/gp-1").await;
    assert_eq!(r.body["gradingPeriod"]["title"], "Q1", "{}", r.body);
    app.get("gradingPeriods/term-1").await.assert_imsx(404, "unknownobject");

    let r = app
        .put(
            "gradingPeriods/gp-1",
            json!({"academicSession": grading_period("gp-1", "First quarter")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["gradingPeriod"]["title"], "First quarter");
    assert_eq!(app.delete("gradingPeriods/gp-1").await.status, 204);
    assert_eq!(
        app.get("academicSessions/gp-1").await.body["academicSession"]["status"],
        "tobedeleted"
    );
    app.delete("gradingPeriods/term-1")
        .await
        .assert_imsx(404, "unknownobject");
    let r = app.get("terms/term-1").await;
    assert_eq!(r.body["term"]["status"], "active", "{}", r.body);
}

#[tokio::test]
async fn a_grading_period_of_another_type_is_refused() {
    let app = TestApp::spawn().await;
    let mut body = grading_period("gp-1", "Q1");
    body["type"] = "semester".into();
    let r = app.post("gradingPeriods", json!({"academicSession": body})).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"].as_str().unwrap().starts_with("type:"),
        "{}",
        r.body
    );
    app.get("academicSessions/gp-1").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn a_grading_period_is_created_for_a_term() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("academicSessions", "academicSession", session("term-1", "term"))
        .await;
    let mut body = grading_period("gp-1", "Q1");
    body.as_object_mut().unwrap().remove("type");
    let r = app
        .post("terms/term-1/gradingPeriods", json!({"academicSession": body}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let period = &r.body["academicSession"];
    assert_eq!(period["sourcedId"], "gp-1", "{}", r.body);
    assert_eq!(period["type"], "gradingPeriod");
    assert_eq!(period["parent"]["sourcedId"], "term-1");
    let r = app.get("gradingPeriods/gp-1").await;
    assert_eq!(r.body["gradingPeriod"]["parent"]["sourcedId"], "term-1", "{}", r.body);
}

#[tokio::test]
async fn a_grading_period_for_a_missing_term_or_another_parent_is_refused() {
    let app = TestApp::spawn().await;
    app.create("academicSessions", "academicSession", session("year-1", "schoolYear"))
        .await;
    app.create("academicSessions", "academicSession", session("term-1", "term"))
        .await;
    let body = json!({"academicSession": grading_period("gp-1", "Q1")});
    app.post("terms/nowhere/gradingPeriods", body.clone())
        .await
        .assert_imsx(404, "unknownobject");
    app.post("terms/year-1/gradingPeriods", body.clone())
        .await
        .assert_imsx(404, "unknownobject");
    let mut other = grading_period("gp-1", "Q1");
    other["parent"] = json!({"sourcedId": "year-1"});
    let r = app
        .post("terms/term-1/gradingPeriods", json!({"academicSession": other}))
        .await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"].as_str().unwrap().starts_with("parent:"),
        "{}",
        r.body
    );
    app.get("academicSessions/gp-1").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn view_wrappers_follow_the_profile() {
    for (profile, list, one) in [
        (Profile::Timeback, "terms", "term"),
        (Profile::OneRoster, "academicSessions", "academicSession"),
    ] {
        let app = TestApp::spawn_with(profile).await;
        let r = app
            .post(
                "academicSessions",
                json!({"academicSession": session("term-1", "term")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let r = app.get("terms").await;
        assert_eq!(r.ids(list), ["term-1"], "{profile:?}");
        let r = app.get("terms/term-1").await;
        assert_eq!(r.body[one]["sourcedId"], "term-1", "{profile:?}: {}", r.body);
        let r = app.get("gradingPeriods").await;
        let wrapper = if profile == Profile::OneRoster {
            "academicSessions"
        } else {
            "gradingPeriods"
        };
        assert!(r.body[wrapper].is_array(), "{profile:?}: {}", r.body);
        // Schools answer as orgs in both.
        assert!(app.get("schools").await.body["orgs"].is_array());
    }
}

#[tokio::test]
async fn students_and_teachers_views_stay_read_only() {
    let app = TestApp::spawn().await;
    for path in ["students", "teachers", "terms"] {
        let r = app.post(path, json!({"user": {}})).await;
        assert_eq!(r.status, 405, "{path}: {}", r.body);
    }
}
