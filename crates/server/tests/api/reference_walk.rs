//! Every operation of each reference document, sent to a real server in
//! that document's profile over a small seeded roster: path parameters are
//! seeded ids of the right resource, request bodies are built from the
//! document's request schema (`reference_bodies`), and each response must
//! carry a status the document lists and a body its schema for that status
//! accepts. Reads go first, then creates, updates and deletes, so a delete
//! cannot hide a read. Every failure is collected and the test fails once,
//! with the whole list.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, org};
use crate::reference::{self, Operation, Reference, lists_status, request_schema, response_schema};
use crate::reference_bodies::{BodyGen, Seeds};

/// Seeds the roster through Rollcall's own API: a district and its
/// school, a school year with a term and a grading period, a course and
/// its class, a student (with a parent as agent and demographics), a
/// teacher, a guardian, a student and a teacher in no class, their enrollments, and a course component with a
/// component resource. A seed the server refuses is a failure too.
async fn seed(app: &TestApp, failures: &mut Vec<String>) -> Seeds {
    let s = Seeds {
        district: "walk-district".into(),
        school: "walk-school".into(),
        year: "walk-year".into(),
        term: "walk-term".into(),
        grading_period: "walk-gp".into(),
        course: "walk-course".into(),
        class: "walk-class".into(),
        student: "walk-student".into(),
        teacher: "walk-teacher".into(),
        parent: "walk-parent".into(),
        guardian: "walk-guardian".into(),
        new_student: "walk-new-student".into(),
        new_teacher: "walk-new-teacher".into(),
        enrollment: "walk-enr-student".into(),
        component: "walk-component".into(),
        component_resource: "walk-component-resource".into(),
    };
    let mut district = org(&s.district, "Metro District");
    district["type"] = "district".into();
    let mut school = org(&s.school, "North High");
    school["parent"] = json!({"sourcedId": s.district});
    let session = |id: &str, kind: &str, parent: Option<&str>| {
        let mut v = json!({"sourcedId": id, "title": id, "type": kind, "startDate": "2026-08-15",
            "endDate": "2027-06-15", "schoolYear": "2027", "org": {"sourcedId": s.school}});
        if let Some(p) = parent {
            v["parent"] = json!({"sourcedId": p});
        }
        v
    };
    let person = |id: &str, role: &str| {
        json!({"sourcedId": id, "enabledUser": true, "givenName": id, "familyName": "Walker",
            "email": format!("{id}@example.org"),
            "roles": [{"roleType": "primary", "role": role, "org": {"sourcedId": s.school}}],
            "primaryOrg": {"sourcedId": s.school}})
    };
    let mut student = person(&s.student, "student");
    student["agents"] = json!([{"sourcedId": s.parent}]);
    let enrollment = |id: &str, user: &str, role: &str| {
        json!({"sourcedId": id, "user": {"sourcedId": user}, "class": {"sourcedId": s.class},
            "school": {"sourcedId": s.school}, "role": role, "primary": true,
            "beginDate": "2026-08-15", "endDate": "2027-06-15"})
    };
    let records = [
        ("orgs", "org", district),
        ("orgs", "org", school),
        (
            "academicSessions",
            "academicSession",
            session(&s.year, "schoolYear", None),
        ),
        (
            "academicSessions",
            "academicSession",
            session(&s.term, "term", Some(&s.year)),
        ),
        (
            "academicSessions",
            "academicSession",
            session(&s.grading_period, "gradingPeriod", Some(&s.term)),
        ),
        (
            "courses",
            "course",
            json!({"sourcedId": s.course, "title": "Algebra", "courseCode": "ALG1",
            "grades": ["9"], "subjects": ["Math"], "org": {"sourcedId": s.school},
            "schoolYear": {"sourcedId": s.year}}),
        ),
        (
            "classes",
            "class",
            json!({"sourcedId": s.class, "title": "Algebra 1A", "classCode": "ALG-1A",
            "classType": "scheduled", "location": "Room 4", "course": {"sourcedId": s.course},
            "school": {"sourcedId": s.school}, "terms": [{"sourcedId": s.term}]}),
        ),
        ("users", "user", person(&s.parent, "parent")),
        ("users", "user", person(&s.guardian, "guardian")),
        ("users", "user", person(&s.new_student, "student")),
        ("users", "user", person(&s.new_teacher, "teacher")),
        ("users", "user", student),
        ("users", "user", person(&s.teacher, "teacher")),
        (
            "enrollments",
            "enrollment",
            enrollment(&s.enrollment, &s.student, "student"),
        ),
        (
            "enrollments",
            "enrollment",
            enrollment("walk-enr-teacher", &s.teacher, "teacher"),
        ),
        (
            "demographics",
            "demographics",
            json!({"sourcedId": s.student, "birthDate": "2012-03-04",
            "sex": "female", "americanIndianOrAlaskaNative": "false", "asian": "false",
            "blackOrAfricanAmerican": "false", "nativeHawaiianOrOtherPacificIslander": "false",
            "white": "true", "demographicRaceTwoOrMoreRaces": "false",
            "hispanicOrLatinoEthnicity": "false"}),
        ),
        (
            "courses/components",
            "courseComponent",
            json!({"sourcedId": s.component, "title": "Unit 1",
            "course": {"sourcedId": s.course}, "sortOrder": 1}),
        ),
        (
            "courses/component-resources",
            "componentResource",
            json!({"sourcedId": s.component_resource,
            "title": "Lesson 1", "courseComponent": {"sourcedId": s.component},
            "resource": {"sourcedId": "walk-resource"}, "sortOrder": 1}),
        ),
    ];
    for (collection, wrapper, record) in records {
        let r = app.post(collection, json!({ wrapper: record })).await;
        if r.status != 201 {
            failures.push(format!(
                "seed {collection} {}: {} {}",
                record["sourcedId"],
                r.status,
                describe(&r)
            ));
        }
    }
    s
}

/// One line for a refused request: the imsx description, or the body.
fn describe(r: &Reply) -> String {
    match r.body["imsx_description"].as_str() {
        Some(d) => d.to_owned(),
        None => r.body.to_string().chars().take(200).collect(),
    }
}

/// Reads, creates, updates, deletes; document order within each.
fn phase(op: &Operation) -> u8 {
    match op.method.as_str() {
        "GET" => 0,
        "POST" => 1,
        "PUT" | "PATCH" => 2,
        _ => 3,
    }
}

/// The walk's state: the seeds, and what the walk itself created, by the
/// collection it was created in (so updates and deletes hit those).
struct Walk<'a> {
    app: &'a TestApp,
    reference: &'a Reference,
    seeds: Seeds,
    created: HashMap<String, String>,
    credential: Option<String>,
}

impl Walk<'_> {
    /// The value of the path parameter `param` at `index` in `segments`.
    fn param(&self, op: &Operation, segments: &[&str], index: usize) -> String {
        let name = segments[index].trim_matches(|c| c == '{' || c == '}');
        let collection = index.checked_sub(1).map_or("", |i| segments[i]);
        if name == "credentialId" {
            return self
                .credential
                .clone()
                .unwrap_or_else(|| "no-credential-registered".into());
        }
        if name == "userId" && op.path.ends_with("/agentFor") {
            return self.seeds.parent.clone();
        }
        if name != "sourcedId" {
            let target = name.trim_end_matches("SourcedId").trim_end_matches("Id");
            return self.seeds.for_ref(target, "");
        }
        let writes = matches!(op.method.as_str(), "PUT" | "PATCH" | "DELETE");
        if let Some(id) = self.created.get(collection).filter(|_| writes) {
            return id.clone();
        }
        match collection {
            "orgs" | "schools" => self.seeds.school.clone(),
            "academicSessions" | "terms" => self.seeds.term.clone(),
            "users" | "students" | "demographics" => self.seeds.student.clone(),
            other => self.seeds.for_ref(other, ""),
        }
    }

    fn concrete_path(&self, op: &Operation) -> String {
        let segments: Vec<&str> = op.path.split('/').collect();
        let filled: Vec<String> = (0..segments.len())
            .map(|i| match segments[i].starts_with('{') {
                true => self.param(op, &segments, i),
                false => segments[i].to_owned(),
            })
            .collect();
        filled.join("/")
    }

    /// The id a create body gives its record: fresh, except demographics,
    /// whose sourcedId is a user's (the teacher has none yet).
    fn own_id(&self, op: &Operation, path: &str) -> String {
        match op.method.as_str() {
            "POST" if path.ends_with("/demographics") || path.ends_with("/demographics/") => self.seeds.teacher.clone(),
            "POST" => format!("walk-new-{}", uuid::Uuid::new_v4()),
            _ => path.rsplit('/').next().unwrap_or_default().to_owned(),
        }
    }

    /// Sends one operation; the failures it shows, if any.
    async fn run(&mut self, op: &Operation) -> Vec<String> {
        let path = self.concrete_path(op);
        let seeds = self.body_seeds(op);
        let body = request_schema(op).map(|schema| {
            let generator = BodyGen {
                reference: self.reference,
                seeds: &seeds,
                own_id: self.own_id(op, &path),
            };
            generator.body(schema)
        });
        let method = reqwest::Method::from_bytes(op.method.as_bytes()).unwrap();
        let mut req = self
            .app
            .http
            .request(method, self.app.url(&path))
            .bearer_auth(&self.app.token);
        if let Some(body) = &body {
            req = req.json(body);
        }
        let r = self.app.send(req).await;
        self.remember(op, &path, &r);
        check(self.reference, op, &r, body.as_ref())
    }

    /// The seeds a body refers to: adding a student (teacher) to a class
    /// names one who is in no class yet, so the add cannot be a duplicate.
    fn body_seeds(&self, op: &Operation) -> Seeds {
        let mut seeds = self.seeds.clone();
        if op.method == "POST" && op.path.ends_with("/students") {
            seeds.student = seeds.new_student.clone();
        }
        if op.method == "POST" && op.path.ends_with("/teachers") {
            seeds.student = seeds.new_teacher.clone();
        }
        seeds
    }

    fn remember(&mut self, op: &Operation, path: &str, r: &Reply) {
        if let Some(id) = r.body["credentialId"].as_str() {
            self.credential = Some(id.to_owned());
        }
        if let (true, Some(id)) = (
            op.method == "POST",
            r.body["sourcedIdPairs"]["allocatedSourcedId"].as_str(),
        ) {
            let collection = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
            self.created.insert(collection.to_owned(), id.to_owned());
        }
    }
}

/// What is wrong with one response: not routed, refused, a status the
/// document does not list, or a body its schema rejects.
fn check(reference: &Reference, op: &Operation, r: &Reply, sent: Option<&Value>) -> Vec<String> {
    let name = op.name();
    let unrouted = r.status == 405 || (r.status == 404 && r.body["imsx_description"] == "no such endpoint");
    if unrouted {
        return vec![format!("missing route: {name}: {} {}", r.status, describe(r))];
    }
    if !(200..300).contains(&r.status) {
        let what = if sent.is_some() { "body rejected" } else { "refused" };
        let sent = sent.map(|b| format!(" (sent {b})")).unwrap_or_default();
        return vec![format!("{what}: {name}: {} {}{sent}", r.status, describe(r))];
    }
    if !lists_status(op, r.status) {
        let listed: Vec<&String> = op.spec["responses"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        return vec![format!(
            "status not documented: {name}: {} (the document lists {listed:?})",
            r.status
        )];
    }
    let Some(schema) = response_schema(op, r.status) else {
        return Vec::new();
    };
    let errors = reference.errors(schema, &r.body);
    match errors.is_empty() {
        true => Vec::new(),
        false => vec![format!("response schema: {name}: {} {}", r.status, errors.join("; "))],
    }
}

/// Walks one document in its profile; every failure, one line each.
async fn walk(reference: Reference) -> Vec<String> {
    let app = TestApp::spawn_with(reference.profile).await;
    let mut failures = Vec::new();
    let seeds = seed(&app, &mut failures).await;
    let mut ops = reference.operations();
    ops.sort_by_key(phase);
    let mut walk = Walk {
        app: &app,
        reference: &reference,
        seeds,
        created: HashMap::new(),
        credential: None,
    };
    for op in &ops {
        failures.extend(walk.run(op).await);
    }
    failures
}

/// Where a reference document contradicts itself (or the other documents),
/// what Rollcall answers instead: one rule for every operation of a kind, as
/// the README's "Documented deviations" table says. A failure is excused
/// only when its document, kind and operation are listed here, and every
/// listed one must still be seen, so a fixed deviation leaves this list.
struct Deviation {
    documents: &'static [&'static str],
    /// The start of the failure line: `response schema` or `status not documented`.
    kind: &'static str,
    operations: &'static [&'static str],
}

const BOTH: &[&str] = &["2025-12", "2025-04"];
const DEVIATIONS: &[Deviation] = &[
    // Some PUTs answer a bare record in the documents, others (updateUser) a
    // wrapped one: every PUT answers wrapped.
    Deviation {
        documents: BOTH,
        kind: "response schema",
        operations: &["updateSchool", "updateClass", "putDemographics", "putAcademicSession"],
    },
    // Some PUTs answer 201 in the documents, others 200: every PUT answers 200.
    Deviation {
        documents: BOTH,
        kind: "status not documented",
        operations: &["updateOrg", "updateGradingPeriod", "updateEnrollment"],
    },
    // 2025-04 requires a role's beginDate/endDate (later documents and 1.2
    // do not) and every org's parent (a district has none): sent when set.
    Deviation {
        documents: &["2025-04"],
        kind: "response schema",
        operations: &[
            "getAllUsers",
            "getUser",
            "updateUser",
            "getAllStudents",
            "getStudent",
            "getAllTeachers",
            "getTeacher",
            "getStudentsForClass",
            "getTeachersForClass",
            "getStudentsForSchool",
            "getTeachersForSchool",
            "getStudentsForClassInSchool",
            "getTeachersForClassInSchool",
            "getAllOrgs",
            // Creates answer sourcedIdPairs, as every other create of the documents.
            "createSchool",
            "createUser",
            // 204 has no body, whatever schema the document gives it.
            "deleteSchool",
            "deleteClass",
            "deleteGradingPeriod",
        ],
    },
    // 2025-04 says 200 to some creates and deletes, 201/204 to the others:
    // every create answers 201, every delete 204.
    Deviation {
        documents: &["2025-04"],
        kind: "status not documented",
        operations: &[
            "createCourse",
            "createCourseComponent",
            "createComponentResource",
            "deleteCourse",
            "deleteCourseComponent",
            "deleteComponentResource",
        ],
    },
];

/// The operationId a failure line is about (`kind: opId (METHOD path): …`).
fn operation_of(failure: &str) -> Option<(&str, &str)> {
    let (kind, rest) = failure.split_once(": ")?;
    Some((kind, rest.split_whitespace().next()?))
}

#[track_caller]
fn report(reference: &str, document: &str, failures: &[String]) {
    let listed: Vec<(&str, &str)> = DEVIATIONS
        .iter()
        .filter(|d| d.documents.contains(&document))
        .flat_map(|d| d.operations.iter().map(|op| (d.kind, *op)))
        .collect();
    let unexcused: Vec<&String> = failures
        .iter()
        .filter(|f| operation_of(f).is_none_or(|seen| !listed.contains(&seen)))
        .collect();
    let seen: Vec<(&str, &str)> = failures.iter().filter_map(|f| operation_of(f)).collect();
    let stale: Vec<&(&str, &str)> = listed.iter().filter(|l| !seen.contains(l)).collect();
    assert!(
        unexcused.is_empty() && stale.is_empty(),
        "{reference}: {} failures\n  {}\nlisted deviations no longer seen (remove them): {stale:?}",
        unexcused.len(),
        unexcused.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("\n  ")
    );
}

#[tokio::test]
async fn every_official_1p2_operation_answers_as_documented() {
    let failures = walk(reference::official()).await;
    report(
        "oneroster-1p2-rostering-openapi.json (oneroster profile)",
        "1.2",
        &failures,
    );
}

#[tokio::test]
async fn every_timeback_2025_12_operation_answers_as_documented() {
    let failures = walk(reference::timeback()).await;
    report(
        "timeback-oneroster-openapi-2025-12.json (timeback profile)",
        "2025-12",
        &failures,
    );
}

#[tokio::test]
async fn every_timeback_2025_04_operation_answers_as_documented() {
    let failures = walk(reference::timeback_2025_04()).await;
    report(
        "timeback-oneroster-openapi-2025-04.yaml (timeback-2025-04 profile)",
        "2025-04",
        &failures,
    );
}

/// The same machinery rejects what it should: a wrong body, a status the
/// document does not list, an unrouted answer, a refused write.
#[test]
fn the_walk_rejects_wrong_answers() {
    let reference = reference::timeback();
    let ops = reference.operations();
    let get_user = ops.iter().find(|op| op.id == "getUser").expect("getUser");
    let reply = |status: u16, body: Value| Reply {
        status,
        headers: Default::default(),
        body,
    };
    let user = json!({"user": {"sourcedId": "u1", "status": "active", "enabledUser": "true",
        "givenName": "A", "familyName": "B", "roles": [], "agents": [], "userProfiles": [],
        "email": "a@example.org", "dateLastModified": "2026-01-02T03:04:05.000Z", "metadata": null}});
    let baseline = check(&reference, get_user, &reply(200, user.clone()), None);
    assert!(baseline.is_empty(), "the valid user is refused: {baseline:?}");
    let broken = |pointer: &str, value: Value| {
        let mut doc = user.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        check(&reference, get_user, &reply(200, doc), None)
    };
    for failures in [
        broken("/user/status", json!("deleted")),
        broken("/user/givenName", json!(7)),
        broken("/user/dateLastModified", json!("yesterday")),
        broken("/user/enabledUser", json!(true)),
        broken("/user", json!("not an object")),
        check(&reference, get_user, &reply(200, json!({"users": []})), None),
    ] {
        assert!(
            failures.iter().any(|f| f.starts_with("response schema: getUser")),
            "accepted: {failures:?}"
        );
    }
    let unlisted = check(&reference, get_user, &reply(204, Value::Null), None);
    assert!(
        unlisted[0].starts_with("status not documented: getUser"),
        "{unlisted:?}"
    );
    let unrouted = check(
        &reference,
        get_user,
        &reply(404, json!({"imsx_description": "no such endpoint"})),
        None,
    );
    assert!(unrouted[0].starts_with("missing route: getUser"), "{unrouted:?}");
    let create = ops.iter().find(|op| op.id == "createUser").expect("createUser");
    let refused = check(
        &reference,
        create,
        &reply(422, json!({"imsx_description": "bad"})),
        Some(&json!({})),
    );
    assert!(refused[0].starts_with("body rejected: createUser"), "{refused:?}");
}
