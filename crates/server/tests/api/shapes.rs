//! TimeBack's shapes (2025-12 document) in the default profile: every
//! documented create body is accepted and read back, and every read
//! validates against the document's response schema, nullable required
//! fields emitted as `null`.

use serde_json::{Value, json};

use rollcall_server::Profile;

use crate::helpers::TestApp;

const TIMEBACK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/specs/timeback-oneroster-openapi-2025-12.json"
);
const API: &str = "/ims/oneroster/rostering/v1p2/";

fn timeback() -> Value {
    let text = std::fs::read_to_string(TIMEBACK).expect("the TimeBack 2025-12 document");
    serde_json::from_str(&text).expect("the spec file is JSON")
}

/// The operation `(path, method)` of the document, by its full path below the API base.
fn operation<'d>(doc: &'d Value, path: &str, method: &str) -> &'d Value {
    let op = &doc["paths"][format!("{API}{path}")][method];
    assert!(op.is_object(), "no {method} {path} in the TimeBack document");
    op
}

/// A validator for one schema of the document, with its internal `$ref`s resolvable.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({"components": doc["components"], "allOf": [schema]});
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&root)
        .expect("a valid schema")
}

fn errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    validator(doc, schema)
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The 200 body schema of `GET path`.
fn response_schema<'d>(doc: &'d Value, path: &str) -> &'d Value {
    &operation(doc, path, "get")["responses"]["200"]["content"]["application/json"]["schema"]
}

/// The request body schema of `method path`.
fn request_schema<'d>(doc: &'d Value, path: &str, method: &str) -> &'d Value {
    &operation(doc, path, method)["requestBody"]["content"]["application/json"]["schema"]
}

/// Create bodies holding only what the document requires (plus a
/// sourcedId, to read them back), in dependency order: the path the
/// document posts them to, and the collection they are created in (the
/// views' own POSTs are another change's).
fn documented_creates() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "orgs/",
            "orgs",
            json!({"org": {"sourcedId": "district-1", "name": "Metro", "type": "district"}}),
        ),
        (
            "schools/",
            "orgs",
            json!({"org": {"sourcedId": "school-1", "name": "North High", "type": "school",
                           "parent": {"sourcedId": "district-1"}}}),
        ),
        (
            "academicSessions/",
            "academicSessions",
            json!({"academicSession": {"sourcedId": "year-1", "status": "active", "title": "2026-27",
                   "startDate": "2026-08-15", "endDate": "2027-06-15", "type": "schoolYear",
                   "schoolYear": "2027", "org": {"sourcedId": "school-1"}}}),
        ),
        (
            "academicSessions/",
            "academicSessions",
            json!({"academicSession": {"sourcedId": "term-1", "status": "active", "title": "Fall",
                   "startDate": "2026-08-15", "endDate": "2026-12-20", "type": "term",
                   "schoolYear": "2027", "org": {"sourcedId": "school-1"},
                   "parent": {"sourcedId": "year-1"}}}),
        ),
        (
            "courses/",
            "courses",
            json!({"course": {"sourcedId": "course-1", "status": "active", "title": "Algebra",
                   "org": {"sourcedId": "school-1"}}}),
        ),
        (
            "classes/",
            "classes",
            json!({"class": {"sourcedId": "class-1", "title": "Algebra 1A",
                   "course": {"sourcedId": "course-1"}, "org": {"sourcedId": "school-1"},
                   "terms": [{"sourcedId": "term-1"}]}}),
        ),
        (
            "users/",
            "users",
            json!({"user": {"sourcedId": "stu-1", "enabledUser": true, "givenName": "Ada",
                   "familyName": "Lovelace", "email": "ada@example.org",
                   "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}}),
        ),
        (
            "users/",
            "users",
            json!({"user": {"sourcedId": "stu-2", "enabledUser": "true", "givenName": "Alan",
                   "familyName": "Turing", "email": "alan@example.org",
                   "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}}),
        ),
        (
            "users/",
            "users",
            json!({"user": {"sourcedId": "tea-1", "enabledUser": true, "givenName": "Grace",
                   "familyName": "Hopper", "email": "grace@example.org",
                   "roles": [{"roleType": "primary", "role": "teacher", "org": {"sourcedId": "school-1"}}]}}),
        ),
        (
            "enrollments/",
            "enrollments",
            json!({"enrollment": {"sourcedId": "enr-1", "role": "student",
                   "user": {"sourcedId": "stu-1"}, "class": {"sourcedId": "class-1"}}}),
        ),
        (
            "demographics/",
            "demographics",
            json!({"demographics": {"sourcedId": "stu-1"}}),
        ),
    ]
}

/// Posts every documented create body (each first checked against the
/// document's own request schema, so the body is one TimeBack documents)
/// and returns those refused.
async fn create_all(app: &TestApp, doc: &Value) -> Vec<String> {
    let mut refused = Vec::new();
    for (documented, collection, body) in documented_creates() {
        let problems = errors(doc, request_schema(doc, documented, "post"), &body);
        assert!(
            problems.is_empty(),
            "not a documented body for POST {documented}: {problems:#?}"
        );
        let r = app.post(collection, body).await;
        if r.status != 201 {
            refused.push(format!("POST {documented}: {} {}", r.status, r.body));
        }
    }
    refused
}

#[tokio::test]
async fn every_documented_create_body_is_accepted_and_read_back() {
    let app = TestApp::spawn().await;
    let doc = timeback();
    let refused = create_all(&app, &doc).await;
    assert!(refused.is_empty(), "refused: {refused:#?}");
    for (path, id) in [
        ("orgs", "district-1"),
        ("schools", "school-1"),
        ("academicSessions", "year-1"),
        ("terms", "term-1"),
        ("courses", "course-1"),
        ("classes", "class-1"),
        ("users", "stu-1"),
        ("students", "stu-2"),
        ("teachers", "tea-1"),
        ("enrollments", "enr-1"),
        ("demographics", "stu-1"),
    ] {
        let r = app.get(&format!("{path}/{id}")).await;
        assert_eq!(r.status, 200, "GET {path}/{id}: {}", r.body);
    }
}

/// Where the 2025-12 document contradicts itself or asks for what is not
/// stored, by the path it happens under: a class created without
/// `classType` (optional in createClass) is read back with `null`, which
/// getClass's schema does not allow; an enrollment's `course` is its
/// class's course, which the enrollment does not store (1.2's has none).
const KNOWN_GAPS: &[(&str, &str)] = &[
    ("classes", "classType: null is not"),
    ("enrollments", "\"course\" is a required property"),
];

/// `/terms` answers under `academicSessions`/`academicSession` today (the
/// views' wrappers are another change's); its records are checked under
/// the names the document gives them.
fn as_documented(path: &str, mut body: Value) -> Value {
    if path.starts_with("terms") {
        let m = body.as_object_mut().unwrap();
        for (from, to) in [("academicSessions", "terms"), ("academicSession", "term")] {
            if let Some(v) = m.shift_remove(from) {
                m.insert(to.into(), v);
            }
        }
    }
    body
}

/// Every read, list and single, of every resource validates against the
/// 2025-12 response schema of its operation.
#[tokio::test]
async fn every_read_validates_against_the_timeback_response_schemas() {
    let app = TestApp::spawn().await;
    let doc = timeback();
    assert!(create_all(&app, &doc).await.is_empty());
    let mut invalid = Vec::new();
    for path in [
        "orgs/",
        "orgs/{sourcedId}",
        "schools/",
        "schools/{sourcedId}",
        "academicSessions/",
        "academicSessions/{sourcedId}",
        "terms/",
        "terms/{sourcedId}",
        "courses/",
        "courses/{sourcedId}",
        "classes/",
        "classes/{sourcedId}",
        "users/",
        "users/{sourcedId}",
        "students/",
        "teachers/",
        "enrollments/",
        "enrollments/{sourcedId}",
        "demographics/",
        "demographics/{sourcedId}",
    ] {
        let id = match path.split('/').next().unwrap() {
            "orgs" => "district-1",
            "schools" => "school-1",
            "academicSessions" => "year-1",
            "terms" => "term-1",
            "courses" => "course-1",
            "classes" => "class-1",
            "enrollments" => "enr-1",
            _ => "stu-1",
        };
        let r = app.get(&path.replace("{sourcedId}", id)).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        let body = as_documented(path, r.body);
        let problems: Vec<String> = errors(&doc, response_schema(&doc, path), &body)
            .into_iter()
            .filter(|e| !KNOWN_GAPS.iter().any(|(p, gap)| path.starts_with(p) && e.contains(gap)))
            .collect();
        if !problems.is_empty() {
            invalid.push(format!("GET {path}: {problems:#?}\n{body:#}"));
        }
    }
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
}

/// Nullable fields TimeBack's responses require are sent as `null`, in
/// single reads and in list pages (the text path) alike.
#[tokio::test]
async fn required_nullable_fields_are_emitted_as_null() {
    let app = TestApp::spawn().await;
    let doc = timeback();
    assert!(create_all(&app, &doc).await.is_empty());
    let expect_null = [
        (
            "classes",
            "class",
            "class-1",
            &["classCode", "classType", "location"][..],
        ),
        (
            "enrollments",
            "enrollment",
            "enr-1",
            &["primary", "beginDate", "endDate"][..],
        ),
        (
            "demographics",
            "demographics",
            "stu-1",
            &[
                "birthDate",
                "sex",
                "asian",
                "white",
                "cityOfBirth",
                "publicSchoolResidenceStatus",
            ][..],
        ),
    ];
    for (collection, wrapper, id, fields) in expect_null {
        let one = app.get(&format!("{collection}/{id}")).await.body;
        let list = app.get(collection).await.body;
        let listed = list[collection]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["sourcedId"] == id)
            .unwrap();
        for field in fields {
            for record in [&one[wrapper], listed] {
                assert_eq!(record.get(*field), Some(&Value::Null), "{collection} {field}: {record}");
            }
        }
    }
}

/// A class posted with TimeBack's `org` is stored with 1.2's `school`, so
/// it reads back, filters and lists by school like any other.
#[tokio::test]
async fn a_class_posted_with_org_is_stored_with_school() {
    let app = TestApp::spawn().await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    let class = &app.get("classes/class-1").await.body["class"];
    assert_eq!(class["school"]["sourcedId"], "school-1", "{class}");
    assert_eq!(class["school"]["type"], "org");
    assert!(class.get("org").is_none(), "{class}");
    let r = app.get("classes?filter=school.sourcedId%3D%27school-1%27").await;
    assert_eq!(r.body["classes"].as_array().unwrap().len(), 1, "{}", r.body);
}

/// An enrollment posted without `school` gets its class's school.
#[tokio::test]
async fn an_enrollment_without_school_gets_its_classes_school() {
    let app = TestApp::spawn().await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    let e = &app.get("enrollments/enr-1").await.body["enrollment"];
    assert_eq!(e["school"]["sourcedId"], "school-1", "{e}");
}

/// An org without `identifier` reads back with `""` (TimeBack's and 1.2's
/// responses require a string), and with `children: []` (an array, as
/// TimeBack's responses require).
#[tokio::test]
async fn an_org_without_identifier_reads_back_with_an_empty_one() {
    let app = TestApp::spawn().await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    let org = &app.get("orgs/district-1").await.body["org"];
    assert_eq!(org["identifier"], "", "{org}");
    assert_eq!(org.get("children"), Some(&serde_json::json!([])), "{org}");
}

/// An academic session keeps its `org`, takes `schoolYear` as a number or
/// a string, and reads back with a number in TimeBack's profiles and 1.2's
/// string (and no `org`) in the strict one.
#[tokio::test]
async fn an_academic_session_keeps_its_org_and_its_year_is_a_number() {
    for (profile, year, has_org) in [
        (Profile::Timeback, json!(2027), true),
        (Profile::OneRoster, json!("2027"), false),
    ] {
        let app = TestApp::spawn_with(profile).await;
        let org = json!({"org": {"sourcedId": "school-1", "name": "N", "type": "school"}});
        assert_eq!(app.post("orgs", org).await.status, 201);
        let session = json!({"sourcedId": "year-1", "title": "2026-27", "type": "schoolYear",
            "startDate": "2026-08-15", "endDate": "2027-06-15", "schoolYear": 2027,
            "org": {"sourcedId": "school-1"}});
        let r = app
            .post("academicSessions", json!({ "academicSession": session }))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let one = &app.get("academicSessions/year-1").await.body["academicSession"];
        let listed = &app.get("academicSessions").await.body["academicSessions"][0];
        for s in [one, listed] {
            assert_eq!(s["schoolYear"], year, "{profile:?} {s}");
            assert_eq!(s.get("org").is_some(), has_org, "{profile:?} {s}");
        }
        if has_org {
            assert_eq!(one["org"]["sourcedId"], "school-1");
            assert_eq!(one["org"]["type"], "org");
        }
    }
}

/// TimeBack's list bodies carry `total` (seed 003) beside `totalCount`.
#[tokio::test]
async fn list_bodies_carry_total() {
    let app = TestApp::spawn().await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    let r = app.get("orgs?limit=1").await;
    assert_eq!(r.body["total"], 2, "{}", r.body);
    assert_eq!(r.body["totalCount"], 2);
}

/// The strict profile sends none of the nulls TimeBack's profile does.
#[tokio::test]
async fn the_strict_profile_sends_no_nulls() {
    let app = TestApp::spawn_with(Profile::OneRoster).await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    for path in [
        "classes/class-1",
        "enrollments/enr-1",
        "orgs/district-1",
        "demographics/stu-1",
        "classes",
    ] {
        let body = app.get(path).await.body.to_string();
        assert!(!body.contains("null"), "{path}: {body}");
    }
}

/// Seed 000: a PUT of a user with its demographics embedded stores the
/// demographics record; bad demographics refuse the whole PUT. The body
/// may also come bare (TimeBack's update examples disagree).
#[tokio::test]
async fn put_user_stores_its_embedded_demographics() {
    let app = TestApp::spawn().await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    let user = |demographics: Value| {
        json!({"sourcedId": "stu-2", "enabledUser": true, "givenName": "Alan", "familyName": "Turing",
               "email": "alan@example.org", "metadata": {"onboarding": {}, "isTestUser": true},
               "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"},
                          "metadata": {"alphaLevelAccess": ["full"]}}],
               "demographics": demographics})
    };
    let bad = user(json!({"sourcedId": "stu-2", "birthDate": "yesterday"}));
    app.put("users/stu-2", json!({ "user": bad }))
        .await
        .assert_imsx(422, "invaliddata");
    assert_eq!(app.get("demographics/stu-2").await.status, 404, "nothing written");
    assert_eq!(
        app.get("users/stu-2").await.body["user"]["metadata"].get("isTestUser"),
        None
    );

    let good = user(json!({"sourcedId": "stu-2", "birthDate": "2012-03-04", "asian": "true",
                          "cityOfBirth": "London", "dateLastModified": "2023-11-07T05:31:56Z", "metadata": {}}));
    let r = app.put("users/stu-2", json!({ "user": good })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let embedded = &r.body["user"]["demographics"];
    assert_eq!(embedded["cityOfBirth"], "London", "embedded in the answer: {}", r.body);
    assert_eq!(embedded["asian"], "true");
    let d = &app.get("demographics/stu-2").await.body["demographics"];
    assert_eq!(d["birthDate"], "2012-03-04", "{d}");
    assert_eq!(d["cityOfBirth"], "London");

    let bare = user(json!({"cityOfBirth": "Wilmslow"}));
    let r = app.put("users/stu-2", bare).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &app.get("demographics/stu-2").await.body["demographics"];
    assert_eq!(d["cityOfBirth"], "Wilmslow", "{d}");
    assert_eq!(d["birthDate"], Value::Null, "a PUT replaces the record: {d}");
}

/// TimeBack's user reads embed the demographics record (`null` when there
/// is none); the strict profile, a field selection and a token without the
/// demographics scope get the user alone.
#[tokio::test]
async fn user_reads_embed_demographics() {
    let app = TestApp::spawn().await;
    assert!(create_all(&app, &timeback()).await.is_empty());
    let with = &app.get("users/stu-1").await.body["user"];
    assert_eq!(with["demographics"]["sourcedId"], "stu-1", "{with}");
    assert_eq!(with["demographics"]["birthDate"], Value::Null);
    let without = &app.get("users/stu-2").await.body["user"];
    assert_eq!(without.get("demographics"), Some(&Value::Null), "{without}");
    let selected = &app.get("users/stu-1?fields=sourcedId").await.body["user"];
    assert!(selected.get("demographics").is_none(), "{selected}");
    let roster_only = app.fetch_token(Some("roster-core.readonly")).await;
    let r = app
        .send(app.http.get(app.url("users/stu-1")).bearer_auth(roster_only))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["user"].get("demographics").is_none(), "{}", r.body);

    let strict = TestApp::spawn_with(Profile::OneRoster).await;
    assert!(create_all(&strict, &timeback()).await.is_empty());
    assert!(
        strict.get("users/stu-1").await.body["user"]
            .get("demographics")
            .is_none()
    );
}

/// TimeBack's updateClass body requires nothing and cannot carry the
/// course or school: a PUT without them keeps the stored ones, and
/// replaces the rest.
#[tokio::test]
async fn a_class_put_without_what_updateclass_cannot_carry_keeps_it() {
    let app = TestApp::spawn().await;
    let doc = timeback();
    assert!(create_all(&app, &doc).await.is_empty());
    let body = json!({"class": {"classCode": "ALG-1A", "location": "Room 4"}});
    assert!(errors(&doc, request_schema(&doc, "classes/{sourcedId}", "put"), &body).is_empty());
    let r = app.put("classes/class-1", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let class = &app.get("classes/class-1").await.body["class"];
    assert_eq!(class["title"], "Algebra 1A", "{class}");
    assert_eq!(class["course"]["sourcedId"], "course-1");
    assert_eq!(class["school"]["sourcedId"], "school-1");
    assert_eq!(class["terms"][0]["sourcedId"], "term-1");
    assert_eq!(class["classCode"], "ALG-1A");

    let moved = json!({"class": {"title": "Algebra 1B", "org": {"sourcedId": "district-1"}, "location": null}});
    let r = app.put("classes/class-1", moved).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let class = &app.get("classes/class-1").await.body["class"];
    assert_eq!(class["school"]["sourcedId"], "district-1", "{class}");
    assert_eq!(
        class["classCode"],
        Value::Null,
        "a PUT replaces what it may carry: {class}"
    );
    app.put("classes/no-such-class", json!({"class": {"title": "X"}}))
        .await
        .assert_imsx(404, "unknownobject");
}
