//! A refused body reports every problem at once, each at its JSON path:
//! in `imsx_description`, and one `imsx_codeMinorField` per problem after
//! `TargetEndSystem`, named by the path. Nothing is written.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, user};

/// The paths the codeMinor fields name after `TargetEndSystem`, each
/// checked to carry `invaliddata`.
#[track_caller]
fn problem_paths(r: &Reply) -> Vec<String> {
    r.assert_imsx(422, "invaliddata");
    let fields = r.body["imsx_CodeMinor"]["imsx_codeMinorField"].as_array().unwrap();
    fields[1..]
        .iter()
        .map(|f| {
            assert_eq!(f["imsx_codeMinorFieldValue"], "invaliddata", "{f}");
            f["imsx_codeMinorFieldName"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn description(r: &Reply) -> &str {
    r.body["imsx_description"].as_str().unwrap()
}

#[tokio::test]
async fn an_empty_user_names_every_required_field_at_once() {
    let app = TestApp::spawn().await;
    let r = app.post("users", json!({ "user": {} })).await;
    assert_eq!(
        problem_paths(&r),
        ["user.enabledUser", "user.givenName", "user.familyName", "user.roles"]
    );
    assert_eq!(
        description(&r),
        "4 problems: user.enabledUser: required, but missing; user.givenName: required, but missing; \
         user.familyName: required, but missing; user.roles: required, but missing"
    );
    assert_eq!(app.get("users").await.body["totalCount"], 0);
}

#[tokio::test]
async fn problems_of_values_name_their_element_and_rule() {
    let app = TestApp::spawn().await;
    let body = json!({ "user": { "sourcedId": " padded", "enabledUser": "maybe", "givenName": "Ada",
        "familyName": 7, "roles": [
            { "roleType": "primary", "role": "pupil", "org": { "sourcedId": "school-1" } },
            { "role": "teacher", "org": { "sourcedId": "school-1" } }] } });
    let r = app.post("users", body).await;
    assert_eq!(
        problem_paths(&r),
        [
            "user.sourcedId",
            "user.enabledUser",
            "user.familyName",
            "user.roles[0].role",
            "user.roles[1].roleType"
        ]
    );
    let text = description(&r);
    assert!(text.starts_with("5 problems: user.sourcedId: "), "{text}");
    assert!(
        text.contains("user.roles[0].role: unknown RoleName 'pupil', expected one of aide"),
        "{text}"
    );
    assert!(text.contains("user.roles[1].roleType: required, but missing"), "{text}");
    assert!(text.contains("user.enabledUser: expected true or false"), "{text}");
    assert_eq!(app.get("users").await.body["totalCount"], 0);
}

#[tokio::test]
async fn replace_and_patch_report_every_problem_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let before = app.get("users/u1").await.body;

    let mut replaced = user("u1", "Ann", "Lee");
    replaced["givenName"] = Value::Null;
    replaced["roles"][0]["org"] = json!("school-1");
    let r = app.put("users/u1", json!({ "user": replaced })).await;
    assert_eq!(problem_paths(&r), ["user.givenName", "user.roles[0].org"]);

    let r = app
        .patch("users/u1", json!({ "user": { "enabledUser": 3, "grades": [true] } }))
        .await;
    assert_eq!(problem_paths(&r), ["user.enabledUser", "user.grades[0]"]);
    assert_eq!(app.get("users/u1").await.body, before);
}

#[tokio::test]
async fn every_resource_reports_its_missing_fields_together() {
    let app = TestApp::spawn().await;
    let r = app.post("orgs", json!({ "org": {} })).await;
    assert_eq!(problem_paths(&r), ["org.name", "org.type"]);
    let r = app
        .post("enrollments", json!({ "enrollment": { "role": "pupil" } }))
        .await;
    let paths = problem_paths(&r);
    for path in ["enrollment.role", "enrollment.user", "enrollment.class"] {
        assert!(paths.iter().any(|p| p == path), "{path} not in {paths:?}");
    }
}

#[tokio::test]
async fn a_sort_typo_lists_the_fields_it_sorts_by() {
    let app = TestApp::spawn().await;
    let r = app.get("users?sort=famlyName").await;
    r.assert_imsx(400, "invaliddata");
    let text = description(&r);
    assert!(text.contains("'famlyName'") && text.contains("familyName, "), "{text}");
}
