//! From package to parsed tables: the manifest, the files it promises
//! against the files present, then each data file. Pure CPU work, no store.

use std::collections::BTreeMap;

use crate::manifest::{self, FileMode, Manifest};
use crate::package::Package;
use crate::problem::{Problem, Problems};
use crate::spec::{ALL_FILES, FileKind};
use crate::table::{self, Table};

/// Everything read from a package.
#[derive(Debug, Default)]
pub struct Parsed {
    pub manifest: Option<Manifest>,
    pub tables: BTreeMap<FileKind, Table>,
    /// Bulk files are applied as delta (`Mode::DeltaOnly`).
    pub delta_only: bool,
}

impl Parsed {
    pub fn table(&self, kind: FileKind) -> Option<&Table> {
        self.tables.get(&kind)
    }

    /// Whether `kind`'s file is the complete set, so that stored records it
    /// lacks become `tobedeleted` and references into it must resolve in it.
    pub fn replaces(&self, kind: FileKind) -> bool {
        !self.delta_only && self.table(kind).is_some_and(|t| t.mode == FileMode::Bulk)
    }
}

pub fn read(mut package: Package, problems: &mut Problems) -> Parsed {
    for p in package.layout_problems() {
        problems.push(p);
    }
    let Some(bytes) = package.take(manifest::FILE) else {
        problems.push(Problem::new(
            manifest::FILE,
            "package.missing_manifest",
            "the package has no manifest.csv (OneRoster 1.0 packages are not supported)",
        ));
        return Parsed::default();
    };
    let Some(manifest) = manifest::parse(&bytes, problems) else {
        return Parsed::default();
    };
    let mut files = Vec::new();
    for name in ALL_FILES {
        let file = format!("{name}.csv");
        let mode = manifest.mode(name);
        let column = format!("file.{name}");
        match (mode, package.take(&file)) {
            (FileMode::Absent, None) => {}
            (FileMode::Absent, Some(_)) => problems.push(
                Problem::new(
                    manifest::FILE,
                    "manifest.file_unexpected",
                    format!("{file} is in the package but the manifest says file.{name},absent"),
                )
                .column(column),
            ),
            (_, None) => problems.push(
                Problem::new(
                    manifest::FILE,
                    "manifest.file_missing",
                    format!(
                        "the manifest says file.{name},{} but {file} is not in the package",
                        mode.as_str()
                    ),
                )
                .column(column),
            ),
            (_, Some(bytes)) => match FileKind::from_name(name) {
                Some(kind) => files.push((kind, mode, bytes)),
                None => problems.push(Problem::new(
                    file,
                    "package.unsupported_file",
                    "Rollcall stores rostering data only (no gradebook or resources); \
                     leave this file out and mark it absent in the manifest",
                )),
            },
        }
    }
    Parsed {
        manifest: Some(manifest),
        tables: parse_all(files, problems),
        delta_only: false,
    }
}

/// Parses the data files side by side: parsing one file's CSV is
/// sequential, so a package's users, roles and demographics files would
/// otherwise wait for each other.
fn parse_all(files: Vec<(FileKind, FileMode, Vec<u8>)>, problems: &mut Problems) -> BTreeMap<FileKind, Table> {
    let cap = problems.cap();
    let parsed: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = files
            .iter()
            .map(|(kind, mode, bytes)| {
                s.spawn(move || {
                    let mut found = Problems::with_cap(cap);
                    (table::parse(*kind, *mode, bytes, &mut found), found)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("parsing thread panicked"))
            .collect()
    });
    let mut tables = BTreeMap::new();
    for (table, found) in parsed {
        problems.merge(found);
        if let Some(table) = table {
            tables.insert(table.kind, table);
        }
    }
    tables
}
