//! TimeBack's course components, component resources and
//! createCourseStructure, through the generic engine: the five operations
//! of each with the documented bodies, precise errors that change nothing,
//! and a course structure stored all or nothing.

use serde_json::{Value, json};

use crate::helpers::TestApp;

fn course() -> Value {
    json!({"sourcedId": "course-1", "status": "active", "title": "Algebra", "courseCode": "ALG1",
           "org": {"sourcedId": "school-1"}})
}

/// A server holding `course-1` in `school-1`, which components refer to.
async fn with_course() -> TestApp {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("courses", "course", course()).await;
    app
}

fn component(id: &str, title: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "course": {"sourcedId": "course-1"},
           "parent": null, "title": title, "sortOrder": 1, "prerequisites": ["unit-0"],
           "prerequisiteCriteria": "ALL", "unlockDate": "2021-01-01T00:00:00.000Z"})
}

fn component_resource(id: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "courseComponent": {"sourcedId": "unit-1"},
           "resource": {"sourcedId": "res-1"}, "title": "Fractions video", "sortOrder": 0,
           "lessonType": "quiz"})
}

#[tokio::test]
async fn course_components_have_the_five_operations() {
    let app = with_course().await;
    let r = app
        .post(
            "courses/components",
            json!({"courseComponent": component("unit-1", "Fractions")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["sourcedIdPairs"]["allocatedSourcedId"], "unit-1");

    let r = app.get("courses/components/unit-1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = &r.body["courseComponent"];
    assert_eq!(got["title"], "Fractions");
    assert_eq!(got["sortOrder"], 1);
    assert_eq!(got["unlockDate"], "2021-01-01T00:00:00.000Z");
    assert_eq!(got["prerequisites"], json!(["unit-0"]));
    assert_eq!(got["course"]["sourcedId"], "course-1");
    assert!(
        got["course"]["href"].as_str().unwrap().ends_with("/courses/course-1"),
        "{got}"
    );

    let r = app
        .get("courses/components?filter=course.sourcedId%3D%27course-1%27")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.ids("courseComponents"), ["unit-1"]);
    assert_eq!(r.body["totalCount"], 1);

    let r = app
        .put(
            "courses/components/unit-1",
            json!({"courseComponent": component("unit-1", "Fractions, again")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["courseComponent"]["title"], "Fractions, again");
    assert_eq!(app.delete("courses/components/unit-1").await.status, 204);
    let r = app.get("courses/components/unit-1").await;
    assert_eq!(r.body["courseComponent"]["status"], "tobedeleted");
    // The course routes beside them are untouched.
    app.get("courses/unit-1").await.assert_imsx(404, "unknownobject");
}

#[tokio::test]
async fn a_component_without_an_unlock_date_is_unlocked_from_when_it_was_written() {
    let app = with_course().await;
    let mut body = component("unit-1", "Fractions");
    body.as_object_mut().unwrap().remove("unlockDate");
    body.as_object_mut().unwrap().remove("sortOrder");
    app.create("courses/components", "courseComponent", body).await;
    let got = app.get("courses/components/unit-1").await.body["courseComponent"].clone();
    assert_eq!(got["unlockDate"], got["dateLastModified"], "{got}");
    assert_eq!(got["sortOrder"], 0);
}

#[tokio::test]
async fn a_bad_component_is_refused_precisely_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let mut body = component("unit-1", "Fractions");
    body.as_object_mut().unwrap().remove("course");
    let r = app.post("courses/components", json!({"courseComponent": body})).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"].as_str().unwrap().contains("course"),
        "{}",
        r.body
    );
    let mut body = component("unit-1", "Fractions");
    body["unlockDate"] = "soon".into();
    let r = app.post("courses/components", json!({"courseComponent": body})).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .starts_with("courseComponent.unlockDate"),
        "{}",
        r.body
    );
    assert_eq!(app.get("courses/components").await.body["totalCount"], 0);
}

#[tokio::test]
async fn component_resources_have_the_five_operations() {
    let app = with_course().await;
    app.create(
        "courses/components",
        "courseComponent",
        component("unit-1", "Fractions"),
    )
    .await;
    let r = app
        .post(
            "courses/component-resources",
            json!({"componentResource": component_resource("cr-1")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.get("courses/component-resources/cr-1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = &r.body["componentResource"];
    assert_eq!(got["lessonType"], "quiz");
    assert_eq!(got["courseComponent"]["type"], "courseComponent");
    assert!(
        got["courseComponent"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/courses/components/unit-1"),
        "{got}"
    );
    assert_eq!(got["resource"]["sourcedId"], "res-1");

    let r = app
        .get("courses/component-resources?filter=lessonType%3D%27quiz%27")
        .await;
    assert_eq!(r.ids("componentResources"), ["cr-1"], "{}", r.body);
    let mut changed = component_resource("cr-1");
    changed["lessonType"] = "unit-test".into();
    let r = app
        .put(
            "courses/component-resources/cr-1",
            json!({"componentResource": changed}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["componentResource"]["lessonType"], "unit-test");
    assert_eq!(app.delete("courses/component-resources/cr-1").await.status, 204);
    assert_eq!(
        app.get("courses/component-resources/cr-1").await.body["componentResource"]["status"],
        "tobedeleted"
    );

    let mut bad = component_resource("cr-2");
    bad["lessonType"] = "lecture".into();
    let r = app
        .post("courses/component-resources", json!({"componentResource": bad}))
        .await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .starts_with("componentResource.lessonType"),
        "{}",
        r.body
    );
    app.get("courses/component-resources/cr-2")
        .await
        .assert_imsx(404, "unknownobject");
}

/// createCourseStructure's documented body: two lessons of one unit and one
/// of another.
fn structure() -> Value {
    let lesson = |code: &str, unit: &str| {
        json!({"url": format!("https://qti.example.org/tests/{code}"), "skillCode": "S1",
               "lessonCode": code, "title": format!("Lesson {code}"), "unit-title": unit,
               "status": "active", "xp": 10})
    };
    json!({"course": course(), "courseStructure": {
        "l1": lesson("L1", "Fractions"),
        "l2": {"url": "https://qti.example.org/tests/L2", "skillCode": "S2", "lessonCode": "L2",
               "title": "Lesson L2", "unit-title": "Decimals", "status": "active", "xp": 5,
               "stimulus": {"title": "Reading", "identifier": "stim-1"},
               "video": {"url": "https://video.example.org/1", "title": "Intro"}},
        "l3": lesson("L3", "Fractions"),
    }})
}

#[tokio::test]
async fn a_course_structure_creates_the_course_and_its_components() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let r = app.post("courses/structure", structure()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["sourcedIdPairs"]["allocatedSourcedId"], "course-1");
    assert_eq!(app.get("courses/course-1").await.body["course"]["title"], "Algebra");

    let r = app
        .get("courses/components?filter=course.sourcedId%3D%27course-1%27&limit=100")
        .await;
    let components = r.body["courseComponents"].as_array().unwrap().clone();
    assert_eq!(components.len(), 5, "two units and three lessons: {}", r.body);
    let units: Vec<&Value> = components.iter().filter(|c| c.get("parent").is_none()).collect();
    let mut titles: Vec<&str> = units.iter().map(|u| u["title"].as_str().unwrap()).collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Decimals", "Fractions"]);
    let fractions = units.iter().find(|u| u["title"] == "Fractions").unwrap();
    assert_eq!(fractions["sortOrder"], 0, "first seen first");
    let lessons: Vec<&Value> = components
        .iter()
        .filter(|c| c["parent"]["sourcedId"] == fractions["sourcedId"])
        .collect();
    assert_eq!(lessons.len(), 2);
    let l3 = lessons.iter().find(|l| l["title"] == "Lesson L3").unwrap();
    assert_eq!(l3["sourcedId"], "course-1.lesson.l3");
    assert_eq!(fractions["sourcedId"], "course-1.unit.1");
    assert_eq!(l3["sortOrder"], 1);
    assert_eq!(l3["metadata"]["courseStructureKey"], "l3");
    assert_eq!(l3["metadata"]["lesson"]["xp"], 10);
    let l2 = components.iter().find(|l| l["title"] == "Lesson L2").unwrap();
    assert_eq!(l2["metadata"]["lesson"]["stimulus"]["identifier"], "stim-1");
}

#[tokio::test]
async fn a_course_structure_with_a_bad_lesson_stores_nothing() {
    let app = TestApp::spawn().await;
    let mut body = structure();
    body["courseStructure"]["l3"]["xp"] = "ten".into();
    let r = app.post("courses/structure", body).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"]
            .as_str()
            .unwrap()
            .starts_with("courseStructure.l3: xp"),
        "{}",
        r.body
    );
    app.get("courses/course-1").await.assert_imsx(404, "unknownobject");
    assert_eq!(app.get("courses/components").await.body["totalCount"], 0);
}

#[tokio::test]
async fn a_course_structure_with_a_taken_lesson_id_stores_nothing() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let mut taken = component("course-1.lesson.l3", "Already here");
    taken["course"] = json!({"sourcedId": "other-course"});
    let mut other = course();
    other["sourcedId"] = json!("other-course");
    app.create("courses", "course", other).await;
    app.create("courses/components", "courseComponent", taken).await;
    let r = app.post("courses/structure", structure()).await;
    r.assert_imsx(409, "invaliddata");
    app.get("courses/course-1").await.assert_imsx(404, "unknownobject");
    let r = app.get("courses/components").await;
    assert_eq!(
        r.ids("courseComponents"),
        ["course-1.lesson.l3"],
        "the course and its other components went too"
    );
}

#[tokio::test]
async fn a_course_structure_whose_course_is_taken_stores_nothing() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("courses", "course", course()).await;
    let r = app.post("courses/structure", structure()).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(app.get("courses/components").await.body["totalCount"], 0);

    let mut body = structure();
    body["course"]["sourcedId"] = "course-2".into();
    body["course"].as_object_mut().unwrap().remove("title");
    let r = app.post("courses/structure", body).await;
    r.assert_imsx(422, "invaliddata");
    assert!(
        r.body["imsx_description"].as_str().unwrap().starts_with("course: "),
        "{}",
        r.body
    );
    app.get("courses/course-2").await.assert_imsx(404, "unknownobject");
    assert_eq!(app.get("courses/components").await.body["totalCount"], 0);
}

/// Netex's `extendedFields` on the structure's course is taken as on
/// createCourse (it used to be dropped silently), and checked.
#[tokio::test]
async fn a_course_structure_takes_the_courses_extended_fields() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    let field = json!({"name": "level", "type": "enum", "values": ["intro", "honors"]});
    assert_eq!(app.post("/admin/extensions/courses", field).await.status, 201);
    let mut body = structure();
    body["course"]["extendedFields"] = json!({"level": "advanced"});
    app.post("courses/structure", body.clone())
        .await
        .assert_imsx(422, "invaliddata");
    body["course"]["extendedFields"] = json!({"level": "honors"});
    let r = app.post("courses/structure", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let course = app.get("courses/course-1").await;
    assert_eq!(
        course.body["course"]["metadata"]["ext"]["level"], "honors",
        "{}",
        course.body
    );
}
