//! Whatever the API accepts exports to a package that imports into an empty
//! database and reads back identical: random valid records are created and
//! soft-deleted through the service engine the REST API runs on, exported,
//! imported into a fresh store, and every stored record (status,
//! dateLastModified, metadata, password hashes and all) compared; imported
//! over the original, the export changes nothing.

mod common;

use std::sync::Arc;

use common::*;
use oneroster::model::{academic_session, class, course, demographics, enrollment, org, user};
use oneroster::{FixedClock, ResourceDecl};
use proptest::prelude::*;
use rollcall_csv::{Package, export, import};
use rollcall_service::Engine;
use serde_json::{Value, json};

/// Text that tests the binding's edges: formula-leading cells (behind
/// quotes too), commas, line breaks, padding, non-ASCII, blanks.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z]{1,6}",
        "[=+@'a-z ,\t\n\r-]{1,6}",
        prop::sample::select(vec![
            "=SUM(A1)", "'=1", "''-2", "-", "@x", "a,b", " pad ", "Zoë", "'", "\"q\""
        ])
        .prop_map(str::to_owned),
    ]
}

/// Text the API takes where it must not be blank.
fn name() -> impl Strategy<Value = String> {
    text().prop_map(|t| if t.trim().is_empty() { format!("n{t}") } else { t })
}

fn maybe<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn metadata() -> impl Strategy<Value = Option<Value>> {
    let value = prop_oneof![
        text().prop_map(Value::from),
        Just(Value::from("")),
        any::<i32>().prop_map(Value::from),
        Just(json!({"nested": [1, "x"], "n": null})),
    ];
    let key = prop::sample::select(vec!["a", "b", "rollcall", "x.y", "onboarding"]);
    maybe(prop::collection::btree_map(key, value, 0..3))
        .prop_map(|m| m.map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())))
}

fn list() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(name(), 0..3)
}

/// Sets `key` when `value` is `Some`.
fn put(doc: &mut Value, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        doc[key] = v.into();
    }
}

fn reference(id: &str) -> Value {
    json!({ "sourcedId": id })
}

/// One district's worth of API requests: (resource, body) in creation order,
/// then the records to DELETE.
#[derive(Debug, Clone)]
struct World {
    records: Vec<(&'static ResourceDecl, Value)>,
    deletes: Vec<(&'static ResourceDecl, String)>,
}

const ORGS: [&str; 3] = ["d1", "s1", "s2"];
const USERS: [&str; 4] = ["u1", "-u2", "@u3", "u4"];

fn orgs() -> impl Strategy<Value = Vec<(&'static ResourceDecl, Value)>> {
    (name(), name(), metadata(), maybe(text()), any::<bool>()).prop_map(|(n1, n2, meta, identifier, parented)| {
        ORGS.iter()
            .enumerate()
            .map(|(i, id)| {
                let kind = if i == 0 { "district" } else { "school" };
                let mut doc = json!({"sourcedId": id, "name": if i == 1 { &n1 } else { &n2 }, "type": kind,
                    "identifier": identifier.clone().unwrap_or_default()});
                if i > 0 && parented {
                    doc["parent"] = reference("d1");
                }
                put(&mut doc, "metadata", meta.clone());
                (&org::ORGS, doc)
            })
            .collect()
    })
}

fn structure() -> impl Strategy<Value = Vec<(&'static ResourceDecl, Value)>> {
    let session = (name(), maybe(prop::sample::select(vec!["2027", "2026-27"])), metadata());
    let course = (name(), text(), maybe(Just(())), any::<bool>(), list(), metadata());
    let class = (
        name(),
        maybe(prop::sample::select(vec!["homeroom", "scheduled", "ext:lab"])),
        maybe(text()),
        list(),
        list(),
        any::<bool>(),
        metadata(),
    );
    (session, course, prop::collection::vec(class, 2)).prop_map(|((title, year, smeta), course, classes)| {
        let mut out = Vec::new();
        let mut year_doc = json!({"sourcedId": "y1", "title": title, "type": "schoolYear",
            "startDate": "2026-08-01", "endDate": "2027-07-31", "schoolYear": year.unwrap_or("2027")});
        put(&mut year_doc, "metadata", smeta);
        out.push((&academic_session::ACADEMIC_SESSIONS, year_doc));
        out.push((
            &academic_session::ACADEMIC_SESSIONS,
            json!({"sourcedId": "t1", "title": "Fall", "type": "term", "startDate": "2026-08-15",
                "endDate": "2026-12-20", "schoolYear": "2027", "parent": reference("y1")}),
        ));
        let (ctitle, code, org, with_year, subjects, cmeta) = course;
        let mut c = json!({"sourcedId": "c1", "title": ctitle, "courseCode": code, "subjects": subjects});
        if org.is_some() {
            c["org"] = reference("d1");
        }
        if with_year {
            c["schoolYear"] = reference("y1");
        }
        put(&mut c, "metadata", cmeta);
        out.push((&course::COURSES, c));
        for (k, (title, kind, location, grades, periods, both_terms, meta)) in classes.into_iter().enumerate() {
            let terms = if both_terms {
                vec![reference("t1"), reference("y1")]
            } else {
                vec![reference("t1")]
            };
            let mut doc = json!({"sourcedId": format!("k{k}"), "title": title, "course": reference("c1"),
                "school": reference(ORGS[1 + k]), "terms": terms, "grades": grades, "periods": periods});
            put(&mut doc, "classType", kind);
            put(&mut doc, "location", location);
            put(&mut doc, "metadata", meta);
            out.push((&class::CLASSES, doc));
        }
        out
    })
}

fn role() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec![
        "student",
        "teacher",
        "administrator",
        "system_administrator",
        "ext:coach",
    ]);
    let org = prop::sample::select(ORGS.to_vec());
    let meta = maybe(Just(json!({"alphaLevelAccess": ["L1"], "timebackRole": "guide"})));
    (any::<bool>(), name, org, meta, maybe(Just("2026-09-01"))).prop_map(|(primary, role, org, meta, begin)| {
        let mut doc = json!({"roleType": if primary { "primary" } else { "secondary" }, "role": role,
            "org": reference(org)});
        put(&mut doc, "metadata", meta);
        put(&mut doc, "beginDate", begin);
        doc
    })
}

fn users() -> impl Strategy<Value = Vec<(&'static ResourceDecl, Value)>> {
    let profile = (
        prop::sample::select(vec!["p1", "p 2", "p3"]),
        text(),
        prop::collection::vec((name(), name()), 0..3),
    );
    let user = (
        (name(), name(), maybe(text()), maybe(text()), any::<bool>()),
        prop::collection::vec(role(), 1..3),
        (
            maybe(prop::sample::select(ORGS.to_vec())),
            list(),
            maybe(Just(())),
            metadata(),
        ),
        prop::collection::vec(profile, 0..2),
        (maybe(Just(())), maybe(text())),
    );
    prop::collection::vec(user, USERS.len()).prop_map(|users| {
        let mut out = Vec::new();
        for (i, (names, roles, extra, profiles, (password, sex))) in users.into_iter().enumerate() {
            let (given, family, username, middle, enabled) = names;
            let (primary_org, grades, agent, meta) = extra;
            let id = USERS[i];
            let mut doc = json!({"sourcedId": id, "givenName": given, "familyName": family,
                "enabledUser": enabled, "roles": roles, "grades": grades,
                "userIds": [{"type": "SIS", "identifier": format!("{id},x")}],
                "email": format!("{}@example.org", id.trim_start_matches(['-', '@']))});
            // Usernames are unique keys: the user's id first keeps them apart.
            put(&mut doc, "username", username.map(|u| format!("{id}:{u}")));
            put(&mut doc, "middleName", middle);
            put(&mut doc, "primaryOrg", primary_org.map(reference));
            put(&mut doc, "metadata", meta);
            // Hashing is slow in a debug build: one user with a password.
            if i == 0 && password.is_some() {
                doc["password"] = "s3cret".into();
            }
            if agent.is_some() && i > 0 {
                doc["agents"] = json!([reference(USERS[0]), reference("nobody")]);
            }
            let profiles: Vec<Value> = profiles
                .into_iter()
                .map(|(pid, vendor, credentials)| {
                    let credentials: Vec<Value> = credentials
                        .into_iter()
                        .map(|(kind, username)| json!({"type": kind, "username": username}))
                        .collect();
                    json!({"profileId": pid, "profileType": "lms", "vendorId": vendor, "credentials": credentials})
                })
                .collect();
            doc["userProfiles"] = profiles.into();
            out.push((&user::USERS, doc));
            let mut demo = json!({"sourcedId": id, "birthDate": "2010-01-02"});
            put(&mut demo, "sex", sex.map(|_| "female"));
            out.push((&demographics::DEMOGRAPHICS, demo));
            for (k, school) in [(0, "s1"), (1, "s2")] {
                out.push((
                    &enrollment::ENROLLMENTS,
                    json!({"sourcedId": format!("e{i}{k}"), "user": reference(id), "class": reference(&format!("k{k}")),
                        "school": reference(school), "role": if i % 2 == 0 { "student" } else { "administrator" },
                        "primary": k == 0}),
                ));
            }
        }
        out
    })
}

fn world() -> impl Strategy<Value = World> {
    let deletable = prop::sample::select(vec![
        (&org::ORGS, "s2"),
        (&org::ORGS, "d1"),
        (&academic_session::ACADEMIC_SESSIONS, "t1"),
        (&course::COURSES, "c1"),
        (&class::CLASSES, "k0"),
        (&user::USERS, USERS[1]),
        (&user::USERS, USERS[3]),
        (&enrollment::ENROLLMENTS, "e00"),
        (&demographics::DEMOGRAPHICS, USERS[2]),
    ]);
    (orgs(), structure(), users(), prop::collection::vec(deletable, 0..4)).prop_map(|(orgs, rest, users, deletes)| {
        World {
            records: orgs.into_iter().chain(rest).chain(users).collect(),
            deletes: deletes.into_iter().map(|(d, id)| (d, id.to_owned())).collect(),
        }
    })
}

/// Builds `world` through the engine, as the REST API would with
/// `Rollcall-Reference-Check: off`: the world holds references to records
/// written later or never (an agent `nobody`), which an export must carry.
async fn build(world: &World, store: Arc<rollcall_store_sqlite::SqliteStore>) {
    let clock = Arc::new(FixedClock::new(at(1)));
    let engine = Engine::new(store, clock.clone()).without_reference_check();
    for (decl, body) in &world.records {
        clock.advance(chrono::Duration::milliseconds(1500));
        let created = engine.create(decl, body.clone()).await;
        assert!(created.is_ok(), "the API refuses {body}: {created:?}");
    }
    for (decl, id) in &world.deletes {
        clock.advance(chrono::Duration::seconds(1));
        engine.delete(decl, id).await.unwrap();
    }
}

async fn round_trip(world: World) -> Result<(), TestCaseError> {
    let (tmp, original) = store("prop-a");
    let original = Arc::new(original);
    build(&world, original.clone()).await;
    let out = tmp.path().join("export");
    export(original.as_ref(), &out).await.unwrap();
    let (_tmp, copy) = store("prop-b");
    let imported = import(&copy, Package::open(&out).unwrap(), &options(20)).await;
    prop_assert!(imported.is_ok(), "the export does not import: {imported:?}");
    let (before, after) = (snapshot(&original).await, snapshot(&copy).await);
    for (a, b) in before.iter().zip(&after) {
        prop_assert_eq!(a, b);
    }
    prop_assert_eq!(before.len(), after.len());
    let again = import(original.as_ref(), Package::open(&out).unwrap(), &options(21)).await;
    for (collection, counts) in &again.unwrap().resources {
        prop_assert_eq!(
            counts.written(),
            0,
            "importing the export over the original rewrote {}",
            collection
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn api_records_export_and_import_back_identical(world in world()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(round_trip(world))?;
    }
}

/// The cells other consumers read are neutralised against formula injection.
#[tokio::test]
async fn formula_cells_are_neutralised_in_the_file() {
    let (tmp, original) = store("formula");
    let original = Arc::new(original);
    let engine = Engine::new(original.clone(), Arc::new(FixedClock::new(at(1))));
    let org = json!({"sourcedId": "o1", "name": "=HYPERLINK(\"x\")", "type": "district", "identifier": "'+1",
        "metadata": {"note": "@SUM(A1)"}});
    engine.create(&org::ORGS, org).await.unwrap();
    let out = tmp.path().join("export");
    export(original.as_ref(), &out).await.unwrap();
    let orgs = std::fs::read_to_string(out.join("orgs.csv")).unwrap();
    assert!(
        orgs.contains("\"'=HYPERLINK(\"\"x\"\")\"") && orgs.contains(",''+1,") && orgs.contains(",'@SUM(A1),"),
        "{orgs}"
    );
    let (_tmp, copy) = store("formula-b");
    import_dir(&copy, &out, &options(2)).await.unwrap();
    assert_eq!(snapshot(&copy).await, snapshot(&original).await);
}

/// A conformant view for other consumers: required cells filled, the
/// placeholders marked for Rollcall in metadata.rollcall.
#[tokio::test]
async fn required_cells_the_record_lacks_get_placeholders() {
    let (tmp, original) = store("placeholders");
    let original = Arc::new(original);
    let engine = Engine::new(original.clone(), Arc::new(FixedClock::new(at(1))));
    for (decl, body) in [
        (
            &org::ORGS,
            json!({"sourcedId": "s1", "name": "S", "type": "school", "identifier": "S"}),
        ),
        (
            &academic_session::ACADEMIC_SESSIONS,
            json!({"sourcedId": "t1", "title": "T", "type": "term", "startDate": "2026-08-15", "endDate": "2026-12-20", "schoolYear": "2027"}),
        ),
        (
            &course::COURSES,
            json!({"sourcedId": "c1", "title": "C", "courseCode": "C1"}),
        ),
        (
            &class::CLASSES,
            json!({"sourcedId": "k1", "title": "K", "course": reference("c1"), "school": reference("s1"), "terms": [reference("t1")]}),
        ),
        (
            &user::USERS,
            json!({"sourcedId": "u1", "givenName": "A", "familyName": "B", "enabledUser": true,
            "roles": [{"roleType": "primary", "role": "administrator", "org": reference("s1")}]}),
        ),
    ] {
        engine.create(decl, body).await.unwrap();
    }
    let out = tmp.path().join("export");
    export(original.as_ref(), &out).await.unwrap();
    let file = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let manifest = file("manifest.csv");
    assert!(manifest.contains("file.users,delta"), "{manifest}");
    assert!(file("classes.csv").contains(",scheduled,"), "classType placeholder");
    assert!(file("classes.csv").contains(r#"{""classType"":null}"#));
    assert!(
        file("users.csv").contains(",true,u1,"),
        "username placeholder: the sourcedId"
    );
    assert!(
        file("courses.csv").contains(",s1,"),
        "a course without org: the first org"
    );
    assert!(
        file("roles.csv").contains(",ext:administrator,"),
        "a TimeBack role as its ext: term"
    );
    let (_tmp, copy) = store("placeholders-b");
    import_dir(&copy, &out, &options(2)).await.unwrap();
    assert_eq!(snapshot(&copy).await, snapshot(&original).await);
}

/// A store holding one org whose metadata only `metadata.rollcall` carries,
/// exported to a folder.
async fn exported_org(name: &str) -> (TempDir, std::path::PathBuf) {
    let (tmp, original) = store(name);
    let original = Arc::new(original);
    let engine = Engine::new(original.clone(), Arc::new(FixedClock::new(at(1))));
    let org = json!({"sourcedId": "o1", "name": "O", "type": "district", "identifier": "O", "metadata": {"n": 1}});
    engine.create(&org::ORGS, org).await.unwrap();
    let out = tmp.path().join("export");
    export(original.as_ref(), &out).await.unwrap();
    (tmp, out)
}

/// A `metadata.rollcall` cell that is not a JSON object is a precise
/// problem, and nothing is written.
#[tokio::test]
async fn a_broken_rollcall_cell_is_rejected() {
    let (_tmp, out) = exported_org("broken").await;
    let orgs = std::fs::read_to_string(out.join("orgs.csv")).unwrap();
    std::fs::write(
        out.join("orgs.csv"),
        orgs.replace(r#""{""metadata"":{""n"":1}}""#, "[1]"),
    )
    .unwrap();
    let (_tmp, copy) = store("broken-b");
    let problems = rejected(import_dir(&copy, &out, &options(2)).await);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = &problems[0];
    assert_eq!(
        (p.file.as_str(), p.line, p.column.as_deref(), p.rule),
        ("orgs.csv", Some(2), Some("metadata.rollcall"), "row.invalid_value")
    );
    assert!(snapshot(&copy).await.is_empty());
}

/// A `metadata.rollcall` cell naming another sourcedId cannot store the row
/// under an id other than its own column's.
#[tokio::test]
async fn a_rollcall_cell_cannot_change_the_sourced_id() {
    let (_tmp, out) = exported_org("other-id").await;
    let orgs = std::fs::read_to_string(out.join("orgs.csv")).unwrap();
    let planted = orgs.replace(
        r#""{""metadata"":{""n"":1}}""#,
        r#""{""metadata"":{""n"":1},""sourcedId"":""o2""}""#,
    );
    assert_ne!(planted, orgs, "the cell to edit was not found: {orgs}");
    std::fs::write(out.join("orgs.csv"), planted).unwrap();
    let (_tmp, copy) = store("other-id-b");
    import_dir(&copy, &out, &options(2)).await.unwrap();
    let stored = snapshot(&copy).await;
    let ids: Vec<_> = stored
        .iter()
        .map(|(_, id, doc)| (id.clone(), doc["sourcedId"].clone()))
        .collect();
    assert_eq!(ids, vec![("o1".to_owned(), json!("o1"))]);
}
