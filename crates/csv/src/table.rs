//! One data file: its header checked against the spec, then every row
//! checked cell by cell and converted to JSON. Parsing is sequential (CSV
//! quoting forbids splitting the bytes), checking and converting run on
//! every core over chunks of rows, since that is where the time goes.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::convert::{check_row, convert};
use crate::manifest::FileMode;
use crate::problem::{Problem, Problems};
use crate::spec::{FileKind, METADATA_PREFIX};
use crate::{cell, extension};

/// One accepted row, kept as its CSV record (see `convert`).
#[derive(Debug, Clone)]
pub struct Row {
    /// Line where the record starts (the header is line 1).
    pub line: u64,
    /// A delta row with status `tobedeleted`.
    pub deleted: bool,
    kind: FileKind,
    record: csv::StringRecord,
}

impl Row {
    pub fn id(&self) -> &str {
        &self.record[0]
    }

    /// The cell of a column of the spec (blank when empty).
    pub fn get(&self, column: &str) -> &str {
        let index = self.kind.columns().iter().position(|c| c.name == column);
        &self.record[index.unwrap_or_else(|| panic!("{} has no column {column}", self.kind.name()))]
    }

    /// The user a roles or userProfiles row belongs to.
    pub fn owner(&self) -> Option<&str> {
        matches!(self.kind, FileKind::Roles | FileKind::UserProfiles).then(|| &self.record[3])
    }
}

/// A parsed data file.
#[derive(Debug)]
pub struct Table {
    pub kind: FileKind,
    pub mode: FileMode,
    pub rows: Vec<Row>,
    /// Every well-formed sourcedId in the file, with its row's index when
    /// the row was accepted. Ids of rows rejected for other reasons are kept
    /// so that one bad cell does not cascade into reference errors.
    /// (line of its first row, index of that row if accepted)
    pub ids: HashMap<String, (u64, Option<usize>)>,
    /// The `metadata.*` columns the file carries (without the prefix).
    pub metadata: Vec<String>,
    /// The cell index of the `metadata.rollcall` column: the file is a
    /// Rollcall export (see `extension`).
    restore_at: Option<usize>,
}

/// A CSV reader with the binding's dialect; the header is read as a record.
pub fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// Parses `bytes` as the data file `kind`. Rows with problems are left out.
pub fn parse(kind: FileKind, mode: FileMode, bytes: &[u8], problems: &mut Problems) -> Option<Table> {
    let file = kind.file_name();
    let mut reader = reader(bytes);
    let mut records = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => records.push(record.clone()),
            Err(e) => {
                let mut p = Problem::new(&file, "csv.malformed", e.to_string());
                p.line = e.position().map(|p| p.line());
                problems.push(p);
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                    return None;
                }
            }
        }
    }
    if records.is_empty() {
        problems.push(Problem::new(&file, "table.empty", "the file has no header row"));
        return None;
    }
    let header = records.remove(0);
    let metadata = check_header(kind, &header, &file, problems)?;
    for record in &mut records {
        restore_cells(kind, record);
    }
    // Only delta rows carry the status and dateLastModified to restore.
    let restore_at = metadata
        .iter()
        .position(|k| k == extension::KEY && mode == FileMode::Delta)
        .map(|i| i + kind.columns().len());
    if records.is_empty() {
        let reason = "a file with a header but no data rows is not allowed";
        problems.push(Problem::new(&file, "table.no_rows", reason).at(2));
    }
    let (bulk, width, cap) = (mode == FileMode::Bulk, header.len(), problems.cap());
    let parts = crate::par::map_chunks(&records, |part| {
        check_rows(kind, (bulk, width, restore_at), part, &file, cap)
    });
    let mut table = Table {
        kind,
        mode,
        rows: Vec::with_capacity(records.len()),
        ids: HashMap::with_capacity(records.len()),
        metadata,
        restore_at,
    };
    let mut accepted = Vec::with_capacity(records.len());
    for (ok, ids, found) in parts {
        problems.merge(found);
        for (id, line) in ids {
            let (first, _) = *table.ids.entry(id.to_owned()).or_insert((line, None));
            if first != line {
                let reason = format!("'{id}' is also on line {first}");
                let problem = Problem::new(&file, "reference.duplicate_sourced_id", reason);
                problems.push(problem.at(line).column("sourcedId"));
            }
        }
        accepted.extend(ok);
    }
    for (record, ok) in records.into_iter().zip(accepted) {
        let line = record.position().map_or(0, |p| p.line());
        let Some(entry) = table.ids.get_mut(&record[0]).filter(|e| ok && e.0 == line) else {
            continue;
        };
        entry.1 = Some(table.rows.len());
        let deleted = &record[1] == "tobedeleted";
        table.rows.push(Row {
            line,
            deleted,
            kind,
            record,
        });
    }
    Some(table)
}

impl Table {
    /// The accepted row with this sourcedId.
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.ids.get(id).and_then(|e| e.1).map(|i| &self.rows[i])
    }

    /// Whether the file names this sourcedId at all (even on a rejected row).
    pub fn names(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// The row as REST JSON (no status or dateLastModified), with its
    /// `metadata.*` cells as `metadata`.
    pub fn obj(&self, row: &Row) -> Map<String, Value> {
        let cells: Vec<&str> = row.record.iter().collect();
        let width = self.kind.columns().len();
        let mut obj = convert(self.kind, &cells[..width]);
        let extra: Map<String, Value> = self
            .metadata
            .iter()
            .zip(&cells[width..])
            .filter(|(k, v)| !v.is_empty() && *k != extension::KEY)
            .map(|(k, v)| (k.clone(), Value::String((*v).to_owned())))
            .collect();
        if !extra.is_empty() {
            obj.insert("metadata".into(), Value::Object(extra));
        }
        obj
    }

    /// For a row of a Rollcall export, the fields to lay over [`obj`]
    /// (`null`: remove): the row's status and dateLastModified, then the
    /// `metadata.rollcall` fields.
    ///
    /// [`obj`]: Self::obj
    pub fn restore(&self, row: &Row) -> Option<Map<String, Value>> {
        let at = self.restore_at?;
        let mut fields = Map::new();
        for column in ["status", "dateLastModified"] {
            fields.insert(column.into(), row.get(column).into());
        }
        if let Ok(Value::Object(more)) = serde_json::from_str(&row.record[at]) {
            // The row's own sourcedId column names the record: a cell must
            // not store it under another id than the one it is checked as.
            fields.extend(more.into_iter().filter(|(key, _)| key != "sourcedId"));
        }
        Some(fields)
    }
}

/// Reverses the export's formula neutralisation (see `extension`) in the
/// cells that take it: free-text columns and every `metadata.*` column.
fn restore_cells(kind: FileKind, record: &mut csv::StringRecord) {
    let columns = kind.columns();
    fn restored<'c>(columns: &[crate::spec::Col], i: usize, cell: &'c str) -> Option<&'c str> {
        let escaped = columns.get(i).is_none_or(|c| extension::neutralised(c.kind));
        escaped.then(|| extension::restore(cell)).flatten()
    }
    if !record
        .iter()
        .enumerate()
        .any(|(i, cell)| restored(columns, i, cell).is_some())
    {
        return;
    }
    let mut out = csv::StringRecord::with_capacity(record.as_slice().len(), record.len());
    for (i, cell) in record.iter().enumerate() {
        out.push_field(restored(columns, i, cell).unwrap_or(cell));
    }
    out.set_position(record.position().cloned());
    *record = out;
}

/// Checks the header; returns the metadata keys, or `None` when the file
/// cannot be read against the spec.
fn check_header(
    kind: FileKind,
    header: &csv::StringRecord,
    file: &str,
    problems: &mut Problems,
) -> Option<Vec<String>> {
    let spec: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    let names: Vec<&str> = header.iter().collect();
    let before = problems.total();
    let problem = |rule, column: &str, reason: String| Problem::new(file, rule, reason).at(1).column(column);
    let mut seen = HashSet::new();
    for name in &names {
        if !seen.insert(*name) {
            problems.push(problem(
                "table.duplicate_header",
                name,
                format!("column '{name}' appears twice"),
            ));
        }
    }
    for name in spec.iter().filter(|n| !names.contains(n)) {
        problems.push(problem(
            "schema.missing_header",
            name,
            format!("the required column '{name}' is missing"),
        ));
    }
    for name in names
        .iter()
        .filter(|n| !spec.contains(n) && !n.starts_with(METADATA_PREFIX))
    {
        problems.push(problem(
            "schema.unknown_header",
            name,
            format!("unknown column '{name}' (extension columns must be named 'metadata.…')"),
        ));
    }
    if problems.total() == before {
        let defined: Vec<&str> = names.iter().copied().filter(|n| spec.contains(n)).collect();
        if defined != spec {
            let reason = format!("columns must appear in the order: {}", spec.join(","));
            problems.push(Problem::new(file, "schema.header_order_mismatch", reason).at(1));
        } else if names[..spec.len()] != spec[..] {
            let reason = "extension (metadata.…) columns must come after every defined column".to_owned();
            problems.push(Problem::new(file, "schema.metadata_column_position", reason).at(1));
        }
    }
    (problems.total() == before).then(|| {
        let extra = &names[spec.len()..];
        extra.iter().map(|n| n[METADATA_PREFIX.len()..].to_owned()).collect()
    })
}

/// Whether each record was accepted, every well-formed sourcedId with its
/// line, and the problems.
type Checked<'r> = (Vec<bool>, Vec<(&'r str, u64)>, Problems);

fn check_rows<'r>(
    kind: FileKind,
    (bulk, width, restore_at): (bool, usize, Option<usize>),
    records: &'r [csv::StringRecord],
    file: &str,
    cap: usize,
) -> Checked<'r> {
    let mut problems = Problems::with_cap(cap);
    let mut accepted = vec![false; records.len()];
    let mut ids = Vec::with_capacity(records.len());
    let columns = kind.columns();
    for (record, ok) in records.iter().zip(&mut accepted) {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != width {
            let reason = format!("{} cells where the header has {width}", record.len());
            problems.push(Problem::new(file, "table.row_width_mismatch", reason).at(line));
            continue;
        }
        let cells: Vec<&str> = record.iter().collect();
        if cell::guid(cells[0]).is_ok() {
            ids.push((&record[0], line));
        }
        let mut valid = true;
        for (col, value) in columns.iter().zip(&cells) {
            let checked = if value.contains(['\r', '\n']) {
                Err((
                    "csv.line_break_in_field",
                    "line breaks are not allowed inside a field".to_owned(),
                ))
            } else {
                cell::check(col, value, bulk)
            };
            if let Err((rule, reason)) = checked {
                problems.push(Problem::new(file, rule, reason).at(line).column(col.name));
                valid = false;
            }
        }
        if let Some(cell) = restore_at.map(|i| cells[i]).filter(|c| !c.is_empty())
            && !matches!(serde_json::from_str(cell), Ok(Value::Object(_)))
        {
            let reason = "metadata.rollcall must be a JSON object (the fields of a Rollcall export)";
            let column = format!("{}{}", METADATA_PREFIX, extension::KEY);
            problems.push(Problem::new(file, "row.invalid_value", reason).at(line).column(column));
            valid = false;
        }
        if !valid {
            continue;
        }
        match check_row(kind, &cells[..columns.len()]) {
            Ok(()) => *ok = true,
            Err((column, (rule, reason))) => problems.push(Problem::new(file, rule, reason).at(line).column(column)),
        }
    }
    (accepted, ids, problems)
}
