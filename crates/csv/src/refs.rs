//! References between files (`enrollments.classSourcedId` → classes.csv …).
//! A reference must name a record that exists, active, once the import is
//! applied: in a bulk file that is the file itself (bulk sets are complete);
//! in a delta file the file or the store; for a file the package lacks, the
//! store. School and school-year references must point at the right type.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::load::Existing;
use crate::problem::{Problem, Problems};
use crate::read::Parsed;
use crate::spec::FileKind;
use crate::table::Row;

/// A type the target must have: `school` or `schoolYear`, or an `ext:` term.
type Want = Option<&'static str>;

/// (file, column, target, wanted type)
const REFS: &[(FileKind, &str, FileKind, Want)] = &[
    (FileKind::Orgs, "parentSourcedId", FileKind::Orgs, None),
    (
        FileKind::AcademicSessions,
        "parentSourcedId",
        FileKind::AcademicSessions,
        None,
    ),
    (
        FileKind::Courses,
        "schoolYearSourcedId",
        FileKind::AcademicSessions,
        Some("schoolYear"),
    ),
    (FileKind::Courses, "orgSourcedId", FileKind::Orgs, None),
    (FileKind::Classes, "courseSourcedId", FileKind::Courses, None),
    (FileKind::Classes, "schoolSourcedId", FileKind::Orgs, Some("school")),
    (FileKind::Classes, "termSourcedIds", FileKind::AcademicSessions, None),
    (FileKind::Users, "agentSourcedIds", FileKind::Users, None),
    (FileKind::Users, "primaryOrgSourcedId", FileKind::Orgs, None),
    (FileKind::Roles, "userSourcedId", FileKind::Users, None),
    (FileKind::Roles, "orgSourcedId", FileKind::Orgs, None),
    (FileKind::UserProfiles, "userSourcedId", FileKind::Users, None),
    (FileKind::Enrollments, "classSourcedId", FileKind::Classes, None),
    (FileKind::Enrollments, "schoolSourcedId", FileKind::Orgs, Some("school")),
    (FileKind::Enrollments, "userSourcedId", FileKind::Users, None),
    // Demographics share their user's sourcedId.
    (FileKind::Demographics, "sourcedId", FileKind::Users, None),
];

/// The ids a reference column names (lists are comma-separated).
fn targets<'r>(row: &'r Row, column: &str) -> impl Iterator<Item = &'r str> {
    row.get(column).split(',').map(str::trim).filter(|id| !id.is_empty())
}

/// Stored records the checks (and the planning) will need, by resource:
/// the package's own rows, the users that roles and profiles change, and
/// every reference target the package does not define.
/// Collections a bulk file replaces are read whole instead.
pub fn wanted(parsed: &Parsed) -> HashMap<FileKind, HashSet<String>> {
    let mut out: HashMap<FileKind, HashSet<String>> = HashMap::new();
    let read_whole = |kind: FileKind| parsed.replaces(kind);
    for table in parsed.tables.values() {
        let own = if table.kind.is_resource() {
            table.kind
        } else {
            FileKind::Users
        };
        if read_whole(own) {
            continue;
        }
        let ids = table.rows.iter().map(|r| r.owner().unwrap_or(r.id()).to_owned());
        out.entry(own).or_default().extend(ids);
    }
    for &(file, column, target, _) in REFS {
        let Some(table) = parsed.table(file).filter(|_| !read_whole(target)) else {
            continue;
        };
        let defined = parsed.table(target);
        for row in table.rows.iter().filter(|r| !r.deleted) {
            for id in targets(row, column) {
                if defined.is_none_or(|t| t.row(id).is_none()) {
                    out.entry(target).or_default().insert(id.to_owned());
                }
            }
        }
    }
    out
}

/// Checks every reference of every live row.
pub fn check(parsed: &Parsed, existing: &Existing, problems: &mut Problems) {
    for &(file, column, target, want) in REFS {
        let Some(table) = parsed.table(file) else { continue };
        let name = file.file_name();
        let parts = crate::par::map_chunks(&table.rows, |rows| {
            let mut found = Problems::with_cap(problems.cap());
            for row in rows.iter().filter(|r| !r.deleted) {
                for id in targets(row, column) {
                    let checked = find(parsed, existing, target, id).and_then(|kind| match (want, kind) {
                        (Some(want), Some(kind)) if kind != want && !kind.starts_with("ext:") => Err((
                            "semantic.type_mismatch",
                            format!("'{id}' is a {} of type '{kind}', not '{want}'", target.decl().singular),
                        )),
                        _ => Ok(()),
                    });
                    if let Err((rule, reason)) = checked {
                        found.push(Problem::new(&name, rule, reason).at(row.line).column(column));
                    }
                }
            }
            found
        });
        for part in parts {
            problems.merge(part);
        }
    }
    check_profiles(parsed, existing, problems);
}

/// The type of the target if it exists (None when it has none or it is
/// on a row rejected for another reason), or why it does not.
fn find(
    parsed: &Parsed,
    existing: &Existing,
    target: FileKind,
    id: &str,
) -> Result<Option<String>, (&'static str, String)> {
    let file = target.file_name();
    let missing = |reason: String| Err(("reference.missing_target_record", reason));
    let typed = matches!(target, FileKind::Orgs | FileKind::AcademicSessions);
    if let Some(table) = parsed.table(target) {
        if let Some(row) = table.row(id) {
            return match row.deleted {
                true => missing(format!("'{id}' is marked tobedeleted in {file}")),
                false => Ok(typed.then(|| row.get("type").to_owned())),
            };
        }
        if table.names(id) {
            return Ok(None);
        }
        if parsed.replaces(target) {
            return missing(format!("'{id}' is not in {file}"));
        }
    }
    match existing.get(target, id) {
        Some(doc) if doc.active => Ok(doc.value().get("type").and_then(Value::as_str).map(str::to_owned)),
        Some(_) => missing(format!("'{id}' is tobedeleted in the store and not in {file}")),
        None if parsed.table(target).is_some() => missing(format!("'{id}' is neither in {file} nor stored")),
        None => missing(format!("'{id}' is not stored, and {file} is not in the package")),
    }
}

/// `roles.userProfileSourcedId` must name a profile of the same user.
fn check_profiles(parsed: &Parsed, existing: &Existing, problems: &mut Problems) {
    let Some(roles) = parsed.table(FileKind::Roles) else {
        return;
    };
    let profiles = parsed.table(FileKind::UserProfiles);
    for row in roles.rows.iter().filter(|r| !r.deleted) {
        let (profile, Some(owner)) = (row.get("userProfileSourcedId"), row.owner()) else {
            continue;
        };
        if profile.is_empty() {
            continue;
        }
        let in_file = profiles.and_then(|t| t.row(profile));
        let problem = match in_file {
            Some(p) if p.deleted => Some(format!("'{profile}' is marked tobedeleted in userProfiles.csv")),
            Some(p) if p.owner() != Some(owner) => Some(format!(
                "profile '{profile}' belongs to user '{}', not '{owner}'",
                p.owner().unwrap_or_default()
            )),
            Some(_) => None,
            None if profiles.is_some_and(|t| t.names(profile)) => None,
            None if parsed.replaces(FileKind::UserProfiles) => Some(format!("'{profile}' is not in userProfiles.csv")),
            None if stored_profile(existing, owner, profile) => None,
            None => Some(format!(
                "user '{owner}' has no profile '{profile}' in the package or the store"
            )),
        };
        if let Some(reason) = problem {
            let rule = match in_file {
                Some(p) if !p.deleted => "semantic.user_profile_user_mismatch",
                _ => "reference.missing_target_record",
            };
            problems.push(
                Problem::new("roles.csv", rule, reason)
                    .at(row.line)
                    .column("userProfileSourcedId"),
            );
        }
    }
}

fn stored_profile(existing: &Existing, user: &str, profile: &str) -> bool {
    existing
        .value(FileKind::Users, user)
        .as_ref()
        .and_then(|u| u.get("userProfiles"))
        .and_then(Value::as_array)
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p.get("profileId").and_then(Value::as_str) == Some(profile))
        })
}
