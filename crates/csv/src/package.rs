//! A CSV package as named files in memory, read from a directory or a ZIP
//! (the binding's exchange format). Layout mistakes (files in a folder,
//! unknown or duplicate entries) are recorded as problems rather than
//! failing the read, so they are reported with everything else.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::io::{self, Read, Seek};
use std::path::Path;

use crate::problem::Problem;
use crate::spec::ALL_FILES;

/// Larger entries are refused (a guard against ZIP bombs): 4 GiB.
const MAX_ENTRY_BYTES: u64 = 4 << 30;

/// The files of one package, by name (`users.csv`).
#[derive(Debug, Default, Clone)]
pub struct Package {
    files: BTreeMap<String, Vec<u8>>,
    layout: Vec<Problem>,
}

impl Package {
    /// Reads a directory, or a file ending in `.zip`.
    pub fn open(path: &Path) -> io::Result<Self> {
        if path.is_dir() {
            Self::from_dir(path)
        } else {
            Self::from_zip(std::fs::File::open(path)?)
        }
    }

    /// Reads a package from files in memory (tests, uploads already unpacked).
    pub fn from_files<N: Into<String>>(files: impl IntoIterator<Item = (N, Vec<u8>)>) -> Self {
        let mut package = Self::default();
        for (name, bytes) in files {
            package.add(name.into(), bytes);
        }
        package
    }

    /// Reads the `.csv` files of a directory. Other files (a README, the
    /// test cases' `expected.json`) are ignored; CSV files in sub-folders are
    /// reported, as the binding requires every file at the root.
    pub fn from_dir(dir: &Path) -> io::Result<Self> {
        let mut package = Self::default();
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                for inner in std::fs::read_dir(&path)? {
                    let inner = inner?.file_name().to_string_lossy().into_owned();
                    if inner.ends_with(".csv") {
                        package.layout.push(nested(&format!("{name}/{inner}")));
                    }
                }
            } else if name.ends_with(".csv") {
                package.add(name, std::fs::read(&path)?);
            }
        }
        Ok(package)
    }

    /// Reads a ZIP archive. Every entry must be one of the 22 file names at
    /// the root; macOS's `__MACOSX/` and `.DS_Store` litter is skipped.
    pub fn from_zip<R: Read + Seek>(reader: R) -> io::Result<Self> {
        let mut archive = zip::ZipArchive::new(reader).map_err(io::Error::other)?;
        let mut package = Self::default();
        for i in 0..archive.len() {
            let entry = archive.by_index(i).map_err(io::Error::other)?;
            let name = entry.name().map_err(io::Error::other)?.into_owned();
            if name.starts_with("__MACOSX/") || name.rsplit('/').next() == Some(".DS_Store") {
                continue;
            }
            if name.contains('/') || name.contains('\\') {
                package.layout.push(nested(&name));
                continue;
            }
            if entry.size() > MAX_ENTRY_BYTES {
                package.layout.push(Problem::new(
                    name,
                    "zip.entry_too_large",
                    format!("entry is larger than {MAX_ENTRY_BYTES} bytes"),
                ));
                continue;
            }
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry.take(MAX_ENTRY_BYTES).read_to_end(&mut bytes)?;
            package.add(name, bytes);
        }
        Ok(package)
    }

    fn add(&mut self, name: String, bytes: Vec<u8>) {
        let known = name == "manifest.csv" || name.strip_suffix(".csv").is_some_and(|stem| ALL_FILES.contains(&stem));
        if !known {
            self.layout.push(Problem::new(
                name,
                "package.unknown_file",
                "not a OneRoster 1.2 CSV file name (names are case-sensitive)",
            ));
            return;
        }
        match self.files.entry(name) {
            Entry::Occupied(e) => self.layout.push(Problem::new(
                e.key(),
                "package.duplicate_file",
                "the package holds this file more than once",
            )),
            Entry::Vacant(e) => {
                e.insert(bytes);
            }
        }
    }

    /// Names of the files present.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Removes and returns a file's bytes.
    pub(crate) fn take(&mut self, name: &str) -> Option<Vec<u8>> {
        self.files.remove(name)
    }

    pub(crate) fn layout_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.layout)
    }
}

fn nested(name: &str) -> Problem {
    Problem::new(
        "(zip)",
        "zip.entry_nested_path",
        format!("'{name}' is inside a folder; every file must be at the root of the package"),
    )
}
