//! The strict 1.2 profile against the official 1EdTech schemas: every read
//! of every rostering resource must validate against the published OpenAPI
//! components (`additionalProperties: false`, string booleans, GUIDRefs),
//! and so must error bodies. The validator is shown to reject a bad
//! document, so a pass means something. Also: TimeBack April 2025's
//! boolean `enabledUser`.

use rollcall_server::Profile;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, org};

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/");

/// The `components` object of one of the official OpenAPI files.
fn components(file: &str) -> Value {
    let path = format!("{SPECS}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the official OneRoster schema file is required for these tests and was not found at {path} ({e}); \
             clone the `shared` repository beside this one"
        )
    });
    let doc: Value = serde_json::from_str(&text).expect("the spec file is JSON");
    doc["components"].clone()
}

fn rostering() -> Value {
    components("oneroster-1p2-rostering-openapi.json")
}

/// A validator for `#/components/schemas/<name>` with every internal `$ref`
/// resolvable. OpenAPI 3.0 schemas are a draft-4/7 dialect; formats are checked.
fn validator(components: &Value, name: &str) -> jsonschema::Validator {
    assert!(components["schemas"][name].is_object(), "no schema {name} in the spec");
    let root = json!({"components": components, "$ref": format!("#/components/schemas/{name}")});
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("building a validator for {name}: {e}"))
}

fn errors(components: &Value, name: &str, instance: &Value) -> Vec<String> {
    validator(components, name)
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[track_caller]
fn assert_valid(components: &Value, name: &str, instance: &Value) {
    let errors = errors(components, name, instance);
    assert!(errors.is_empty(), "not a valid {name}: {errors:#?}\n{instance:#}");
}

/// GETs `path` (200) and validates the body against `schema`.
async fn check(app: &TestApp, c: &Value, path: &str, schema: &str) -> Reply {
    let r = app.get(path).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    assert_valid(c, schema, &r.body);
    r
}

/// Creates through the API; in this profile the 201 body is the 1.2
/// gradebook `GUIDPairSetDType` (an array of pairs).
async fn make(app: &TestApp, collection: &str, wrapper: &str, record: Value) {
    let r = app.post(collection, json!({ wrapper: record })).await;
    assert_eq!(r.status, 201, "creating {collection}: {}", r.body);
    let gradebook = components("oneroster-1p2-gradebook-openapi.json");
    assert_valid(&gradebook, "GUIDPairSetDType", &r.body);
}

/// A user with every TimeBack extra the strict profile must drop or convert.
fn timeback_user() -> Value {
    json!({
        "sourcedId": "stu-1", "enabledUser": true, "givenName": "Ada", "familyName": "Lovelace",
        "email": "ada@example.org", "password": "correct horse battery",
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"},
                   "metadata": {"alphaLevelAccess": "full"}}],
        "primaryOrg": {"sourcedId": "school-1"},
        "metadata": {"isTestUser": true, "onboarding": {"step": 2}},
        "userIds": [{"type": "LDAP", "identifier": "ada"}],
        "grades": [5, 6],
        "agents": [{"sourcedId": "tea-1"}],
        "userProfiles": [{"profileId": "urn:example:profile:1", "profileType": "lms", "vendorId": "v1",
                          "credentials": [{"type": "password", "username": "ada", "password": "hunter2"}]}],
    })
}

#[tokio::test]
async fn users_validate_and_drop_timeback_extras() {
    let app = TestApp::spawn_with(Profile::OneRoster).await;
    let c = rostering();
    make(&app, "orgs", "org", org("school-1", "North High")).await;
    // The teacher first: the student names her as an agent.
    let teacher = json!({"sourcedId": "tea-1", "enabledUser": "false", "givenName": "Grace",
        "familyName": "Hopper", "roles": [{"roleType": "primary", "role": "teacher",
        "org": {"sourcedId": "school-1"}}]});
    make(&app, "users", "user", teacher).await;
    make(&app, "users", "user", timeback_user()).await;

    check(&app, &c, "users", "UserSetDType").await;
    check(&app, &c, "users/", "UserSetDType").await;
    check(&app, &c, "students", "UserSetDType").await;
    check(&app, &c, "teachers", "UserSetDType").await;
    check(&app, &c, "users/tea-1", "SingleUserDType").await;
    let r = check(&app, &c, "users/stu-1", "SingleUserDType").await;
    let u = &r.body["user"];
    assert_eq!(u["enabledUser"], "true", "1.2 booleans are strings");
    assert_eq!(u["grades"], json!(["5", "6"]));
    assert!(u["roles"][0].get("metadata").is_none(), "{u}");
    assert!(u["primaryOrg"].get("name").is_none(), "{u}");
    assert_eq!(u["primaryOrg"]["type"], "org");
    assert!(u.get("password").is_none(), "{u}");
    assert!(u["userProfiles"][0]["credentials"][0].get("password").is_none(), "{u}");
    assert_eq!(u["metadata"]["onboarding"]["step"], 2, "user metadata is 1.2's own");
    assert_eq!(u["agents"][0]["type"], "user");
    assert_eq!(app.get("users/tea-1").await.body["user"]["enabledUser"], "false");
}

#[tokio::test]
async fn every_rostering_read_validates() {
    let app = TestApp::spawn_with(Profile::OneRoster).await;
    let c = rostering();
    let mut district = org("district-1", "Metro");
    district["type"] = "district".into();
    district["children"] = json!([{"sourcedId": "school-1"}]);
    make(&app, "orgs", "org", district).await;
    let mut school = org("school-1", "North High");
    school["parent"] = json!({"sourcedId": "district-1"});
    school["metadata"] = json!({"region": "north"});
    make(&app, "orgs", "org", school).await;
    let session = |id: &str, kind: &str| {
        json!({"sourcedId": id, "title": id, "type": kind, "startDate": "2026-08-15",
               "endDate": "2027-06-15", "schoolYear": "2027"})
    };
    let mut year = session("year-1", "schoolYear");
    year["children"] = json!([{"sourcedId": "term-1"}]);
    make(&app, "academicSessions", "academicSession", year).await;
    let mut term = session("term-1", "term");
    term["parent"] = json!({"sourcedId": "year-1"});
    make(&app, "academicSessions", "academicSession", term).await;
    make(
        &app,
        "courses",
        "course",
        json!({"sourcedId": "course-1", "title": "Algebra",
        "courseCode": "ALG1", "grades": [9, "10"], "subjects": ["math"], "org": {"sourcedId": "school-1"},
        "schoolYear": {"sourcedId": "year-1"}, "subjectCodes": ["MA1"]}),
    )
    .await;
    make(
        &app,
        "classes",
        "class",
        json!({"sourcedId": "class-1", "title": "Algebra 1A",
        "classCode": "ALG-1A", "classType": "scheduled", "location": "Room 4", "grades": [9],
        "subjects": ["math"], "periods": ["1"], "course": {"sourcedId": "course-1"},
        "school": {"sourcedId": "school-1"}, "terms": [{"sourcedId": "term-1"}]}),
    )
    .await;
    make(
        &app,
        "users",
        "user",
        json!({"sourcedId": "stu-1", "enabledUser": true,
        "givenName": "Ada", "familyName": "Lovelace",
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}),
    )
    .await;
    make(
        &app,
        "enrollments",
        "enrollment",
        json!({"sourcedId": "enr-1",
        "user": {"sourcedId": "stu-1"}, "class": {"sourcedId": "class-1"},
        "school": {"sourcedId": "school-1"}, "role": "student", "primary": false,
        "beginDate": "2026-08-15", "endDate": "2027-06-15"}),
    )
    .await;
    make(
        &app,
        "demographics",
        "demographics",
        json!({"sourcedId": "stu-1",
        "birthDate": "2012-03-04", "sex": "female", "asian": true, "white": "false",
        "hispanicOrLatinoEthnicity": false, "countryOfBirthCode": "US", "cityOfBirth": "Austin"}),
    )
    .await;

    for (path, schema) in [
        ("orgs", "OrgSetDType"),
        ("orgs/district-1", "SingleOrgDType"),
        ("orgs/school-1", "SingleOrgDType"),
        ("schools", "OrgSetDType"),
        ("schools/school-1", "SingleOrgDType"),
        ("academicSessions", "AcademicSessionSetDType"),
        ("academicSessions/year-1", "SingleAcademicSessionDType"),
        ("academicSessions/term-1", "SingleAcademicSessionDType"),
        ("terms", "AcademicSessionSetDType"),
        ("courses", "CourseSetDType"),
        ("courses/course-1", "SingleCourseDType"),
        ("classes", "ClassSetDType"),
        ("classes/class-1", "SingleClassDType"),
        ("users/stu-1/classes", "ClassSetDType"),
        ("enrollments", "EnrollmentSetDType"),
        ("enrollments/enr-1", "SingleEnrollmentDType"),
        ("demographics", "DemographicsSetDType"),
        ("demographics/stu-1", "SingleDemographicsDType"),
    ] {
        check(&app, &c, path, schema).await;
    }
    let d = app.get("demographics/stu-1").await;
    assert_eq!(d.body["demographics"]["asian"], "true");
    assert_eq!(d.body["demographics"]["hispanicOrLatinoEthnicity"], "false");
    let e = app.get("enrollments/enr-1").await;
    assert_eq!(e.body["enrollment"]["primary"], "false");

    // Soft-deleted records still validate.
    assert_eq!(app.delete("classes/class-1").await.status, 204);
    let r = check(&app, &c, "classes/class-1", "SingleClassDType").await;
    assert_eq!(r.body["class"]["status"], "tobedeleted");
}

#[tokio::test]
async fn strict_list_bodies_carry_no_totals_but_headers_remain() {
    let app = TestApp::spawn_with(Profile::OneRoster).await;
    make(&app, "orgs", "org", org("school-1", "North High")).await;
    make(&app, "orgs", "org", org("school-2", "South High")).await;
    make(&app, "orgs", "org", org("school-3", "East High")).await;
    let r = app.get("orgs?limit=2&offset=0").await;
    assert_eq!(r.status, 200);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["orgs"], "{}", r.body);
    assert_eq!(r.body["orgs"].as_array().unwrap().len(), 2);
    assert_eq!(r.header("x-total-count"), Some("3"));
    let link = r.header("link").expect("Link header");
    assert!(link.contains("rel=\"next\"") && link.contains("offset=2"), "{link}");
    assert_valid(&rostering(), "OrgSetDType", &r.body);
}

#[tokio::test]
async fn the_validator_rejects_documents_that_break_the_schema() {
    let c = rostering();
    assert!(!errors(&c, "UserSetDType", &json!({"users": [{"foo": 1}]})).is_empty());
    assert!(!errors(&c, "UserSetDType", &json!({"users": [], "totalCount": 0})).is_empty());
    let good = json!({"user": {"sourcedId": "u1", "status": "active",
        "dateLastModified": "2026-01-02T03:04:05.000Z", "enabledUser": "true", "givenName": "A",
        "familyName": "B", "roles": [{"roleType": "primary", "role": "student",
        "org": {"href": "http://h/orgs/o1", "sourcedId": "o1", "type": "org"}}]}});
    assert_valid(&c, "SingleUserDType", &good);
    let broken = |pointer: &str, value: Value| {
        let mut doc = good.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        doc
    };
    for doc in [
        broken("/user/enabledUser", json!(true)),
        broken("/user/roles/0/org/type", json!("user")),
        broken("/user/roles/0/role", json!("wizard")),
        broken("/user/dateLastModified", json!("yesterday")),
        broken("/user/roles", json!([])),
    ] {
        assert!(!errors(&c, "SingleUserDType", &doc).is_empty(), "accepted {doc}");
    }
    let mut extra = good.clone();
    extra["user"]["roles"][0]["metadata"] = json!({});
    assert!(
        !errors(&c, "SingleUserDType", &extra).is_empty(),
        "accepted roles[].metadata"
    );
}

#[tokio::test]
async fn error_bodies_validate_as_imsx_status_info() {
    let app = TestApp::spawn_with(Profile::OneRoster).await;
    let c = rostering();
    let cases = [
        ("users/nobody", 404, "unknownobject"),
        ("schools/nowhere", 404, "unknownobject"),
        ("users?filter=shoeSize%3D%279%27", 400, "invalid_filter_field"),
        ("users?fields=password", 400, "invalid_selection_field"),
        ("users?limit=0", 400, "invaliddata"),
    ];
    for (path, status, code) in cases {
        let r = app.get(path).await;
        r.assert_imsx(status, code);
        assert_valid(&c, "imsx_StatusInfoDType", &r.body);
    }
    let r = app
        .post("orgs", json!({"org": {"sourcedId": "x", "type": "school"}}))
        .await;
    r.assert_imsx(422, "invaliddata");
    assert_valid(&c, "imsx_StatusInfoDType", &r.body);
    let r = app.send(app.http.get(app.url("users"))).await;
    r.assert_imsx(401, "unauthorisedrequest");
    assert_valid(&c, "imsx_StatusInfoDType", &r.body);
}

#[tokio::test]
async fn timeback_2025_04_profile_sends_boolean_enabled_user() {
    let app = TestApp::spawn_with(Profile::Timeback202504).await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    let mut user = timeback_user();
    user["agents"] = json!([]);
    app.create("users", "user", user).await;
    app.create(
        "users",
        "user",
        json!({"sourcedId": "tea-1", "enabledUser": "false", "givenName": "Grace",
        "familyName": "Hopper", "roles": [{"roleType": "primary", "role": "teacher",
        "org": {"sourcedId": "school-1"}}]}),
    )
    .await;
    let r = app.get("users/stu-1").await;
    assert_eq!(r.body["user"]["enabledUser"], json!(true), "{}", r.body);
    assert_eq!(app.get("users/tea-1").await.body["user"]["enabledUser"], json!(false));
    let list = app.get("users?sort=sourcedId").await;
    let flags: Vec<&Value> = list.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["enabledUser"])
        .collect();
    assert_eq!(flags, [&json!(true), &json!(false)]);
    // Still TimeBack otherwise: body totals and the primaryOrg name.
    assert_eq!(list.body["totalCount"], 2);
    assert_eq!(r.body["user"]["primaryOrg"]["name"], "North High");

    // The default TimeBack profile keeps 1.2's string.
    let dec = TestApp::spawn().await;
    dec.add_school().await;
    dec.create("users", "user", crate::helpers::user("u1", "A", "B")).await;
    assert_eq!(dec.get("users/u1").await.body["user"]["enabledUser"], "true");
}
