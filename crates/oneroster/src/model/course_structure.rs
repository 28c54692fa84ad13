//! TimeBack's `createCourseStructure`: a course and its outline in one body.
//! `courseStructure` maps each lesson's key to its QTI test (`url`), codes,
//! title, `unit-title` and `xp`. The outline becomes course components: one
//! unit per distinct `unit-title` (in the order first seen), and under it
//! one lesson per entry (in the order given), the lesson's test details
//! kept in its `metadata`. Their sourcedIds follow from the course's, so a
//! client can address them and sending the same structure twice is a
//! conflict rather than a second outline: `<course>.unit.<n>` (from 1) and
//! `<course>.lesson.<key>`. Planning is pure; the service stores the plan in
//! one transaction.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::course::COURSES;
use super::course_component::COURSE_COMPONENTS;
use super::parse_as;
use crate::SourcedId;
use crate::resource::{ModelError, ResourceDecl};

/// One lesson of the outline, as the body carries it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Lesson {
    url: String,
    skill_code: String,
    lesson_code: String,
    title: String,
    #[serde(rename = "unit-title")]
    unit_title: String,
    status: String,
    xp: serde_json::Number,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stimulus: Option<Stimulus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    video: Option<Video>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Stimulus {
    title: String,
    identifier: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct Video {
    url: String,
    title: String,
}

/// A record to create: where it came from in the body (for errors), its
/// resource and its body.
#[derive(Debug)]
pub struct Planned {
    pub at: String,
    pub decl: &'static ResourceDecl,
    pub body: Value,
}

/// The records a `createCourseStructure` body stands for, the course first.
pub fn plan(body: Value) -> Result<Vec<Planned>, ModelError> {
    let Value::Object(mut body) = body else {
        return Err(ModelError("the body must be an object".into()));
    };
    let mut course = match body.remove("course") {
        Some(Value::Object(course)) => course,
        _ => return Err(ModelError("course: an object is required".into())),
    };
    let outline = match body.remove("courseStructure") {
        Some(Value::Object(outline)) => outline,
        _ => return Err(ModelError("courseStructure: an object is required".into())),
    };
    let course_id = match course.get("sourcedId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => SourcedId::allocate().to_string(),
    };
    course.insert("sourcedId".into(), course_id.clone().into());
    let mut planned = vec![Planned {
        at: "course".into(),
        decl: &COURSES,
        body: Value::Object(course),
    }];
    planned.extend(components(&course_id, outline)?);
    Ok(planned)
}

/// The units and lessons of `outline`, for the course `course_id`.
fn components(course_id: &str, outline: Map<String, Value>) -> Result<Vec<Planned>, ModelError> {
    let mut units: Vec<(String, String, Vec<Planned>)> = Vec::new();
    for (key, entry) in outline {
        let at = format!("courseStructure.{key}");
        let lesson: Lesson = parse_as(entry).map_err(|e| ModelError(format!("{at}: {}", e.0)))?;
        let unit = match units.iter().position(|(title, ..)| *title == lesson.unit_title) {
            Some(n) => n,
            None => {
                let id = format!("{course_id}.unit.{}", units.len() + 1);
                units.push((lesson.unit_title.clone(), id, Vec::new()));
                units.len() - 1
            }
        };
        let (_, unit_id, lessons) = &mut units[unit];
        let body = json!({
            "sourcedId": format!("{course_id}.lesson.{key}"),
            "course": { "sourcedId": course_id },
            "parent": { "sourcedId": unit_id },
            "title": lesson.title,
            "sortOrder": lessons.len(),
            "metadata": { "courseStructureKey": key, "lesson": lesson },
        });
        lessons.push(Planned {
            at,
            decl: &COURSE_COMPONENTS,
            body,
        });
    }
    let mut planned = Vec::new();
    for (n, (title, id, lessons)) in units.into_iter().enumerate() {
        planned.push(Planned {
            at: format!("courseStructure (unit '{title}')"),
            decl: &COURSE_COMPONENTS,
            body: json!({
                "sourcedId": id,
                "course": { "sourcedId": course_id },
                "title": title,
                "sortOrder": n,
            }),
        });
        planned.extend(lessons);
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(unit: &str) -> Value {
        json!({"url": "u", "skillCode": "s", "lessonCode": "l", "title": "t",
               "unit-title": unit, "status": "active", "xp": 1})
    }

    #[test]
    fn units_in_the_order_first_seen_then_their_lessons() {
        let body = json!({"course": {"sourcedId": "c"}, "courseStructure": {
            "b": lesson("Two"), "a": lesson("One"), "c": lesson("Two") }});
        let planned = plan(body).unwrap();
        let ids: Vec<&str> = planned.iter().map(|p| p.body["sourcedId"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            ["c", "c.unit.1", "c.lesson.b", "c.lesson.c", "c.unit.2", "c.lesson.a"]
        );
        assert_eq!(planned[3].body["sortOrder"], 1);
        assert_eq!(planned[3].body["parent"]["sourcedId"], "c.unit.1");
    }

    #[test]
    fn a_bad_lesson_is_named_by_its_key() {
        let mut bad = lesson("One");
        bad.as_object_mut().unwrap().remove("url");
        let body = json!({"course": {}, "courseStructure": { "k1": bad }});
        let e = plan(body).unwrap_err();
        assert!(e.0.starts_with("courseStructure.k1: missing field `url`"), "{e}");
        assert!(
            plan(json!({"course": {}}))
                .unwrap_err()
                .0
                .starts_with("courseStructure")
        );
    }
}
