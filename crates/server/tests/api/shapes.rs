//! TimeBack's shapes (2025-12 document) in the default profile: every
//! documented create body is accepted and read back, and every read
//! validates against the document's response schema, nullable required
//! fields emitted as `null`.

use serde_json::{Value, json};

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
        ("orgs/", "orgs", json!({"org": {"sourcedId": "district-1", "name": "Metro", "type": "district"}})),
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
            "terms/",
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
            "students/",
            "users",
            json!({"user": {"sourcedId": "stu-2", "enabledUser": "true", "givenName": "Alan",
                   "familyName": "Turing", "email": "alan@example.org",
                   "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}}),
        ),
        (
            "teachers/",
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
        ("demographics/", "demographics", json!({"demographics": {"sourcedId": "stu-1"}})),
    ]
}

/// Posts every documented create body (each first checked against the
/// document's own request schema, so the body is one TimeBack documents)
/// and returns those refused.
async fn create_all(app: &TestApp, doc: &Value) -> Vec<String> {
    let mut refused = Vec::new();
    for (documented, collection, body) in documented_creates() {
        let problems = errors(doc, request_schema(doc, documented, "post"), &body);
        assert!(problems.is_empty(), "not a documented body for POST {documented}: {problems:#?}");
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

/// What the 2025-12 response schemas require that Rollcall cannot give:
/// an enrollment's `course` is its class's course, which the enrollment
/// does not store (the 1.2 enrollment has no `course`).
const KNOWN_GAPS: &[&str] = &["\"course\" is a required property"];

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
        let problems: Vec<String> = errors(&doc, response_schema(&doc, path), &r.body)
            .into_iter()
            .filter(|e| !(path.starts_with("enrollments") && KNOWN_GAPS.iter().any(|g| e.contains(g))))
            .collect();
        if !problems.is_empty() {
            invalid.push(format!("GET {path}: {problems:#?}\n{:#}", r.body));
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
        ("classes", "class", "class-1", &["classCode", "classType", "location"][..]),
        ("enrollments", "enrollment", "enr-1", &["primary", "beginDate", "endDate"][..]),
        ("orgs", "org", "district-1", &["children"][..]),
        (
            "demographics",
            "demographics",
            "stu-1",
            &["birthDate", "sex", "asian", "white", "cityOfBirth", "publicSchoolResidenceStatus"][..],
        ),
    ];
    for (collection, wrapper, id, fields) in expect_null {
        let one = app.get(&format!("{collection}/{id}")).await.body;
        let list = app.get(collection).await.body;
        let listed = list[collection].as_array().unwrap().iter().find(|r| r["sourcedId"] == id).unwrap();
        for field in fields {
            for record in [&one[wrapper], listed] {
                assert_eq!(record.get(*field), Some(&Value::Null), "{collection} {field}: {record}");
            }
        }
    }
}
