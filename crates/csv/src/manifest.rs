//! `manifest.csv`: which files the package holds and whether each is bulk
//! (the complete set) or delta (changes). Checked strictly, as the binding
//! and the conformance tooling do: every `file.*` row present, known
//! properties only, versions `1.0`/`1.2`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::problem::{Problem, Problems};
use crate::spec::ALL_FILES;

pub const FILE: &str = "manifest.csv";
const MANIFEST_VERSION: &str = "1.0";
const ONEROSTER_VERSION: &str = "1.2";

/// How the manifest says a data file is supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    Absent,
    Bulk,
    Delta,
}

impl FileMode {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "absent" => Some(Self::Absent),
            "bulk" => Some(Self::Bulk),
            "delta" => Some(Self::Delta),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Bulk => "bulk",
            Self::Delta => "delta",
        }
    }
}

/// A parsed manifest: a mode for each of the 21 data files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub modes: BTreeMap<&'static str, FileMode>,
    pub source_system_name: Option<String>,
    pub source_system_code: Option<String>,
}

impl Manifest {
    pub fn mode(&self, file: &str) -> FileMode {
        self.modes.get(file).copied().unwrap_or(FileMode::Absent)
    }
}

/// Parses `manifest.csv`; `None` (with problems) when it cannot be trusted.
pub fn parse(bytes: &[u8], problems: &mut Problems) -> Option<Manifest> {
    let before = problems.total();
    let mut reader = crate::table::reader(bytes);
    let mut modes = BTreeMap::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let (mut name, mut code) = (None, None);
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(Problem::new(FILE, "csv.malformed", e.to_string()));
                return None;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<&str> = record.iter().collect();
        if std::mem::take(&mut first) {
            if cells != ["propertyName", "value"] {
                problems.push(
                    Problem::new(
                        FILE,
                        "schema.header_mismatch",
                        "the header must be 'propertyName,value'",
                    )
                    .at(line),
                );
                return None;
            }
            continue;
        }
        let [property, value] = cells[..] else {
            problems
                .push(Problem::new(FILE, "table.row_width_mismatch", "a manifest row has exactly two cells").at(line));
            continue;
        };
        let at = |rule, reason: String| Problem::new(FILE, rule, reason).at(line).column(property);
        if let Some(first_line) = seen.insert(property.to_owned(), line) {
            problems.push(at(
                "manifest.duplicate_property",
                format!("'{property}' is also on line {first_line}"),
            ));
            continue;
        }
        match property {
            "manifest.version" if value != MANIFEST_VERSION => problems.push(at(
                "manifest.invalid_manifest_version",
                format!("manifest.version is '{value}'; it must be '{MANIFEST_VERSION}'"),
            )),
            "oneroster.version" if value != ONEROSTER_VERSION => problems.push(at(
                "manifest.invalid_oneroster_version",
                format!("oneroster.version is '{value}'; this importer reads OneRoster '{ONEROSTER_VERSION}' packages"),
            )),
            "manifest.version" | "oneroster.version" => {}
            "source.systemName" => name = Some(value.to_owned()),
            "source.systemCode" => code = Some(value.to_owned()),
            _ => match property.strip_prefix("file.").and_then(known_file) {
                Some(file) => match FileMode::parse(value) {
                    Some(mode) => {
                        modes.insert(file, mode);
                    }
                    None => problems.push(at(
                        "manifest.invalid_file_mode",
                        format!("'{value}' is not a file mode: use absent, bulk or delta"),
                    )),
                },
                None => problems.push(at(
                    "manifest.unknown_property",
                    format!("'{property}' is not a manifest property"),
                )),
            },
        }
    }
    let required = ["manifest.version".to_owned(), "oneroster.version".to_owned()];
    let files = ALL_FILES.iter().map(|f| format!("file.{f}"));
    for property in required.into_iter().chain(files) {
        if !seen.contains_key(&property) {
            problems.push(
                Problem::new(
                    FILE,
                    "manifest.missing_property",
                    format!("the required row '{property}' is missing"),
                )
                .column(property),
            );
        }
    }
    (problems.total() == before).then_some(Manifest {
        modes,
        source_system_name: name,
        source_system_code: code,
    })
}

fn known_file(name: &str) -> Option<&'static str> {
    ALL_FILES.iter().copied().find(|f| *f == name)
}

/// A manifest declaring `mode` for the given files and `absent` for the rest.
pub fn write(present: &[&str], mode: FileMode, system_name: &str) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut row = |a: &str, b: &str| out.write_record([a, b]).expect("writing to memory");
    row("propertyName", "value");
    row("manifest.version", MANIFEST_VERSION);
    row("oneroster.version", ONEROSTER_VERSION);
    for file in ALL_FILES {
        let mode = if present.contains(&file) {
            mode
        } else {
            FileMode::Absent
        };
        row(&format!("file.{file}"), mode.as_str());
    }
    row("source.systemName", system_name);
    out.into_inner().expect("writing to memory")
}
