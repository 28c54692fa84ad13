//! Exporting the store as a package that restores it exactly and that any
//! OneRoster consumer can read: every record of every rostering resource in
//! a delta file (the binding's only way to carry `status` and
//! `dateLastModified`, so soft-deleted records travel too), users split
//! back into users.csv, roles.csv and userProfiles.csv, string `metadata`
//! keys as `metadata.*` columns, and what the binding cannot carry in the
//! `metadata.rollcall` column (password hashes included, never clear text;
//! see `view` and `extension`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

use rollcall_store::{ResourceStore, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::extension;
use crate::load::for_each_page;
use crate::manifest::{self, FileMode};
use crate::spec::{ALL_FILES, FileKind, METADATA_PREFIX};
use crate::view::{self, Line, Live};

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

/// One file being built.
#[derive(Default)]
struct Sheet {
    lines: Vec<Line>,
}

impl Sheet {
    /// The CSV bytes: header, then rows, with a `metadata.*` column for
    /// every string metadata key any row has and, last, `metadata.rollcall`.
    /// Free-text cells are neutralised against formula injection.
    fn into_csv(self, kind: FileKind) -> Vec<u8> {
        let keys: BTreeSet<String> = self.lines.iter().flat_map(|l| l.metadata.keys().cloned()).collect();
        let mut out = csv::Writer::from_writer(Vec::new());
        let header = kind.columns().iter().map(|c| c.name.to_owned());
        let header: Vec<String> = header
            .chain(keys.iter().map(|k| format!("{METADATA_PREFIX}{k}")))
            .chain([format!("{METADATA_PREFIX}{}", extension::KEY)])
            .collect();
        out.write_record(&header).expect("writing to memory");
        let columns = kind.columns();
        let mut row: Vec<String> = Vec::with_capacity(header.len());
        for line in self.lines {
            row.clear();
            for (col, cell) in columns.iter().zip(&line.cells) {
                row.push(match extension::neutralised(col.kind) {
                    true => extension::neutralise(cell).into_owned(),
                    false => cell.clone(),
                });
            }
            for key in &keys {
                let value = line.metadata.get(key).and_then(Value::as_str).unwrap_or_default();
                row.push(extension::neutralise(value).into_owned());
            }
            row.push(match line.rest.is_empty() {
                true => String::new(),
                false => Value::Object(line.rest).to_string(),
            });
            out.write_record(&row).expect("writing to memory");
        }
        out.into_inner().expect("writing to memory")
    }
}

/// Writes every record of `store` as a delta package at `dest`: a
/// `.zip` file, or else a directory (created if needed; OneRoster files in
/// it that this export does not write are removed, so it stays consistent).
pub async fn export(store: &dyn ResourceStore, dest: &Path) -> Result<ExportReport, ExportError> {
    let mut files: Vec<(FileKind, Vec<u8>)> = Vec::new();
    let mut report = ExportReport::default();
    let mut live = Live::default();
    for kind in FileKind::ALL.into_iter().filter(|k| k.is_resource()) {
        let mut docs = Vec::new();
        for_each_page(store, kind.decl(), |page| docs.extend(page)).await?;
        for (kind, lines) in view::lines(kind, &docs, &mut live) {
            if lines.is_empty() {
                continue;
            }
            report.files.insert(kind.file_name(), lines.len() as u64);
            files.push((kind, Sheet { lines }.into_csv(kind)));
        }
    }
    let present: Vec<&str> = files.iter().map(|(k, _)| k.name()).collect();
    let manifest = manifest::write(&present, FileMode::Delta, "Rollcall");
    let named = std::iter::once((manifest::FILE.to_owned(), manifest))
        .chain(files.into_iter().map(|(k, b)| (k.file_name(), b)));
    if dest.extension().is_some_and(|e| e == "zip") {
        let mut zip = zip::ZipWriter::new(owner_only(dest)?);
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
            owner_only(&dest.join(name))?.write_all(&bytes)?;
        }
    }
    Ok(report)
}

/// A file created (or truncated) readable by its owner only: an export
/// carries password hashes, as a backup does.
fn owner_only(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(file)
}
