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

/// What a ZIP may unpack to: the guard against ZIP bombs, which would
/// otherwise take memory by the gigabyte from a few kilobytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most bytes all entries together may unpack to; past it the package
    /// is refused and nothing more is unpacked.
    pub max_unpacked_bytes: u64,
    /// Most bytes an entry may unpack to per compressed byte. CSV rarely
    /// compresses past a few tens; a bomb does by the thousand.
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    /// Room for the largest districts imported from a local file.
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 16 << 30,
            max_ratio: 200,
        }
    }
}

/// Entries up to this size pass whatever their ratio: a small file of
/// repeated rows compresses well and costs nothing.
const RATIO_FREE_BYTES: u64 = 1 << 20;

/// The files of one package, by name (`users.csv`).
#[derive(Debug, Default, Clone)]
pub struct Package {
    files: BTreeMap<String, Vec<u8>>,
    layout: Vec<Problem>,
}

impl Package {
    /// Reads a directory, or a ZIP within the default [`ZipLimits`].
    pub fn open(path: &Path) -> io::Result<Self> {
        if path.is_dir() {
            Self::from_dir(path)
        } else {
            Self::from_zip(std::fs::File::open(path)?, ZipLimits::default())
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
    /// the root; macOS's `__MACOSX/` and `.DS_Store` litter is skipped. An
    /// entry past `limits` is a problem of the package (the whole package
    /// once the total is passed, and nothing more is unpacked). Blocking
    /// and CPU-heavy: async callers run it on the blocking pool.
    pub fn from_zip<R: Read + Seek>(reader: R, limits: ZipLimits) -> io::Result<Self> {
        let mut archive = zip::ZipArchive::new(reader).map_err(io::Error::other)?;
        let mut package = Self::default();
        let mut budget = limits.max_unpacked_bytes;
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
            let (declared, allowed) = (entry.size(), entry_allowance(entry.compressed_size(), limits));
            match unpack(entry, declared, allowed, budget)? {
                Unpacked::Bytes(bytes) => {
                    budget -= bytes.len() as u64;
                    package.add(name, bytes);
                }
                Unpacked::TooCompressed => package.layout.push(Problem::new(
                    name,
                    "zip.entry_ratio",
                    format!(
                        "entry unpacks to more than {} times its compressed size (a ZIP bomb?)",
                        limits.max_ratio
                    ),
                )),
                Unpacked::OverBudget => {
                    package.layout.push(Problem::new(
                        "(zip)",
                        "zip.too_large",
                        format!(
                            "the package unpacks to more than {} bytes; import it with the CLI or raise the limit",
                            limits.max_unpacked_bytes
                        ),
                    ));
                    break;
                }
            }
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

/// How far an entry of `compressed` bytes may unpack under the ratio.
fn entry_allowance(compressed: u64, limits: ZipLimits) -> u64 {
    compressed.saturating_mul(limits.max_ratio).max(RATIO_FREE_BYTES)
}

enum Unpacked {
    Bytes(Vec<u8>),
    /// Past the entry's ratio allowance.
    TooCompressed,
    /// Past what is left of the package's total.
    OverBudget,
}

/// Unpacks one entry, stopping at whichever limit comes first: at once
/// when the size the archive declares is already past it, else as the
/// bytes arrive (a declared size may lie), so memory never holds more than
/// the limit.
fn unpack(entry: impl Read, declared: u64, allowed: u64, budget: u64) -> io::Result<Unpacked> {
    let cap = allowed.min(budget);
    let over = || {
        if allowed <= budget {
            Unpacked::TooCompressed
        } else {
            Unpacked::OverBudget
        }
    };
    if declared > cap {
        return Ok(over());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    entry.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Ok(over());
    }
    Ok(Unpacked::Bytes(bytes))
}

fn nested(name: &str) -> Problem {
    Problem::new(
        "(zip)",
        "zip.entry_nested_path",
        format!("'{name}' is inside a folder; every file must be at the root of the package"),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn rules(package: &mut Package) -> Vec<&'static str> {
        package.layout_problems().iter().map(|p| p.rule).collect()
    }

    /// Text that compresses about as well as a roster does.
    fn rows(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| format!("u{i},{},Ann,Lee\n", i * 7919 % 1000))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn an_entry_past_the_ratio_is_refused_and_the_rest_read() {
        let bomb = vec![0u8; 4 << 20];
        let bytes = zip(&[("users.csv", &bomb), ("orgs.csv", &rows(1000))]);
        let mut package = Package::from_zip(io::Cursor::new(bytes), ZipLimits::default()).unwrap();
        assert_eq!(rules(&mut package), ["zip.entry_ratio"]);
        assert!(!package.contains("users.csv"));
        assert!(package.contains("orgs.csv"));
    }

    #[test]
    fn the_total_is_capped_across_entries() {
        let limits = ZipLimits {
            max_unpacked_bytes: 30_000,
            max_ratio: 200,
        };
        let (a, b) = (rows(1000), rows(1000));
        assert!(a.len() < 30_000 && a.len() + b.len() > 30_000);
        let bytes = zip(&[("orgs.csv", &a), ("users.csv", &b), ("classes.csv", b"x")]);
        let mut package = Package::from_zip(io::Cursor::new(bytes), limits).unwrap();
        assert_eq!(rules(&mut package), ["zip.too_large"]);
        assert_eq!(
            package.names().collect::<Vec<_>>(),
            ["orgs.csv"],
            "nothing read past the total"
        );
    }

    #[test]
    fn unpacking_stops_at_the_limit_whatever_the_archive_declares() {
        let data = vec![7u8; 10_000];
        let over = |declared| unpack(&data[..], declared, 5_000, u64::MAX).unwrap();
        assert!(matches!(over(100), Unpacked::TooCompressed), "a lying declared size");
        assert!(matches!(over(10_000), Unpacked::TooCompressed));
        assert!(matches!(
            unpack(&data[..], 100, 50_000, 5_000).unwrap(),
            Unpacked::OverBudget
        ));
        assert!(matches!(unpack(&data[..], 100, 10_000, 10_000).unwrap(), Unpacked::Bytes(b) if b.len() == 10_000));
    }
}
