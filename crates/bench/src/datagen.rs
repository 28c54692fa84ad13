//! Generates OneRoster records in their canonical stored form, through the
//! same write rules as the API (`rules::stamp`: stamping, defaults, the
//! resource's own `normalize`), so a generated database is one the API could
//! have produced; each record is stamped as of its own past instant.

use oneroster::model::{academic_session, class, course, demographics, enrollment, org, user};
use oneroster::{ResourceDecl, Timestamp};
use rollcall_service::rules;
use serde_json::{Value, json};

/// The size of a generated district.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub users: u64,
}

impl Shape {
    pub fn schools(self) -> u64 {
        (self.users / 5_000).max(1)
    }
    pub fn classes(self) -> u64 {
        (self.users / 25).max(1)
    }
}

pub const COURSES: u64 = 200;
const GIVEN: &[&str] = &[
    "Ann", "Bob", "Chloé", "Dmitri", "Emma", "Farah", "Gus", "Hana", "Ivan", "Jada", "Kofi", "Lena",
];
const FAMILY: &[&str] = &[
    "Lee", "Nguyen", "García", "Smith", "Okafor", "Kowalski", "Chen", "O'Brien", "Patel", "Silva",
];

/// A small deterministic PRNG (SplitMix64): the same shape always yields
/// the same data, so benchmark runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// The sourcedId of user `i`: UUID-shaped, like most SIS exports.
pub fn user_id(i: u64) -> String {
    let mut r = Rng(i);
    let (a, b) = (r.next(), r.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        a & 0xffff,
        b >> 52,
        (b >> 40) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// An instant between 2025-01-01 and 2026-11-01, by record number.
fn modified(seed: u64) -> String {
    let start = 1_735_689_600_i64; // 2025-01-01T00:00:00Z
    let span = 670 * 86_400;
    let at = start + (Rng(seed ^ 0xD1B5).next() % span) as i64;
    Timestamp::new(chrono::DateTime::from_timestamp(at, 0).expect("in range")).to_wire()
}

fn record(decl: &ResourceDecl, doc: Value) -> Value {
    let Value::Object(mut object) = doc else {
        panic!("a generated {} is an object", decl.singular)
    };
    let text = |v: Option<Value>| {
        v.and_then(|v| v.as_str().map(str::to_owned))
            .expect("generated with id and date")
    };
    let id = text(object.remove("sourcedId"));
    let at = text(object.remove("dateLastModified"));
    rules::stamp(decl, object, &id, &at).unwrap_or_else(|e| panic!("generated {} is invalid: {e}", decl.singular))
}

/// Orgs, sessions, courses and classes: everything users point at.
pub fn structure(shape: Shape) -> Vec<(&'static ResourceDecl, Value)> {
    let mut out = vec![(
        &org::ORGS,
        record(
            &org::ORGS,
            json!({"sourcedId": "district-1", "status": "active", "dateLastModified": modified(0),
            "name": "Unified District", "type": "district", "identifier": "D1"}),
        ),
    )];
    for s in 0..shape.schools() {
        out.push((
            &org::ORGS,
            record(
                &org::ORGS,
                json!({"sourcedId": format!("school-{s}"), "status": "active",
            "dateLastModified": modified(s), "name": format!("School {s}"), "type": "school",
            "identifier": format!("S{s}"), "parent": {"sourcedId": "district-1"}}),
            ),
        ));
    }
    for (id, title, start, end) in [
        ("term-fall", "Fall", "2026-08-15", "2026-12-20"),
        ("term-spring", "Spring", "2027-01-05", "2027-06-10"),
    ] {
        out.push((
            &academic_session::ACADEMIC_SESSIONS,
            record(
                &academic_session::ACADEMIC_SESSIONS,
                json!({
            "sourcedId": id, "status": "active", "dateLastModified": modified(1), "title": title, "type": "term",
            "startDate": start, "endDate": end, "schoolYear": "2027"}),
            ),
        ));
    }
    for c in 0..COURSES {
        out.push((
            &course::COURSES,
            record(
                &course::COURSES,
                json!({"sourcedId": format!("course-{c}"),
            "status": "active", "dateLastModified": modified(c), "title": format!("Course {c}"),
            "courseCode": format!("C{c:03}"), "org": {"sourcedId": "district-1"}}),
            ),
        ));
    }
    for k in 0..shape.classes() {
        out.push((
            &class::CLASSES,
            record(
                &class::CLASSES,
                json!({"sourcedId": format!("class-{k}"),
            "status": "active", "dateLastModified": modified(k), "title": format!("Class {k}"),
            "course": {"sourcedId": format!("course-{}", k % COURSES)},
            "school": {"sourcedId": format!("school-{}", k % shape.schools())},
            "terms": [{"sourcedId": "term-fall"}, {"sourcedId": "term-spring"}]}),
            ),
        ));
    }
    out
}

/// The resources [`user_records`] produces, in reference order.
pub const USER_RESOURCES: [&ResourceDecl; 3] = [&user::USERS, &demographics::DEMOGRAPHICS, &enrollment::ENROLLMENTS];

/// User `i` and the records that hang off it (demographics, enrollment).
pub fn user_records(shape: Shape, i: u64) -> Vec<(&'static ResourceDecl, Value)> {
    unnormalized(shape, i)
        .into_iter()
        .map(|(d, v)| (d, record(d, v)))
        .collect()
}

/// User `i`'s record of one resource, if it has one: the cheap way to
/// generate one resource at a time.
pub fn user_record(shape: Shape, i: u64, decl: &ResourceDecl) -> Option<Value> {
    let (decl, doc) = unnormalized(shape, i).into_iter().find(|(d, _)| *d == decl)?;
    Some(record(decl, doc))
}

fn unnormalized(shape: Shape, i: u64) -> Vec<(&'static ResourceDecl, Value)> {
    let mut rng = Rng(i.wrapping_mul(7919));
    let id = user_id(i);
    let (given, family) = (rng.pick(GIVEN), rng.pick(FAMILY));
    let school = format!("school-{}", i % shape.schools());
    let role = match i % 100 {
        0..=91 => "student",
        92..=98 => "teacher",
        _ => "principal",
    };
    let grade = (i % 13).to_string();
    let user_doc = json!({
        "sourcedId": id, "status": if i.is_multiple_of(50) { "tobedeleted" } else { "active" },
        "dateLastModified": modified(i), "enabledUser": "true", "username": format!("u{i}"),
        "userIds": [{"type": "SIS", "identifier": format!("SIS{i:07}")}],
        "givenName": given, "familyName": family,
        "roles": [{"roleType": "primary", "role": role, "org": {"sourcedId": school}}],
        "primaryOrg": {"sourcedId": school}, "email": format!("u{i}@district.example.org"),
        "grades": if role == "student" { vec![grade] } else { vec![] },
    });
    let mut out = vec![(&user::USERS, user_doc)];
    let class = format!("class-{}", i % shape.classes());
    if role == "student" {
        out.push((
            &demographics::DEMOGRAPHICS,
            json!({
                "sourcedId": id, "status": "active", "dateLastModified": modified(i),
                "birthDate": format!("{}-0{}-1{}", 2008 + i % 12, 1 + i % 9, i % 10),
                "sex": rng.pick(&["male", "female", "unspecified"]), "hispanicOrLatinoEthnicity": "false"}),
        ));
    }
    if role != "principal" {
        out.push((
            &enrollment::ENROLLMENTS,
            json!({
                "sourcedId": format!("enr-{i}"), "status": "active", "dateLastModified": modified(i),
                "user": {"sourcedId": id}, "class": {"sourcedId": class},
                "school": {"sourcedId": format!("school-{}", (i % shape.classes()) % shape.schools())},
                "role": role}),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_valid_and_deterministic() {
        let shape = Shape { users: 1000 };
        assert_eq!(user_records(shape, 7), user_records(shape, 7));
        for (decl, doc) in user_records(shape, 7) {
            assert_eq!(user_record(shape, 7, decl), Some(doc));
        }
        assert_ne!(user_id(1), user_id(2));
        for i in 0..200 {
            assert!(!user_records(shape, i).is_empty());
        }
        assert_eq!(
            structure(shape).len() as u64,
            1 + shape.schools() + 2 + COURSES + shape.classes()
        );
    }
}
