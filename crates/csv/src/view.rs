//! The rows an export writes for one stored record: its conformant view in
//! the binding's columns, and in `metadata.rollcall` whatever that view
//! could not carry (see `extension`).
//!
//! The view keeps every file a consumer can load on its own terms:
//! - every cell passes the binding's format checks: a required value the
//!   record lacks or the binding cannot express gets a placeholder
//!   (`classType` → `scheduled`, `username` → the sourcedId, a course's
//!   missing org → the district, a TimeBack role → its `ext:` term, other
//!   text → `unknown`), an optional one is left blank;
//! - references resolve: an optional reference to a record that is not
//!   exported as active is left out; a record whose required reference is
//!   not active is exported as `tobedeleted` (with its stored status in
//!   `metadata.rollcall`), as are a user without a role in an active org
//!   and the demographics of a user that is not active.
//!
//! What the import makes of each row is computed here with the import's own
//! conversion, and every top-level field where that differs from the stored
//! record goes to `metadata.rollcall`, so the round trip is exact by
//! construction, whatever the view had to change.

use std::collections::{BTreeMap, HashMap, HashSet};

use oneroster::primitives::is_extension;
use serde_json::{Map, Value};

use crate::cell;
use crate::convert::{check_row, convert};
use crate::extension;
use crate::load::is_active;
use crate::spec::{Col, FileKind, Kind, Need};

/// One row to write: the binding's cells, the string metadata written as
/// `metadata.*` columns, and the `metadata.rollcall` fields.
#[derive(Debug, Default)]
pub struct Line {
    pub cells: Vec<String>,
    pub metadata: Map<String, Value>,
    pub rest: Map<String, Value>,
}

/// The records exported as active so far (with the type of orgs and
/// academic sessions), which references may point at.
#[derive(Debug, Default)]
pub struct Live {
    ids: HashMap<FileKind, HashMap<String, Option<String>>>,
    /// The org a course without one is written with: the first district,
    /// or else the first org.
    root_org: Option<String>,
    /// Profile ids written so far: userProfiles.csv needs them unique.
    profiles: HashSet<String>,
}

impl Live {
    fn has(&self, kind: FileKind, id: &str) -> bool {
        self.ids.get(&kind).is_some_and(|ids| ids.contains_key(id))
    }

    /// An active org or session of type `want` (or an `ext:` type), as the
    /// import's reference check requires.
    fn has_typed(&self, kind: FileKind, id: &str, want: &str) -> bool {
        let kind = self.ids.get(&kind).and_then(|ids| ids.get(id)).cloned().flatten();
        kind.is_some_and(|k| k == want || k.starts_with("ext:"))
    }
}

/// The lines of every record of `kind` (records in sourcedId order), by
/// file; registers the records exported as active in `live`.
pub fn lines(kind: FileKind, docs: &[Value], live: &mut Live) -> BTreeMap<FileKind, Vec<Line>> {
    let alive: HashMap<String, Option<String>> = docs
        .iter()
        .filter(|d| is_active(d) && requirements_met(kind, d, live))
        .map(|d| {
            (
                text(d, "sourcedId"),
                d.get("type").and_then(Value::as_str).map(str::to_owned),
            )
        })
        .collect();
    if kind == FileKind::Orgs {
        let district = docs
            .iter()
            .map(|d| text(d, "sourcedId"))
            .find(|id| alive.get(id).is_some_and(|t| t.as_deref() == Some("district")));
        live.root_org = district.or_else(|| {
            docs.iter()
                .map(|d| text(d, "sourcedId"))
                .find(|id| alive.contains_key(id))
        });
    }
    live.ids.insert(kind, alive);
    let mut out: BTreeMap<FileKind, Vec<Line>> = BTreeMap::new();
    for d in docs {
        let Some(stored) = d.as_object() else { continue };
        if kind == FileKind::Users {
            user_lines(d, stored, live, &mut out);
            continue;
        }
        let status = status(kind, stored, live);
        let mut line = Line {
            cells: cells(kind, d, live, status),
            metadata: string_metadata(d),
            rest: Map::new(),
        };
        conform(kind, &mut line.cells);
        let planned = planned(kind, &line);
        line.rest = rest(kind, stored, planned, status);
        out.entry(kind).or_default().push(line);
    }
    out
}

/// Whether an active record's required references are all exported as active.
fn requirements_met(kind: FileKind, d: &Value, live: &Live) -> bool {
    let to = |key: &str| reference(d, key);
    match kind {
        FileKind::Orgs | FileKind::AcademicSessions => true,
        FileKind::Courses => match d.get("org") {
            Some(_) => live.has(FileKind::Orgs, &to("org")),
            None => live.root_org.is_some(),
        },
        FileKind::Classes => {
            live.has(FileKind::Courses, &to("course"))
                && live.has_typed(FileKind::Orgs, &to("school"), "school")
                && refs(d, "terms").any(|t| live.has(FileKind::AcademicSessions, &t))
        }
        FileKind::Users => {
            let id = text(d, "sourcedId");
            items(d, "roles")
                .enumerate()
                .any(|(n, role)| role_written(&id, n, role, live))
        }
        FileKind::Enrollments => {
            live.has(FileKind::Classes, &to("class"))
                && live.has_typed(FileKind::Orgs, &to("school"), "school")
                && live.has(FileKind::Users, &to("user"))
        }
        FileKind::Demographics => live.has(FileKind::Users, &text(d, "sourcedId")),
        FileKind::Roles | FileKind::UserProfiles => unreachable!("written with their user"),
    }
}

fn role_id(user: &str, n: usize) -> String {
    format!("{user}-r{n}")
}

/// Whether a role gets a roles.csv row: its org is active and its derived
/// sourcedId is a GUID.
fn role_written(user: &str, n: usize, role: &Value, live: &Live) -> bool {
    live.has(FileKind::Orgs, &reference(role, "org")) && cell::guid(&role_id(user, n)).is_ok()
}

/// The status written: the stored one, or `tobedeleted` for an active
/// record whose required references are not exported as active.
fn status(kind: FileKind, stored: &Map<String, Value>, live: &Live) -> &'static str {
    let id = stored.get("sourcedId").and_then(Value::as_str).unwrap_or_default();
    match live.has(kind, id) {
        true => "active",
        false => "tobedeleted",
    }
}

/// The binding's cells of a record other than a user, before `conform`.
fn cells(kind: FileKind, d: &Value, live: &Live, status: &str) -> Vec<String> {
    let id = text(d, "sourcedId");
    let optional = |key: &str, target: FileKind| {
        let to = reference(d, key);
        if live.has(target, &to) { to } else { String::new() }
    };
    let head = |rest: Vec<String>| [vec![id.clone(), status.to_owned(), text(d, "dateLastModified")], rest].concat();
    match kind {
        FileKind::Orgs => head(vec![
            text(d, "name"),
            text(d, "type"),
            text(d, "identifier"),
            optional("parent", FileKind::Orgs),
        ]),
        FileKind::AcademicSessions => head(vec![
            text(d, "title"),
            text(d, "type"),
            text(d, "startDate"),
            text(d, "endDate"),
            optional("parent", FileKind::AcademicSessions),
            text(d, "schoolYear"),
        ]),
        FileKind::Courses => {
            let year = reference(d, "schoolYear");
            let year = match live.has_typed(FileKind::AcademicSessions, &year, "schoolYear") {
                true => year,
                false => String::new(),
            };
            let org = match d.get("org") {
                Some(_) => reference(d, "org"),
                None => live.root_org.clone().unwrap_or_else(|| id.clone()),
            };
            head(vec![
                year,
                text(d, "title"),
                text(d, "courseCode"),
                list(d, "grades"),
                org,
                list(d, "subjects"),
                list(d, "subjectCodes"),
            ])
        }
        FileKind::Classes => {
            let terms: Vec<String> = refs(d, "terms").collect();
            let live_terms: Vec<&String> = terms
                .iter()
                .filter(|t| live.has(FileKind::AcademicSessions, t))
                .collect();
            let terms = match (status, live_terms.is_empty()) {
                ("active", false) => live_terms.into_iter().cloned().collect::<Vec<_>>().join(","),
                _ => terms.join(","),
            };
            head(vec![
                text(d, "title"),
                list(d, "grades"),
                reference(d, "course"),
                text(d, "classCode"),
                text(d, "classType"),
                text(d, "location"),
                reference(d, "school"),
                terms,
                list(d, "subjects"),
                list(d, "subjectCodes"),
                list(d, "periods"),
            ])
        }
        FileKind::Enrollments => head(vec![
            reference(d, "class"),
            reference(d, "school"),
            reference(d, "user"),
            text(d, "role"),
            text(d, "primary"),
            text(d, "beginDate"),
            text(d, "endDate"),
        ]),
        FileKind::Demographics => head(crate::spec::DEMOGRAPHICS[3..].iter().map(|c| text(d, c.name)).collect()),
        FileKind::Users | FileKind::Roles | FileKind::UserProfiles => unreachable!("see user_lines"),
    }
}

/// A user's users.csv line, and for an active user its roles.csv and
/// userProfiles.csv lines.
fn user_lines(d: &Value, stored: &Map<String, Value>, live: &mut Live, out: &mut BTreeMap<FileKind, Vec<Line>>) {
    let id = text(d, "sourcedId");
    let status = status(FileKind::Users, stored, live);
    let modified = text(d, "dateLastModified");
    let head = |rest: Vec<String>| [vec![id.clone(), status.to_owned(), modified.clone()], rest].concat();
    let (mut roles, mut profiles) = (Vec::new(), Vec::new());
    if status == "active" {
        for profile in items(d, "userProfiles") {
            let profile_id = text(profile, "profileId");
            if cell::guid(&profile_id).is_err() || !live.profiles.insert(profile_id.clone()) {
                continue;
            }
            let credential = profile.get("credentials").and_then(|c| c.get(0));
            let credential = |key: &str| credential.map(|c| text(c, key)).unwrap_or_default();
            let username = [credential("username"), text(d, "username"), id.clone()]
                .into_iter()
                .find(|u| !u.is_empty())
                .unwrap_or_default();
            let mut cells = vec![profile_id, status.to_owned(), modified.clone(), id.clone()];
            cells.extend([
                text(profile, "profileType"),
                text(profile, "vendorId"),
                text(profile, "applicationId"),
                text(profile, "description"),
                credential("type"),
                username,
                String::new(),
            ]);
            profiles.push(line(FileKind::UserProfiles, cells, Map::new()));
        }
        let profile_ids: HashSet<&str> = profiles.iter().map(|l: &Line| l.cells[0].as_str()).collect();
        let mut primary_in: HashSet<String> = HashSet::new();
        for (n, role) in items(d, "roles").enumerate() {
            if !role_written(&id, n, role, live) {
                continue;
            }
            let org = reference(role, "org");
            let mut role_type = text(role, "roleType");
            if role_type == "primary" && !primary_in.insert(org.clone()) {
                role_type = "secondary".into();
            }
            let profile = text(role, "userProfile");
            let profile = if profile_ids.contains(profile.as_str()) {
                profile
            } else {
                String::new()
            };
            let mut cells = vec![role_id(&id, n), status.to_owned(), modified.clone(), id.clone()];
            cells.extend([
                role_type,
                text(role, "role"),
                text(role, "beginDate"),
                text(role, "endDate"),
                org,
                profile,
            ]);
            roles.push(line(FileKind::Roles, cells, string_metadata(role)));
        }
    }
    let agents: Vec<String> = refs(d, "agents").filter(|a| live.has(FileKind::Users, a)).collect();
    let primary_org = reference(d, "primaryOrg");
    let primary_org = match roles.iter().any(|r| r.cells[8] == primary_org) {
        true => primary_org,
        false => String::new(),
    };
    let user_ids: Vec<String> = items(d, "userIds")
        .map(|u| format!("{{{}:{}}}", text(u, "type"), text(u, "identifier")))
        .collect();
    let cells = head(vec![
        text(d, "enabledUser"),
        text(d, "username"),
        user_ids.join(","),
        text(d, "givenName"),
        text(d, "familyName"),
        text(d, "middleName"),
        text(d, "identifier"),
        text(d, "email"),
        text(d, "sms"),
        text(d, "phone"),
        agents.join(","),
        list(d, "grades"),
        String::new(),
        text(d, "userMasterIdentifier"),
        text(d, "preferredFirstName"),
        text(d, "preferredMiddleName"),
        text(d, "preferredLastName"),
        primary_org,
        text(d, "pronouns"),
    ]);
    let mut user = line(FileKind::Users, cells, string_metadata(d));
    let mut planned = planned(FileKind::Users, &user);
    planned.insert("roles".into(), Value::Array(folded(FileKind::Roles, &roles, role_key)));
    planned.insert(
        "userProfiles".into(),
        Value::Array(folded(FileKind::UserProfiles, &profiles, |p| {
            (text(p, "profileId"), String::new())
        })),
    );
    user.rest = rest(FileKind::Users, stored, planned, status);
    out.entry(FileKind::Users).or_default().push(user);
    out.entry(FileKind::Roles).or_default().extend(roles);
    out.entry(FileKind::UserProfiles).or_default().extend(profiles);
}

fn line(kind: FileKind, mut cells: Vec<String>, metadata: Map<String, Value>) -> Line {
    conform(kind, &mut cells);
    Line {
        cells,
        metadata,
        rest: Map::new(),
    }
}

/// The roles (or profiles) the import assembles from these lines: an entry
/// with the key of an earlier one replaces it, as a delta row does.
fn folded(kind: FileKind, lines: &[Line], key: fn(&Value) -> (String, String)) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for l in lines {
        let entry = Value::Object(planned(kind, l));
        match out.iter().position(|e| key(e) == key(&entry)) {
            Some(i) => out[i] = entry,
            None => out.push(entry),
        }
    }
    out
}

fn role_key(role: &Value) -> (String, String) {
    (reference(role, "org"), text(role, "role"))
}

/// What the import makes of a line (see `Table::obj`).
fn planned(kind: FileKind, line: &Line) -> Map<String, Value> {
    let cells: Vec<&str> = line.cells.iter().map(String::as_str).collect();
    let mut obj = convert(kind, &cells);
    if !line.metadata.is_empty() {
        obj.insert("metadata".into(), Value::Object(line.metadata.clone()));
    }
    obj
}

/// The `metadata.rollcall` fields: where the stored record differs from
/// what the import makes of its line (compared in canonical form when that
/// validates), and the stored status when the line's differs.
fn rest(
    kind: FileKind,
    stored: &Map<String, Value>,
    mut planned: Map<String, Value>,
    status: &str,
) -> Map<String, Value> {
    for key in ["status", "dateLastModified"] {
        if let Some(v) = stored.get(key) {
            planned.insert(key.into(), v.clone());
        }
    }
    let planned = match (kind.decl().normalize)(Value::Object(planned.clone())) {
        Ok(Value::Object(canonical)) => canonical,
        _ => planned,
    };
    let mut rest = extension::differences(stored, &planned);
    if stored.get("status").and_then(Value::as_str) != Some(status) {
        rest.insert("status".into(), stored.get("status").cloned().unwrap_or(Value::Null));
    }
    rest
}

/// Makes every cell pass the binding's checks: line breaks become spaces in
/// text, a value that still fails is replaced by a placeholder (required
/// columns) or left blank (optional ones), and a rule across cells that
/// fails (subjects/subjectCodes pairs, the email's `@`) blanks its column.
fn conform(kind: FileKind, cells: &mut [String]) {
    let columns = kind.columns();
    for (i, col) in columns.iter().enumerate() {
        if matches!(col.kind, Kind::Text | Kind::TextList | Kind::UserIds) && cells[i].contains(['\r', '\n']) {
            cells[i] = cells[i].replace(['\r', '\n'], " ");
        }
        if cell::check(col, &cells[i], false).is_err() {
            cells[i] = match col.need {
                Need::Required => placeholder(kind, col, cells),
                _ => String::new(),
            };
        }
    }
    loop {
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        let Err((column, _)) = check_row(kind, &refs) else {
            break;
        };
        let at = columns
            .iter()
            .position(|c| c.name == column)
            .expect("a rule names a column");
        cells[at] = String::new();
    }
}

/// The value written for a required column the record cannot fill.
fn placeholder(kind: FileKind, col: &Col, cells: &[String]) -> String {
    let at = kind
        .columns()
        .iter()
        .position(|c| c.name == col.name)
        .expect("the column");
    match (kind, col.name, col.kind) {
        (FileKind::Classes, "classType", _) => "scheduled".into(),
        (FileKind::Users, "username", _) => cells[0].clone(),
        (FileKind::AcademicSessions, "schoolYear", _) => cells[6].get(..4).unwrap_or("2000").into(),
        (_, _, Kind::Vocab(values, extensible)) => {
            let term = format!("ext:{}", cells[at]);
            match extensible && is_extension(&term) {
                true => term,
                false => values[0].into(),
            }
        }
        _ => "unknown".into(),
    }
}

/// String metadata a `metadata.*` column can carry as is: non-empty, on
/// one line, not under the key of the `metadata.rollcall` column.
fn string_metadata(d: &Value) -> Map<String, Value> {
    let entries = d.get("metadata").and_then(Value::as_object).into_iter().flatten();
    entries
        .filter(|(k, v)| {
            k.as_str() != extension::KEY && v.as_str().is_some_and(|s| !s.is_empty() && !s.contains(['\r', '\n']))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn text(doc: &Value, key: &str) -> String {
    doc.get(key).map_or_else(String::new, scalar)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn reference(doc: &Value, key: &str) -> String {
    doc.get(key).map_or_else(String::new, |r| text(r, "sourcedId"))
}

fn items<'d>(doc: &'d Value, key: &str) -> impl Iterator<Item = &'d Value> + use<'d> {
    doc.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn refs<'d>(doc: &'d Value, key: &str) -> impl Iterator<Item = String> + use<'d> {
    items(doc, key).map(|r| text(r, "sourcedId"))
}

/// A list of strings as one comma-separated cell.
fn list(doc: &Value, key: &str) -> String {
    items(doc, key).map(scalar).collect::<Vec<_>>().join(",")
}
