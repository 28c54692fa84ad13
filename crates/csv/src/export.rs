//! Exporting the store as a bulk package that imports back to the same
//! records: one file per resource with data (active records only: a bulk
//! file has no status column values), users split back into users.csv,
//! roles.csv and userProfiles.csv, string `metadata` keys as `metadata.*`
//! columns. Passwords are never exported: the store holds only hashes, and
//! an import keeps a stored password when the file leaves it blank.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

use rollcall_store::{ResourceStore, StoreError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::load::{for_each_page, is_active};
use crate::manifest;
use crate::spec::{ALL_FILES, FileKind, METADATA_PREFIX};

/// Rows written per file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    pub files: BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    #[error("writing the package: {0}")]
    Io(#[from] io::Error),
}

/// A row's cells and its record's metadata.
type SheetRow = (Vec<String>, Option<Map<String, Value>>);

/// One file being built.
#[derive(Default)]
struct Sheet {
    rows: Vec<SheetRow>,
}

impl Sheet {
    fn push(&mut self, cells: Vec<String>, metadata: Option<&Value>) {
        self.rows.push((cells, metadata.and_then(Value::as_object).cloned()));
    }

    /// The CSV bytes: header, then rows, with a `metadata.*` column for
    /// every string-valued metadata key any row has.
    fn into_csv(self, kind: FileKind) -> Vec<u8> {
        let keys: BTreeSet<String> = self
            .rows
            .iter()
            .filter_map(|(_, m)| m.as_ref())
            .flat_map(|m| m.iter().filter(|(_, v)| v.is_string()).map(|(k, _)| k.clone()))
            .collect();
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = kind.columns().iter().map(|c| c.name.to_owned());
        let header: Vec<String> = header
            .chain(keys.iter().map(|k| format!("{METADATA_PREFIX}{k}")))
            .collect();
        out.write_record(&header).expect("writing to memory");
        for (mut cells, metadata) in self.rows {
            for key in &keys {
                let value = metadata.as_ref().and_then(|m| m.get(key)).and_then(Value::as_str);
                cells.push(value.unwrap_or_default().to_owned());
            }
            out.write_record(&cells).expect("writing to memory");
        }
        out.into_inner().expect("writing to memory")
    }
}

/// Writes every active record of `store` as a bulk package at `dest`: a
/// `.zip` file, or else a directory (created if needed; OneRoster files in
/// it that this export does not write are removed, so it stays consistent).
pub async fn export(store: &dyn ResourceStore, dest: &Path) -> Result<ExportReport, ExportError> {
    let mut files: Vec<(FileKind, Vec<u8>)> = Vec::new();
    let mut report = ExportReport::default();
    for kind in FileKind::ALL.into_iter().filter(|k| k.is_resource()) {
        let mut sheets: BTreeMap<FileKind, Sheet> = BTreeMap::new();
        for_each_page(store, kind.decl(), |page| {
            for doc in page.iter().filter(|d| is_active(d)) {
                rows(kind, doc, &mut sheets);
            }
        })
        .await?;
        for (kind, sheet) in sheets.into_iter().filter(|(_, s)| !s.rows.is_empty()) {
            report.files.insert(kind.file_name(), sheet.rows.len() as u64);
            files.push((kind, sheet.into_csv(kind)));
        }
    }
    let present: Vec<&str> = files.iter().map(|(k, _)| k.name()).collect();
    let manifest = manifest::write_bulk(&present, "Rollcall");
    let named = std::iter::once((manifest::FILE.to_owned(), manifest))
        .chain(files.into_iter().map(|(k, b)| (k.file_name(), b)));
    if dest.extension().is_some_and(|e| e == "zip") {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(dest)?);
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in named {
            zip.start_file(name, options).map_err(io::Error::other)?;
            zip.write_all(&bytes)?;
        }
        zip.finish().map_err(io::Error::other)?;
    } else {
        std::fs::create_dir_all(dest)?;
        for stale in ALL_FILES.iter().filter(|f| !present.contains(f)) {
            match std::fs::remove_file(dest.join(format!("{stale}.csv"))) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        for (name, bytes) in named {
            std::fs::write(dest.join(name), bytes)?;
        }
    }
    Ok(report)
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

/// A list of strings, or of references with `sub` = "sourcedId".
fn list(doc: &Value, key: &str, sub: Option<&str>) -> String {
    let items = doc.get(key).and_then(Value::as_array).into_iter().flatten();
    let items: Vec<String> = items
        .map(|v| match sub {
            Some(sub) => text(v, sub),
            None => scalar(v),
        })
        .collect();
    items.join(",")
}

/// The CSV rows one stored record becomes.
fn rows(kind: FileKind, d: &Value, sheets: &mut BTreeMap<FileKind, Sheet>) {
    let id = text(d, "sourcedId");
    let head = |rest: Vec<String>| [vec![id.clone(), String::new(), String::new()], rest].concat();
    let cells = match kind {
        FileKind::Orgs => head(vec![
            text(d, "name"),
            text(d, "type"),
            text(d, "identifier"),
            reference(d, "parent"),
        ]),
        FileKind::AcademicSessions => head(vec![
            text(d, "title"),
            text(d, "type"),
            text(d, "startDate"),
            text(d, "endDate"),
            reference(d, "parent"),
            text(d, "schoolYear"),
        ]),
        FileKind::Courses => head(vec![
            reference(d, "schoolYear"),
            text(d, "title"),
            text(d, "courseCode"),
            list(d, "grades", None),
            reference(d, "org"),
            list(d, "subjects", None),
            list(d, "subjectCodes", None),
        ]),
        FileKind::Classes => head(vec![
            text(d, "title"),
            list(d, "grades", None),
            reference(d, "course"),
            text(d, "classCode"),
            text(d, "classType"),
            text(d, "location"),
            reference(d, "school"),
            list(d, "terms", Some("sourcedId")),
            list(d, "subjects", None),
            list(d, "subjectCodes", None),
            list(d, "periods", None),
        ]),
        FileKind::Users => {
            user_parts(&id, d, sheets);
            let ids = d.get("userIds").and_then(Value::as_array).into_iter().flatten();
            let ids: Vec<String> = ids
                .map(|u| format!("{{{}:{}}}", text(u, "type"), text(u, "identifier")))
                .collect();
            head(vec![
                text(d, "enabledUser"),
                text(d, "username"),
                ids.join(","),
                text(d, "givenName"),
                text(d, "familyName"),
                text(d, "middleName"),
                text(d, "identifier"),
                text(d, "email"),
                text(d, "sms"),
                text(d, "phone"),
                list(d, "agents", Some("sourcedId")),
                list(d, "grades", None),
                String::new(),
                text(d, "userMasterIdentifier"),
                text(d, "preferredFirstName"),
                text(d, "preferredMiddleName"),
                text(d, "preferredLastName"),
                reference(d, "primaryOrg"),
                text(d, "pronouns"),
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
        FileKind::Roles | FileKind::UserProfiles => unreachable!("exported with their user"),
    };
    sheets.entry(kind).or_default().push(cells, d.get("metadata"));
}

/// roles.csv and userProfiles.csv rows of a user. Roles have no sourcedId
/// in the JSON model, so theirs is derived: `<user>-r<n>`.
fn user_parts(id: &str, d: &Value, sheets: &mut BTreeMap<FileKind, Sheet>) {
    let roles = d.get("roles").and_then(Value::as_array).into_iter().flatten();
    for (n, role) in roles.enumerate() {
        let cells = vec![
            format!("{id}-r{n}"),
            String::new(),
            String::new(),
            id.to_owned(),
            text(role, "roleType"),
            text(role, "role"),
            text(role, "beginDate"),
            text(role, "endDate"),
            reference(role, "org"),
            text(role, "userProfile"),
        ];
        sheets
            .entry(FileKind::Roles)
            .or_default()
            .push(cells, role.get("metadata"));
    }
    let profiles = d.get("userProfiles").and_then(Value::as_array).into_iter().flatten();
    for profile in profiles {
        let credential = &profile["credentials"][0];
        let cells = vec![
            text(profile, "profileId"),
            String::new(),
            String::new(),
            id.to_owned(),
            text(profile, "profileType"),
            text(profile, "vendorId"),
            text(profile, "applicationId"),
            text(profile, "description"),
            text(credential, "type"),
            text(credential, "username"),
            String::new(),
        ];
        sheets.entry(FileKind::UserProfiles).or_default().push(cells, None);
    }
}
