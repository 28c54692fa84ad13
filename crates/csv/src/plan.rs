//! Deciding every write before making any: for each row, the record as it
//! will be stored (the row, plus what the CSV cannot carry kept from the
//! stored record), validated by the resource's `normalize`, and compared with
//! what is stored: create, replace, leave alone, or soft-delete. Bulk files
//! also soft-delete the stored records they lack.

use rollcall_service::rules;
use serde_json::{Map, Value};

use crate::load::{Existing, id_of, is_active};
use crate::problem::{Problem, Problems};
use crate::read::Parsed;
use crate::report::Counts;
use crate::spec::FileKind;
use crate::table::Table;

/// Fields the CSV binding has no column for; kept from the stored record
/// so that an import does not erase what the REST API set. (`children` is
/// not derived from `parentSourcedId`: the REST API does not derive it
/// either, and a delta file could not keep it right.)
const KEPT: &[&str] = &["resources", "children", "password"];

/// A record to store over the current one, with the version it was
/// planned from: the write is refused if the record changed since.
#[derive(Debug)]
pub struct Replacement {
    pub id: String,
    /// The stored record's `dateLastModified` when it was read.
    pub read: Option<String>,
    pub text: String,
}

impl Replacement {
    fn of(stored: &Value, text: String) -> Self {
        Self {
            id: id_of(stored).to_owned(),
            read: stored["dateLastModified"].as_str().map(str::to_owned),
            text,
        }
    }
}

/// The writes for one resource. Records are held as JSON text until they
/// are written, for the memory (see `load::Stored`).
#[derive(Debug, Default)]
pub struct Acc {
    pub inserts: Vec<String>,
    /// Whole records to store over the current ones (soft deletes included).
    pub updates: Vec<Replacement>,
    pub counts: Counts,
    pub problems: Problems,
    /// Users this import soft-deletes (for the mass-change guard).
    pub deleted: Vec<String>,
    /// The sourcedId and unique values of every user written (for the
    /// check that they stay unique).
    pub uniques: Vec<crate::unique::Written>,
    /// Where records are serialised before being copied out at their size:
    /// a `String` grown while serialising reallocates a few times per record.
    scratch: Vec<u8>,
}

impl Acc {
    pub fn new(cap: usize) -> Self {
        Self {
            problems: Problems::with_cap(cap),
            ..Self::default()
        }
    }

    pub fn merge(&mut self, other: Acc) {
        self.inserts.extend(other.inserts);
        self.updates.extend(other.updates);
        self.counts.add(other.counts);
        self.problems.merge(other.problems);
        self.deleted.extend(other.deleted);
        self.uniques.extend(other.uniques);
    }

    /// `doc` as JSON text, allocated once at its length.
    fn text(&mut self, doc: &Value) -> String {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, doc).expect("a JSON value serialises");
        String::from_utf8(self.scratch.clone()).expect("serde_json writes UTF-8")
    }

    fn written(&mut self, kind: FileKind, doc: &Value) {
        if kind == FileKind::Users {
            self.uniques.push((id_of(doc).to_owned(), crate::unique::values(doc)));
        }
    }

    /// Stores `doc` (without status and dateLastModified) as the record's
    /// new content, unless it equals the stored one.
    pub fn put(
        &mut self,
        kind: FileKind,
        doc: Map<String, Value>,
        stored: Option<&Value>,
        now: &str,
    ) -> Result<(), String> {
        let id = doc
            .get("sourcedId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let value = rules::stamp(kind.decl(), doc, &id, now).map_err(|e| e.0)?;
        self.store(kind, value, stored, now)
    }

    /// Stores a row of a Rollcall export (`doc` with the fields of
    /// `Table::restore` laid over it): with the status it carries and, when
    /// new, its dateLastModified, so that an export restores exactly.
    pub fn restore(
        &mut self,
        kind: FileKind,
        doc: Map<String, Value>,
        stored: Option<&Value>,
        now: &str,
    ) -> Result<(), String> {
        let value = (kind.decl().normalize)(Value::Object(doc)).map_err(|e| e.0)?;
        self.store(kind, value, stored, now)
    }

    fn store(&mut self, kind: FileKind, mut value: Value, stored: Option<&Value>, now: &str) -> Result<(), String> {
        if kind == FileKind::Users && stored.is_some_and(is_active) && !is_active(&value) {
            self.deleted.push(id_of(&value).to_owned());
        }
        match stored {
            None => {
                self.counts.created += 1;
                self.written(kind, &value);
                let text = self.text(&value);
                self.inserts.push(text);
            }
            Some(stored) => {
                let stamp = |v: &mut Value, at: Value| v["dateLastModified"] = at;
                stamp(&mut value, stored["dateLastModified"].clone());
                if value == *stored {
                    self.counts.unchanged += 1;
                } else {
                    stamp(&mut value, now.into());
                    self.counts.updated += 1;
                    self.written(kind, &value);
                    let text = self.text(&value);
                    self.updates.push(Replacement::of(stored, text));
                }
            }
        }
        Ok(())
    }

    /// A soft delete, as the API's DELETE does it; already-deleted records
    /// are left alone, records never stored are ignored.
    pub fn delete(&mut self, kind: FileKind, stored: Option<&Value>, now: &str) {
        match stored {
            Some(stored) if is_active(stored) => {
                let mut doc = stored.clone();
                rules::soft_delete(&mut doc, now);
                if kind == FileKind::Users {
                    self.deleted.push(id_of(&doc).to_owned());
                }
                self.counts.to_be_deleted += 1;
                self.written(kind, &doc);
                let text = self.text(&doc);
                self.updates.push(Replacement::of(stored, text));
            }
            Some(_) => self.counts.unchanged += 1,
            None => {}
        }
    }

    /// Soft-deletes the stored records a bulk file lacks.
    pub fn delete_absent(&mut self, kind: FileKind, table: &Table, existing: &Existing, now: &str) {
        for (id, stored) in existing.all(kind) {
            if !table.names(id) && stored.active {
                self.delete(kind, Some(&stored.value()), now);
            }
        }
    }
}

/// Copies into `doc` what the CSV cannot carry from the stored record, and
/// merges `metadata`: the file's `metadata.*` columns replace those keys.
pub fn keep_stored(doc: &mut Map<String, Value>, stored: Option<&Value>, metadata_columns: &[String]) {
    let Some(stored) = stored.and_then(Value::as_object) else {
        return;
    };
    for key in KEPT {
        if let (false, Some(v)) = (doc.contains_key(*key), stored.get(*key)) {
            doc.insert((*key).to_owned(), v.clone());
        }
    }
    if let Some(Value::Object(old)) = stored.get("metadata") {
        let mut merged: Map<String, Value> = old
            .iter()
            .filter(|(k, _)| !metadata_columns.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(Value::Object(new)) = doc.remove("metadata") {
            merged.extend(new);
        }
        if !merged.is_empty() {
            doc.insert("metadata".into(), Value::Object(merged));
        }
    }
}

/// Plans one resource file other than users (see `users`).
pub fn plan_table(parsed: &Parsed, table: &Table, existing: &Existing, now: &str, cap: usize) -> Acc {
    let kind = table.kind;
    let parts = crate::par::map_chunks(&table.rows, |rows| {
        let mut acc = Acc::new(cap);
        for row in rows {
            let stored = existing.value(kind, row.id());
            let restore = table.restore(row);
            if row.deleted && restore.is_none() {
                acc.delete(kind, stored.as_ref(), now);
                continue;
            }
            let mut doc = table.obj(row);
            keep_stored(&mut doc, stored.as_ref(), &table.metadata);
            let planned = match restore {
                None => acc.put(kind, doc, stored.as_ref(), now),
                Some(fields) => {
                    crate::extension::lay_over(&mut doc, fields);
                    acc.restore(kind, doc, stored.as_ref(), now)
                }
            };
            if let Err(reason) = planned {
                acc.problems.push(invalid(kind, row.line, &reason));
            }
        }
        acc
    });
    let mut acc = Acc::new(cap);
    for part in parts {
        acc.merge(part);
    }
    if parsed.replaces(kind) {
        acc.delete_absent(kind, table, existing, now);
    }
    acc
}

/// A record `normalize` rejected, placed at the column its message names.
pub fn invalid(kind: FileKind, line: u64, reason: &str) -> Problem {
    let problem = Problem::new(kind.file_name(), "row.invalid_value", reason).at(line);
    let key = reason.split([':', '.', '[']).next().unwrap_or_default();
    match csv_column(kind, key) {
        Some(column) => problem.column(column),
        None => problem,
    }
}

/// The CSV column a JSON key of the record comes from.
fn csv_column(kind: FileKind, key: &str) -> Option<&'static str> {
    let renamed = match key {
        "parent" => "parentSourcedId",
        "org" => "orgSourcedId",
        "course" => "courseSourcedId",
        "school" => "schoolSourcedId",
        "class" => "classSourcedId",
        "user" => "userSourcedId",
        "terms" => "termSourcedIds",
        "agents" => "agentSourcedIds",
        "primaryOrg" => "primaryOrgSourcedId",
        "preferredFirstName" => "preferredGivenName",
        "preferredLastName" => "preferredFamilyName",
        "schoolYear" if kind == FileKind::Courses => "schoolYearSourcedId",
        other => other,
    };
    kind.columns().iter().map(|c| c.name).find(|c| *c == renamed)
}
