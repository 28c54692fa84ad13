//! The declared relations (`oneroster::relation`) and roster writes, over a
//! small roster where each relation has records it must list and records it
//! must leave out.

use oneroster::relation::{RELATIONS, path_params};
use rollcall_server::Profile;
use serde_json::{Value, json};

use crate::helpers::{TestApp, class, enrollment, org, user};

/// Two schools and a district; two terms with a grading period each and a
/// semester; classes in both schools; students, a teacher, a parent; an
/// enrollment marked tobedeleted (e6: s2 left class-2).
async fn seed() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("orgs", "org", org("school-2", "South High")).await;
    let mut district = org("district-1", "District");
    district["type"] = json!("district");
    app.create("orgs", "org", district).await;
    for (id, kind, parent) in [
        ("term-2", "term", None),
        ("gp-1", "gradingPeriod", Some("term-1")),
        ("gp-2", "gradingPeriod", Some("term-2")),
        ("sem-1", "semester", Some("term-1")),
    ] {
        let mut session = json!({"sourcedId": id, "title": id, "type": kind,
            "startDate": "2026-08-15", "endDate": "2026-12-20", "schoolYear": "2027"});
        if let Some(p) = parent {
            session["parent"] = json!({"sourcedId": p});
        }
        app.create("academicSessions", "academicSession", session).await;
    }
    app.create(
        "courses",
        "course",
        json!({"sourcedId": "course-2", "title": "Biology", "courseCode": "BIO", "org": {"sourcedId": "school-2"}}),
    )
    .await;
    let mut class_2 = class("class-2", "Algebra 1B");
    class_2["terms"] = json!([{"sourcedId": "term-2"}]);
    app.create("classes", "class", class_2).await;
    let mut class_3 = class("class-3", "Biology 1");
    class_3["course"] = json!({"sourcedId": "course-2"});
    class_3["school"] = json!({"sourcedId": "school-2"});
    class_3["terms"] = json!([{"sourcedId": "term-2"}]);
    app.create("classes", "class", class_3).await;

    app.create("users", "user", user("s1", "Ann", "Lee")).await;
    app.create("users", "user", user("s2", "Bob", "Ray")).await;
    app.create(
        "users",
        "user",
        with_role(user("s3", "Cy", "Oh"), "student", "school-2"),
    )
    .await;
    app.create(
        "users",
        "user",
        with_role(user("t1", "Tess", "Kay"), "teacher", "school-1"),
    )
    .await;
    app.create(
        "users",
        "user",
        with_role(user("p1", "Pat", "Lee"), "parent", "school-1"),
    )
    .await;
    let r = app.post("users/s1/agents", json!({"agentSourcedId": "p1"})).await;
    assert_eq!(r.status, 200, "{}", r.body);

    for (id, who, class, role) in [
        ("e1", "s1", "class-1", "student"),
        ("e2", "s2", "class-1", "student"),
        ("e3", "t1", "class-1", "teacher"),
        ("e4", "s1", "class-2", "student"),
        ("e5", "s3", "class-3", "student"),
        ("e6", "s2", "class-2", "student"),
    ] {
        let mut e = enrollment(id, who, class);
        e["role"] = json!(role);
        if class == "class-3" {
            e["school"] = json!({"sourcedId": "school-2"});
        }
        app.create("enrollments", "enrollment", e).await;
    }
    assert_eq!(app.delete("enrollments/e6").await.status, 204);
    app
}

fn with_role(mut u: Value, role: &str, school: &str) -> Value {
    u["roles"] = json!([{"roleType": "primary", "role": role, "org": {"sourcedId": school}}]);
    u
}

/// The sourcedIds under `wrapper`, sorted.
async fn ids(app: &TestApp, path: &str, wrapper: &str) -> Vec<String> {
    let r = app.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    let mut ids: Vec<String> = r.body[wrapper]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no {wrapper} in {}", r.body))
        .iter()
        .map(|x| x["sourcedId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        r.header("x-total-count"),
        Some(ids.len().to_string().as_str()),
        "{path}"
    );
    ids
}

#[tokio::test]
async fn every_relation_lists_exactly_its_records() {
    let app = seed().await;
    let cases: &[(&str, &str, &[&str])] = &[
        ("schools/school-1/classes", "classes", &["class-1", "class-2"]),
        ("schools/school-2/classes", "classes", &["class-3"]),
        ("schools/school-1/courses", "courses", &["course-1"]),
        (
            "schools/school-1/enrollments",
            "enrollments",
            &["e1", "e2", "e3", "e4", "e6"],
        ),
        ("schools/school-2/enrollments", "enrollments", &["e5"]),
        ("schools/school-1/students", "users", &["s1", "s2"]),
        ("schools/school-1/teachers", "users", &["t1"]),
        ("schools/school-1/terms", "terms", &["term-1", "term-2"]),
        ("schools/school-2/terms", "terms", &["term-2"]),
        (
            "schools/school-1/classes/class-1/enrollments",
            "enrollments",
            &["e1", "e2", "e3"],
        ),
        ("schools/school-1/classes/class-1/students", "users", &["s1", "s2"]),
        ("schools/school-1/classes/class-1/teachers", "users", &["t1"]),
        ("classes/class-1/students", "students", &["s1", "s2"]),
        ("classes/class-2/students", "students", &["s1"]),
        ("classes/class-1/teachers", "teachers", &["t1"]),
        ("classes/class-2/teachers", "teachers", &[]),
        ("courses/course-1/classes", "classes", &["class-1", "class-2"]),
        ("students/s1/classes", "classes", &["class-1", "class-2"]),
        ("students/s2/classes", "classes", &["class-1"]),
        ("teachers/t1/classes", "classes", &["class-1"]),
        ("terms/term-2/classes", "classes", &["class-2", "class-3"]),
        ("terms/term-1/gradingPeriods", "gradingPeriods", &["gp-1"]),
        ("users/s1/classes", "classes", &["class-1", "class-2"]),
        ("users/t1/classes", "classes", &["class-1"]),
        ("users/s1/agents", "agents", &["p1"]),
        ("users/p1/agents", "agents", &[]),
        ("users/p1/agentFor", "users", &["s1"]),
        ("users/s1/agentFor", "users", &[]),
    ];
    for (path, wrapper, expected) in cases {
        assert_eq!(ids(&app, path, wrapper).await, *expected, "{path}");
    }

    // An enrollment counts for its own school and for its class's.
    let mut e7 = enrollment("e7", "s3", "class-1");
    e7["school"] = json!({"sourcedId": "school-2"});
    app.create("enrollments", "enrollment", e7).await;
    assert_eq!(
        ids(&app, "schools/school-2/enrollments", "enrollments").await,
        ["e5", "e7"]
    );
    let school_1 = ids(&app, "schools/school-1/enrollments", "enrollments").await;
    assert_eq!(school_1, ["e1", "e2", "e3", "e4", "e6", "e7"]);
}

/// TimeBack names some arrays differently from 1.2 (`students` for
/// `users`); each profile gets its own document's name.
#[tokio::test]
async fn the_strict_profile_uses_the_official_array_names() {
    let app = TestApp::spawn_with(Profile::OneRoster).await;
    let term = |id: &str, kind: &str| {
        json!({"sourcedId": id, "title": id, "type": kind, "startDate": "2026-08-15",
            "endDate": "2026-12-20", "schoolYear": "2027", "parent": {"sourcedId": "term-1"}})
    };
    let mut gp = term("gp-1", "gradingPeriod");
    let mut term_1 = term("term-1", "term");
    term_1.as_object_mut().unwrap().remove("parent");
    gp["parent"] = json!({"sourcedId": "term-1"});
    let records = [
        ("orgs", "org", org("school-1", "North High")),
        ("academicSessions", "academicSession", term_1),
        ("academicSessions", "academicSession", gp),
        (
            "courses",
            "course",
            json!({"sourcedId": "course-1", "title": "Algebra", "org": {"sourcedId": "school-1"}}),
        ),
        ("classes", "class", class("class-1", "Algebra 1A")),
        ("users", "user", user("s1", "Ann", "Lee")),
        ("enrollments", "enrollment", enrollment("e1", "s1", "class-1")),
    ];
    for (collection, wrapper, record) in records {
        let r = app.post(collection, json!({ wrapper: record })).await;
        assert_eq!(r.status, 201, "{collection}: {}", r.body);
    }
    assert_eq!(ids(&app, "classes/class-1/students", "users").await, ["s1"]);
    assert_eq!(
        ids(&app, "classes/class-1/teachers", "users").await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&app, "schools/school-1/terms", "academicSessions").await,
        ["term-1"]
    );
    assert_eq!(
        ids(&app, "terms/term-1/gradingPeriods", "academicSessions").await,
        ["gp-1"]
    );
}

#[tokio::test]
async fn paging_filter_sort_and_fields_apply_within_a_relation() {
    let app = seed().await;
    let path = "schools/school-1/classes/class-1/students";
    let r = app
        .get(&format!("{path}?sort=givenName&orderBy=desc&limit=1&offset=1"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["users"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["users"][0]["sourcedId"], "s1", "Bob, then Ann: {}", r.body);
    assert_eq!(r.body["totalCount"], 2);
    assert!(
        r.header("link").is_some_and(|l| l.contains("rel=\"prev\"")),
        "{:?}",
        r.header("link")
    );

    // The `next` link stays within the relation.
    let r = app.get(&format!("{path}?sort=givenName&limit=1")).await;
    let link = r.header("link").unwrap().to_owned();
    let next = link
        .split(',')
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| l.split(['<', '>']).nth(1))
        .unwrap_or_else(|| panic!("no next in {link}"))
        .to_owned();
    assert!(next.contains("/schools/school-1/classes/class-1/students?"), "{next}");
    let r = app.send(app.http.get(&next).bearer_auth(&app.token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["users"][0]["sourcedId"], "s2", "Ann, then Bob: {}", r.body);
    assert_eq!(r.body["totalCount"], 2);

    // A client's OR narrows the relation, never escapes it (s3 is elsewhere).
    let filter = "classes/class-1/students?filter=givenName='Bob' OR givenName='Cy'";
    assert_eq!(ids(&app, filter, "students").await, ["s2"]);

    let r = app.get("terms/term-2/classes?fields=sourcedId,title&search=bio").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["classes"],
        json!([{"sourcedId": "class-3", "title": "Biology 1"}])
    );

    app.get("schools/school-1/students?filter=nope='x'")
        .await
        .assert_imsx(400, "invalid_filter_field");
    app.get("classes/class-1/students?sort=nope")
        .await
        .assert_imsx(400, "invaliddata");
    app.get("classes/class-1/students?limit=0")
        .await
        .assert_imsx(400, "invaliddata");
}

#[tokio::test]
async fn a_missing_or_mismatched_parent_is_a_404_naming_it() {
    let app = seed().await;
    for relation in RELATIONS {
        let mut path = relation.path.trim_start_matches('/').to_owned();
        for name in path_params(relation.path) {
            path = path.replace(&format!("{{{name}}}"), "ghost");
        }
        let r = app.get(&path).await;
        r.assert_imsx(404, "unknownobject");
        assert!(
            r.body["imsx_description"]
                .as_str()
                .unwrap()
                .contains("'ghost' not found"),
            "{path}: {}",
            r.body
        );
    }
    // Parents of the wrong kind, or not where the path puts them.
    for path in [
        "schools/district-1/classes",
        "terms/sem-1/classes",
        "terms/gp-1/gradingPeriods",
        "students/t1/classes",
        "teachers/s1/classes",
        "schools/school-2/classes/class-1/students",
    ] {
        app.get(path).await.assert_imsx(404, "unknownobject");
    }
    let r = app.get("schools/school-2/classes/class-1/enrollments").await;
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .contains("class 'class-1' not found in school 'school-2'"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn relations_need_the_full_read_scope() {
    let app = seed().await;
    let core = app
        .fetch_token(Some(&rollcall_service::scope::uri("roster-core.readonly")))
        .await;
    let r = app
        .send(app.http.get(app.url("classes/class-1/students")).bearer_auth(&core))
        .await;
    r.assert_imsx(403, "forbidden");
    let full = app
        .fetch_token(Some(&rollcall_service::scope::uri("roster.readonly")))
        .await;
    let r = app
        .send(app.http.get(app.url("classes/class-1/students")).bearer_auth(&full))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn enrollment_count(app: &TestApp) -> Value {
    app.get("enrollments?limit=1").await.body["totalCount"].clone()
}

#[tokio::test]
async fn adding_a_student_to_a_class_creates_an_enrollment() {
    let app = seed().await;
    let r = app
        .post(
            "classes/class-2/students",
            json!({"enrollment": {"user": {"sourcedId": "s2"}, "primary": "true", "beginDate": "2026-09-01"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["sourcedIdPairs"]["allocatedSourcedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = app.get(&format!("enrollments/{id}")).await.body["enrollment"].clone();
    assert_eq!(stored["role"], "student");
    assert_eq!(stored["class"]["sourcedId"], "class-2");
    assert_eq!(stored["school"]["sourcedId"], "school-1", "the class's school");
    assert_eq!(stored["status"], "active");
    assert!(stored["dateLastModified"].is_string());
    assert_eq!(ids(&app, "classes/class-2/students", "students").await, ["s1", "s2"]);

    let r = app
        .post(
            "classes/class-1/teachers",
            json!({"enrollment": {"user": {"sourcedId": "t1"}}}),
        )
        .await;
    r.assert_imsx(409, "invaliddata");
    let r = app
        .post(
            "classes/class-2/teachers",
            json!({"enrollment": {"user": {"sourcedId": "t1"}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(ids(&app, "classes/class-2/teachers", "teachers").await, ["t1"]);
}

#[tokio::test]
async fn a_bad_enrollment_request_is_refused_and_changes_nothing() {
    let app = seed().await;
    let before = enrollment_count(&app).await;
    let user = |id: &str| json!({"enrollment": {"user": {"sourcedId": id}}});
    let cases = [
        ("classes/ghost/students", user("s1"), 404),
        ("classes/class-1/students", user("ghost"), 404),
        ("classes/class-1/students", user("s1"), 409),
        ("classes/class-1/students", json!({"user": {"sourcedId": "s3"}}), 422),
        ("classes/class-1/students", json!({"enrollment": {}}), 422),
        ("classes/class-1/students", json!({"enrollment": "s3"}), 422),
        (
            "classes/class-1/students",
            json!({"enrollment": {"user": {"sourcedId": "s3"}, "class": {"sourcedId": "class-3"}}}),
            422,
        ),
        (
            "classes/class-1/students",
            json!({"enrollment": {"user": {"sourcedId": "s3"}, "role": "teacher"}}),
            422,
        ),
        (
            "classes/class-1/students",
            json!({"enrollment": {"user": {"sourcedId": "s3"}, "beginDate": "someday"}}),
            422,
        ),
        (
            "classes/class-1/students",
            json!({"enrollment": {"sourcedId": "e1", "user": {"sourcedId": "s3"}}}),
            409,
        ),
    ];
    for (path, body, status) in cases {
        let r = app.post(path, body.clone()).await;
        let code = match status {
            404 => "unknownobject",
            _ => "invaliddata",
        };
        r.assert_imsx(status, code);
        assert_eq!(enrollment_count(&app).await, before, "{path} {body}");
    }
    assert_eq!(ids(&app, "classes/class-1/students", "students").await, ["s1", "s2"]);
}

#[tokio::test]
async fn agents_are_added_and_removed_through_the_user() {
    let app = seed().await;
    app.create(
        "users",
        "user",
        with_role(user("p2", "Pam", "Ray"), "guardian", "school-1"),
    )
    .await;
    let r = app.post("users/s1/agents", json!({"agentSourcedId": "p2"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let agents: Vec<&str> = r.body["user"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sourcedId"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["p1", "p2"]);
    assert_eq!(ids(&app, "users/s1/agents", "agents").await, ["p1", "p2"]);

    // Adding one already there changes nothing, not even dateLastModified.
    let stamp = app.get("users/s1").await.body["user"]["dateLastModified"].clone();
    let r = app.post("users/s1/agents", json!({"agentSourcedId": "p2"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["dateLastModified"], stamp);

    let r = app.delete("users/s1/agents/p1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user"]["agents"].as_array().unwrap().len(), 1);
    assert_eq!(ids(&app, "users/s1/agents", "agents").await, ["p2"]);
    assert_eq!(ids(&app, "users/p1/agentFor", "users").await, Vec::<String>::new());
    assert_eq!(app.get("users/p1").await.status, 200, "the agent's record stays");
}

#[tokio::test]
async fn a_bad_agent_request_is_refused_and_changes_nothing() {
    let app = seed().await;
    let before = app.get("users/s1").await.body["user"].clone();
    let cases = [
        ("users/ghost/agents", json!({"agentSourcedId": "p1"}), 404),
        ("users/s1/agents", json!({"agentSourcedId": "ghost"}), 404),
        ("users/s1/agents", json!({"agentSourcedId": "s1"}), 422),
        ("users/s1/agents", json!({"agentSourcedId": 5}), 422),
        ("users/s1/agents", json!({}), 422),
    ];
    for (path, body, status) in cases {
        let r = app.post(path, body.clone()).await;
        r.assert_imsx(status, if status == 404 { "unknownobject" } else { "invaliddata" });
        assert_eq!(app.get("users/s1").await.body["user"], before, "{path} {body}");
    }
    app.delete("users/s1/agents/s2").await.assert_imsx(404, "unknownobject");
    app.delete("users/ghost/agents/p1")
        .await
        .assert_imsx(404, "unknownobject");
    assert_eq!(app.get("users/s1").await.body["user"], before);
}
