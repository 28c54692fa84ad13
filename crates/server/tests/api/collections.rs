//! The supporting resources (orgs, academicSessions, courses, classes,
//! enrollments, demographics) through the one generic engine: the full
//! create/get/list/replace/patch/soft-delete cycle, validation errors,
//! rendered references, and the views (`/schools`, `/terms`,
//! `/students`, `/teachers`).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::{API, Reply, TestApp, class, enrollment, org, user};

/// One resource's round trip: a valid record, an invalid one, and one field
/// to change with PUT and then with PATCH (another field must survive PATCH).
struct Case {
    collection: &'static str,
    singular: &'static str,
    record: Value,
    invalid: Value,
    field: &'static str,
    put_value: Value,
    patch_value: Value,
    kept: &'static str,
}

fn ids(r: &Reply, wrapper: &str) -> BTreeSet<String> {
    r.body[wrapper]
        .as_array()
        .unwrap_or_else(|| panic!("no '{wrapper}' array in {}", r.body))
        .iter()
        .map(|x| x["sourcedId"].as_str().unwrap().to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The records a case's record refers to (writes refuse references to
/// nothing), in other collections than its own.
async fn create_parents(app: &TestApp, collection: &str) {
    match collection {
        "courses" => app.add_school().await,
        "classes" => {
            app.add_school().await;
            app.create("academicSessions", "academicSession", term("term-1", "term"))
                .await;
            let course = json!({"sourcedId": "course-1", "title": "Algebra", "org": {"sourcedId": "school-1"}});
            app.create("courses", "course", course).await;
        }
        "enrollments" => {
            app.seed_school().await;
            app.create("users", "user", user("stu-1", "Stu", "Dent")).await;
        }
        _ => {}
    }
}

/// Runs the cycle on a fresh server and returns it for further checks.
async fn round_trip(case: Case) -> TestApp {
    let app = TestApp::spawn().await;
    let Case {
        collection, singular, ..
    } = case;
    create_parents(&app, collection).await;
    let id = case.record["sourcedId"].as_str().unwrap().to_owned();
    let item = format!("{collection}/{id}");

    let r = app.post(collection, json!({ singular: case.record })).await;
    assert_eq!(r.status, 201, "create {collection}: {}", r.body);
    assert_eq!(r.body["sourcedIdPairs"]["suppliedSourcedId"], id.as_str(), "{}", r.body);
    assert_eq!(
        r.body["sourcedIdPairs"]["allocatedSourcedId"],
        id.as_str(),
        "{}",
        r.body
    );

    let r = app.get(&item).await;
    assert_eq!(r.status, 200, "get {item}: {}", r.body);
    let got = &r.body[singular];
    assert_eq!(got["sourcedId"], id.as_str(), "wrapper '{singular}': {}", r.body);
    assert_eq!(got["status"], "active");
    assert!(
        got["dateLastModified"].as_str().is_some_and(|d| d.ends_with('Z')),
        "{got}"
    );
    assert_eq!(got[case.kept], case.record[case.kept], "{got}");

    let r = app.get(collection).await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r, collection), set(&[&id]), "list wrapper '{collection}'");
    assert_eq!(r.header("x-total-count"), Some("1"));

    let mut replaced = case.record.clone();
    replaced[case.field] = case.put_value.clone();
    let r = app.put(&item, json!({ singular: replaced })).await;
    assert_eq!(r.status, 200, "put {item}: {}", r.body);
    assert_eq!(r.body[singular][case.field], case.put_value, "{}", r.body);
    let r = app.get(&item).await;
    assert_eq!(r.body[singular][case.field], case.put_value, "PUT is stored");

    let r = app
        .patch(&item, json!({ singular: { case.field: case.patch_value } }))
        .await;
    assert_eq!(r.status, 200, "patch {item}: {}", r.body);
    let r = app.get(&item).await;
    assert_eq!(r.body[singular][case.field], case.patch_value, "PATCH is stored");
    assert_eq!(
        r.body[singular][case.kept], case.record[case.kept],
        "PATCH keeps other fields"
    );

    let before = r.body[singular]["dateLastModified"].clone();
    let r = app.delete(&item).await;
    assert_eq!(r.status, 204, "delete {item}: {}", r.body);
    let r = app.get(&item).await;
    assert_eq!(r.status, 200, "a soft-deleted record stays readable");
    assert_eq!(r.body[singular]["status"], "tobedeleted");
    assert!(r.body[singular]["dateLastModified"].as_str() >= before.as_str());
    let r = app
        .get(&format!("{collection}?filter=status%3D%27tobedeleted%27"))
        .await;
    assert_eq!(ids(&r, collection), set(&[&id]));

    app.get(&format!("{collection}/no-such-{singular}"))
        .await
        .assert_imsx(404, "unknownobject");
    app.delete(&format!("{collection}/no-such-{singular}"))
        .await
        .assert_imsx(404, "unknownobject");
    let r = app.post(collection, json!({ singular: case.invalid })).await;
    r.assert_imsx(422, "invaliddata");
    let r = app
        .get(&format!("{collection}/{}", case.invalid["sourcedId"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 404, "a rejected record is not stored");
    app
}

fn without(mut record: Value, key: &str) -> Value {
    record.as_object_mut().unwrap().remove(key);
    record
}

fn with_field(mut record: Value, key: &str, value: &str) -> Value {
    record[key] = value.into();
    record
}

fn with_id(record: Value, id: &str) -> Value {
    with_field(record, "sourcedId", id)
}

fn term(id: &str, kind: &str) -> Value {
    json!({"sourcedId": id, "title": format!("Session {id}"), "type": kind,
           "startDate": "2026-08-15", "endDate": "2026-12-20", "schoolYear": "2027"})
}

#[tokio::test]
async fn orgs_round_trip() {
    let record = org("school-1", "North High");
    let app = round_trip(Case {
        collection: "orgs",
        singular: "org",
        invalid: with_id(without(record.clone(), "name"), "bad-org"),
        record,
        field: "name",
        put_value: json!("North High School"),
        patch_value: json!("Northern High"),
        kept: "identifier",
    })
    .await;
    // Without a sourcedId the server allocates one and reports it.
    let auto = json!({"org": {"name": "Auto", "type": "school", "identifier": "A"}});
    let r = app.post("orgs", auto).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let allocated = r.body["sourcedIdPairs"]["allocatedSourcedId"].as_str().unwrap();
    assert_eq!(allocated.len(), 36, "a UUID: {allocated}");
    assert_eq!(app.get(&format!("orgs/{allocated}")).await.body["org"]["name"], "Auto");
    let galaxy = json!({"org": {"name": "Wrong", "type": "galaxy", "identifier": "W"}});
    app.post("orgs", galaxy).await.assert_imsx(422, "invaliddata");
}

#[tokio::test]
async fn academic_sessions_round_trip() {
    let record = term("term-1", "term");
    round_trip(Case {
        collection: "academicSessions",
        singular: "academicSession",
        invalid: with_id(without(record.clone(), "title"), "bad-term"),
        record,
        field: "endDate",
        put_value: json!("2026-12-21"),
        patch_value: json!("2026-12-22"),
        kept: "startDate",
    })
    .await;
}

#[tokio::test]
async fn courses_round_trip() {
    let record = json!({"sourcedId": "course-1", "title": "Algebra", "courseCode": "ALG1",
                        "org": {"sourcedId": "school-1"}});
    round_trip(Case {
        collection: "courses",
        singular: "course",
        invalid: with_id(without(record.clone(), "title"), "bad-course"),
        record,
        field: "title",
        put_value: json!("Algebra I"),
        patch_value: json!("Algebra One"),
        kept: "courseCode",
    })
    .await;
}

#[tokio::test]
async fn classes_round_trip() {
    let mut invalid = class("bad-class", "No Terms");
    invalid["terms"] = json!([]);
    round_trip(Case {
        collection: "classes",
        singular: "class",
        invalid,
        record: with_field(class("class-1", "Algebra 1A"), "classCode", "ALG-1A"),
        field: "title",
        put_value: json!("Algebra 1B"),
        patch_value: json!("Algebra 1C"),
        kept: "classCode",
    })
    .await;
}

#[tokio::test]
async fn enrollments_round_trip() {
    let mut invalid = enrollment("bad-enr", "stu-1", "class-1");
    invalid["role"] = "wizard".into();
    round_trip(Case {
        collection: "enrollments",
        singular: "enrollment",
        invalid,
        record: with_field(enrollment("enr-1", "stu-1", "class-1"), "beginDate", "2026-08-15"),
        field: "role",
        put_value: json!("teacher"),
        patch_value: json!("proctor"),
        kept: "beginDate",
    })
    .await;
}

#[tokio::test]
async fn demographics_round_trip() {
    round_trip(Case {
        collection: "demographics",
        singular: "demographics",
        invalid: json!({"sourcedId": "bad-demo", "sex": "robot"}),
        record: json!({"sourcedId": "stu-1", "birthDate": "2012-03-04", "sex": "female",
                   "cityOfBirth": "Oslo"}),
        field: "sex",
        put_value: json!("male"),
        patch_value: json!("other"),
        kept: "birthDate",
    })
    .await;
}

#[tokio::test]
async fn references_render_as_href_sourced_id_and_type() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("users", "user", user("stu-1", "Ada", "Lovelace")).await;
    app.create("enrollments", "enrollment", enrollment("enr-1", "stu-1", "class-1"))
        .await;
    let href = |collection: &str, id: &str| format!("{}{API}/{collection}/{id}", app.base);
    let guid =
        |collection: &str, id: &str, kind: &str| json!({"href": href(collection, id), "sourcedId": id, "type": kind});

    let c = app.get("classes/class-1").await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["class"]["course"], guid("courses", "course-1", "course"));
    assert_eq!(c.body["class"]["school"], guid("orgs", "school-1", "org"));
    assert_eq!(
        c.body["class"]["terms"],
        json!([guid("academicSessions", "term-1", "academicSession")])
    );

    let e = app.get("enrollments/enr-1").await;
    assert_eq!(e.body["enrollment"]["user"], guid("users", "stu-1", "user"));
    assert_eq!(e.body["enrollment"]["class"], guid("classes", "class-1", "class"));
    assert_eq!(e.body["enrollment"]["school"], guid("orgs", "school-1", "org"));

    let course = app.get("courses/course-1").await;
    assert_eq!(course.body["course"]["org"], guid("orgs", "school-1", "org"));

    // The list renders references the same way, and the user's role org too.
    let list = app.get("enrollments").await;
    assert_eq!(list.body["enrollments"][0]["user"], guid("users", "stu-1", "user"));
    let u = app.get("users/stu-1").await;
    assert_eq!(u.body["user"]["roles"][0]["org"], guid("orgs", "school-1", "org"));

    // A client may send the full reference back; it is stored as the id only.
    let mut sent = c.body["class"].clone();
    sent["title"] = "Algebra 1 (renamed)".into();
    let r = app.put("classes/class-1", json!({"class": sent})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["class"]["course"], guid("courses", "course-1", "course"));
}

#[tokio::test]
async fn schools_view_lists_only_school_orgs() {
    let app = TestApp::spawn().await;
    let mut district = org("district-1", "Metro District");
    district["type"] = "district".into();
    app.create("orgs", "org", district).await;
    app.create("orgs", "org", org("school-1", "North High")).await;
    app.create("orgs", "org", org("school-2", "South High")).await;

    let all = app.get("orgs").await;
    assert_eq!(ids(&all, "orgs"), set(&["district-1", "school-1", "school-2"]));
    for path in ["schools", "schools/"] {
        let r = app.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(ids(&r, "orgs"), set(&["school-1", "school-2"]), "{path}");
        assert_eq!(r.header("x-total-count"), Some("2"));
        assert_eq!(r.body["totalCount"], 2);
    }
    let r = app.get("schools/school-1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["org"]["name"], "North High");
    app.get("schools/district-1").await.assert_imsx(404, "unknownobject");
    app.get("schools/nowhere").await.assert_imsx(404, "unknownobject");

    // A client filter narrows the view; an OR cannot widen it.
    let r = app.get("schools?filter=type%3D%27district%27").await;
    assert_eq!(r.status, 200);
    assert!(ids(&r, "orgs").is_empty(), "{}", r.body);
    let r = app
        .get("schools?filter=name%3D%27South%20High%27%20OR%20type%3D%27district%27")
        .await;
    assert_eq!(ids(&r, "orgs"), set(&["school-2"]));
}

#[tokio::test]
async fn terms_view_lists_only_terms() {
    let app = TestApp::spawn().await;
    app.create("academicSessions", "academicSession", term("year-1", "schoolYear"))
        .await;
    app.create("academicSessions", "academicSession", term("term-1", "term"))
        .await;
    app.create("academicSessions", "academicSession", term("term-2", "term"))
        .await;
    app.create("academicSessions", "academicSession", term("gp-1", "gradingPeriod"))
        .await;

    let all = app.get("academicSessions").await;
    assert_eq!(ids(&all, "academicSessions").len(), 4);
    let r = app.get("terms").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r, "terms"), set(&["term-1", "term-2"]));
    assert_eq!(r.header("x-total-count"), Some("2"));
    let r = app.get("terms/term-2").await;
    assert_eq!(r.body["term"]["type"], "term");
    app.get("terms/year-1").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn students_and_teachers_views_list_users_by_role() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("orgs", "org", org("school-2", "South High")).await;
    app.create("users", "user", user("stu-1", "Ada", "Lovelace")).await;
    app.create("users", "user", user("stu-2", "Alan", "Turing")).await;
    let mut teacher = user("tea-1", "Grace", "Hopper");
    teacher["roles"][0]["role"] = "teacher".into();
    app.create("users", "user", teacher).await;
    let mut both = user("both-1", "Edsger", "Dijkstra");
    both["roles"] = json!([
        {"roleType": "primary", "role": "teacher", "org": {"sourcedId": "school-1"}},
        {"roleType": "primary", "role": "student", "org": {"sourcedId": "school-2"}}]);
    app.create("users", "user", both).await;
    let mut aide = user("aide-1", "Barbara", "Liskov");
    aide["roles"][0]["role"] = "aide".into();
    app.create("users", "user", aide).await;

    let students = app.get("students").await;
    assert_eq!(students.status, 200, "{}", students.body);
    assert_eq!(ids(&students, "users"), set(&["stu-1", "stu-2", "both-1"]));
    assert_eq!(students.header("x-total-count"), Some("3"));
    let teachers = app.get("teachers/").await;
    assert_eq!(ids(&teachers, "users"), set(&["tea-1", "both-1"]));
    assert_eq!(teachers.body["totalCount"], 2);

    assert_eq!(app.get("teachers/tea-1").await.body["user"]["givenName"], "Grace");
    app.get("teachers/stu-1").await.assert_imsx(404, "unknownobject");
    app.get("students/aide-1").await.assert_imsx(404, "unknownobject");
    let r = app.get("students?filter=familyName%3D%27Turing%27").await;
    assert_eq!(ids(&r, "users"), set(&["stu-2"]));
}
