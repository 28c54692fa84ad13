//! Malformed packages beyond the shared cases, as inline fixtures: CSV
//! dialect details (BOM, CRLF, quoting, blank lines, line breaks in fields,
//! invalid UTF-8), row shapes, formats, duplicates, vocabularies, semantic
//! rules, unsupported files, and the problem cap.

mod common;

use common::*;
use rollcall_csv::{FileKind, ImportOptions, Package, Problem, import};

const ORGS: &str = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n";
const USERS: &str = "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,\
identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,\
preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns\n";
const ROLES: &str = "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,userProfileSourcedId\n";

fn orgs(body: &str) -> Package {
    package(&[
        ("manifest.csv", &manifest(&[("orgs", "bulk")])),
        ("orgs.csv", &format!("{ORGS}{body}")),
    ])
}

fn people(users: &str, roles: &str) -> Package {
    let modes = [("orgs", "bulk"), ("users", "bulk"), ("roles", "bulk")];
    package(&[
        ("manifest.csv", &manifest(&modes)),
        (
            "orgs.csv",
            &format!("{ORGS}s1,,,School,school,,\ns2,,,Other,school,,\n"),
        ),
        ("users.csv", &format!("{USERS}{users}")),
        ("roles.csv", &format!("{ROLES}{roles}")),
    ])
}

const ANN: &str = "u1,,,true,ann,,Ann,Lee,,,ann@example.org,,,,,,,,,,s1,\n";

async fn problems(package: Package) -> Vec<Problem> {
    let (_tmp, store) = store("malformed");
    let found = rejected(import(&store, package, &options(1)).await);
    assert!(snapshot(&store).await.is_empty(), "a rejected package wrote records");
    found
}

async fn accepted(package: Package) -> Vec<(String, String, serde_json::Value)> {
    let (_tmp, store) = store("accepted");
    import(&store, package, &options(1)).await.expect("accepted");
    content(&store).await
}

/// Asserts one problem has this rule, line and column.
fn has(problems: &[Problem], rule: &str, line: Option<u64>, column: Option<&str>) {
    let ok = problems
        .iter()
        .any(|p| p.rule == rule && p.line == line && p.column.as_deref() == column);
    assert!(ok, "no {rule} at {line:?}/{column:?} in {problems:#?}");
}

#[tokio::test]
async fn dialect_bom_crlf_quotes_and_blank_lines_are_accepted() {
    let body = "\u{feff}sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\r\n\
                o1,,,\"North \"\"Lab\"\" School, East\",school,,\r\n\r\n\n";
    let manifest = format!("\u{feff}{}", manifest(&[("orgs", "bulk")]).replace('\n', "\r\n"));
    let records = accepted(package(&[("manifest.csv", &manifest), ("orgs.csv", body)])).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].2["name"], "North \"Lab\" School, East");
    assert_eq!(records[0].2["identifier"], "");
}

#[tokio::test]
async fn line_breaks_inside_fields_are_rejected() {
    let found = problems(orgs("o1,,,\"North\nSchool\",school,,\n")).await;
    has(&found, "csv.line_break_in_field", Some(2), Some("name"));
}

#[tokio::test]
async fn row_shapes_and_formats() {
    let found = problems(orgs(
        "o1,,,A,school,\no2,,,B,campus,,\no2,,,C,school,,\no/3,,,D,school,,\n",
    ))
    .await;
    has(&found, "table.row_width_mismatch", Some(2), None);
    has(&found, "row.invalid_enum", Some(3), Some("type"));
    has(&found, "reference.duplicate_sourced_id", Some(4), Some("sourcedId"));
    has(&found, "row.unsupported_guid", Some(5), Some("sourcedId"));
    let sessions = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
                    t1,,,Fall,term,2023-13-01,2024-01-10,,2024\n";
    let found = problems(package(&[
        ("manifest.csv", &manifest(&[("academicSessions", "bulk")])),
        ("academicSessions.csv", sessions),
    ]))
    .await;
    has(&found, "row.invalid_date", Some(2), Some("startDate"));
}

/// `.` and `..` fit the binding's GUID pattern, but as a URL path segment
/// they collapse into another URL: refused as the API refuses them, as ids
/// and as references.
#[tokio::test]
async fn dot_segment_sourced_ids_are_row_problems() {
    let found = problems(orgs(
        "s1,,,A,school,,\n.,,,B,school,,s1\n..,,,C,school,,\no4,,,D,school,,..\n",
    ))
    .await;
    has(&found, "row.unsupported_guid", Some(3), Some("sourcedId"));
    has(&found, "row.unsupported_guid", Some(4), Some("sourcedId"));
    has(&found, "row.unsupported_guid", Some(5), Some("parentSourcedId"));
    let roles = "r1,,,u1,primary,student,,,..,\n";
    has(
        &problems(people(ANN, roles)).await,
        "row.unsupported_guid",
        Some(2),
        Some("orgSourcedId"),
    );
}

#[tokio::test]
async fn headers_empty_files_and_encoding() {
    has(&problems(orgs("")).await, "table.no_rows", Some(2), None);
    let extra = package(&[
        ("manifest.csv", &manifest(&[("orgs", "bulk")])),
        (
            "orgs.csv",
            &format!("{}x\no1,,,A,school,,,1\n", ORGS.trim_end().to_owned() + ","),
        ),
    ]);
    has(&problems(extra).await, "schema.unknown_header", Some(1), Some("x"));
    let mut latin1 = format!("{ORGS}o1,,,Caf").into_bytes();
    latin1.extend(b"\xe9,school,,\n");
    let package = Package::from_files([
        ("manifest.csv".to_owned(), manifest(&[("orgs", "bulk")]).into_bytes()),
        ("orgs.csv".to_owned(), latin1),
    ]);
    has(&problems(package).await, "csv.malformed", Some(2), None);
}

#[tokio::test]
async fn package_level_problems() {
    let found = problems(package(&[
        ("manifest.csv", &manifest(&[("orgs", "bulk"), ("results", "bulk")])),
        ("orgs.csv", &format!("{ORGS}o1,,,A,school,,\n")),
        ("results.csv", "sourcedId\n"),
        ("notes.csv", "x\n"),
    ]))
    .await;
    assert!(
        found
            .iter()
            .any(|p| p.rule == "package.unsupported_file" && p.file == "results.csv")
    );
    assert!(
        found
            .iter()
            .any(|p| p.rule == "package.unknown_file" && p.file == "notes.csv")
    );
    let newer = manifest(&[("orgs", "bulk")]).replace("oneroster.version,1.2", "oneroster.version,1.2.1");
    let found = problems(package(&[
        ("manifest.csv", &newer),
        ("orgs.csv", &format!("{ORGS}o1,,,A,school,,\n")),
    ]))
    .await;
    has(
        &found,
        "manifest.invalid_oneroster_version",
        Some(3),
        Some("oneroster.version"),
    );
}

#[tokio::test]
async fn semantic_rules() {
    let two_primaries = "r1,,,u1,primary,student,,,s1,\nr2,,,u1,primary,teacher,,,s1,\n";
    has(
        &problems(people(ANN, two_primaries)).await,
        "semantic.multiple_primary_roles_for_user_org",
        Some(3),
        Some("roleType"),
    );
    let other_org = "r1,,,u1,primary,student,,,s2,\n";
    has(
        &problems(people(ANN, other_org)).await,
        "semantic.primary_org_missing_role",
        Some(2),
        Some("primaryOrgSourcedId"),
    );
    let bob = "u2,,,true,bob,,Bob,Ray,,,ANN@example.org,,,,,,,,,,,\n";
    let found = problems(people(&format!("{ANN}{bob}"), "r1,,,u1,primary,student,,,s1,\n")).await;
    has(&found, "semantic.user_without_roles", Some(3), None);
    let both = "r1,,,u1,primary,student,,,s1,\nr2,,,u2,primary,student,,,s1,\n";
    let found = problems(people(&format!("{ANN}{bob}"), both)).await;
    has(&found, "semantic.duplicate_email", Some(3), Some("email"));
    let bad_email = ANN.replace("ann@example.org", "ann.example.org");
    has(
        &problems(people(&bad_email, "r1,,,u1,primary,student,,,s1,\n")).await,
        "row.invalid_value",
        Some(2),
        Some("email"),
    );
    let ext_role_type = "r1,,,u1,ext:main,student,,,s1,\n";
    has(
        &problems(people(ANN, ext_role_type)).await,
        "row.invalid_enum",
        Some(2),
        Some("roleType"),
    );
}

#[tokio::test]
async fn school_references_must_be_schools_and_subjects_pair_up() {
    let modes = [
        ("orgs", "bulk"),
        ("academicSessions", "bulk"),
        ("courses", "bulk"),
        ("classes", "bulk"),
    ];
    let classes = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,\
                   schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n\
                   k1,,,Math,,c1,,scheduled,,d1,t1,\"Math,Art\",MATH,\nk2,,,Art,,c1,,scheduled,,d1,t1,,,\n";
    let found = problems(package(&[
        ("manifest.csv", &manifest(&modes)),
        ("orgs.csv", &format!("{ORGS}d1,,,District,district,,\n")),
        (
            "academicSessions.csv",
            "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
             t1,,,Fall,term,2023-08-15,2024-01-10,,2024\n",
        ),
        (
            "courses.csv",
            "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,\
             subjectCodes\nc1,,,t1,Math,,,d1,,\n",
        ),
        ("classes.csv", classes),
    ]))
    .await;
    has(&found, "row.invalid_list", Some(2), Some("subjectCodes"));
    has(&found, "semantic.type_mismatch", Some(3), Some("schoolSourcedId"));
    has(&found, "semantic.type_mismatch", Some(2), Some("schoolYearSourcedId"));
}

/// New users start loading before the rest of the package is checked; a
/// problem found there (a reference in a later file) withdraws that load.
/// Nothing is stored, through a shared store and through a single
/// connection (as `rollcall import` opens it, where the waiting load holds
/// the only connection).
#[tokio::test]
async fn a_late_problem_withdraws_the_users_already_loading() {
    let modes = [
        ("orgs", "bulk"),
        ("users", "bulk"),
        ("roles", "bulk"),
        ("enrollments", "bulk"),
    ];
    let users: String = (0..50)
        .map(|i| format!("u{i},,,true,user{i},,Ann,Lee,,,u{i}@example.org,,,,,,,,,,s1,\n"))
        .collect();
    let roles: String = (0..50)
        .map(|i| format!("r{i},,,u{i},primary,student,,,s1,\n"))
        .collect();
    let enrollments = format!("{}e1,,,k9,s1,u1,student,,,\n", FileKind::Enrollments.header());
    let files = [
        ("manifest.csv", manifest(&modes)),
        ("orgs.csv", format!("{ORGS}s1,,,School,school,,\n")),
        ("users.csv", format!("{USERS}{users}")),
        ("roles.csv", format!("{ROLES}{roles}")),
        ("enrollments.csv", enrollments),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
    for (name, (_tmp, store)) in [("shared", store("late")), ("alone", store_alone("late"))] {
        let found = rejected(import(&store, package(&files), &options(1)).await);
        has(
            &found,
            "reference.missing_target_record",
            Some(2),
            Some("classSourcedId"),
        );
        assert!(
            snapshot(&store).await.is_empty(),
            "{name}: a rejected package wrote records"
        );
    }
}

#[tokio::test]
async fn problems_are_capped_but_counted() {
    let body: String = (0..500).map(|i| format!("o{i},,,Org,campus,,\n")).collect();
    let (_tmp, store) = store("cap");
    match import(
        &store,
        orgs(&body),
        &ImportOptions {
            max_problems: 100,
            ..options(1)
        },
    )
    .await
    {
        Err(rollcall_csv::ImportError::Rejected { problems, total }) => {
            assert_eq!((problems.len(), total), (100, 500));
            assert!(problems.windows(2).all(|w| w[0].line <= w[1].line), "sorted by line");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}
