//! What an import is asked to do and what it answers: options, per-resource
//! counts, and the ways it can refuse.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use rollcall_store::StoreError;
use serde::Serialize;

use crate::problem::{DEFAULT_MAX_PROBLEMS, Problem};

/// How file modes are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// As the manifest says: bulk files replace, delta files change.
    #[default]
    AsManifest,
    /// Bulk files are applied like delta files: rows are created or
    /// updated, but records missing from the package are left alone.
    DeltaOnly,
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub mode: Mode,
    /// Validate and count, but write nothing.
    pub dry_run: bool,
    /// Apply even when the mass-change guard objects.
    pub force: bool,
    /// The largest share (0–1) of an org's active users one import may mark
    /// `tobedeleted` without `force`.
    pub max_delete_share: f64,
    /// How many problems are kept (all are counted).
    pub max_problems: usize,
    /// Records per batch handed to the store's `insert_bulk`.
    pub batch_size: usize,
    /// The import time: `dateLastModified` of every record written.
    pub now: DateTime<Utc>,
    /// Told `(written, to_write)` as writing proceeds, e.g. for a progress bar.
    pub progress: Option<Progress>,
}

/// A callback reporting write progress as `(records written, records to write)`.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>);

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Progress(..)")
    }
}

impl ImportOptions {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            mode: Mode::AsManifest,
            dry_run: false,
            force: false,
            max_delete_share: 0.25,
            max_problems: DEFAULT_MAX_PROBLEMS,
            batch_size: 5_000,
            now,
            progress: None,
        }
    }
}

/// What happened (or, in a dry run, would happen) to one resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    /// Present in the package and already stored exactly so: not written.
    pub unchanged: u64,
    /// Marked `tobedeleted` by this import.
    pub to_be_deleted: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.to_be_deleted += other.to_be_deleted;
    }

    pub fn written(&self) -> u64 {
        self.created + self.updated + self.to_be_deleted
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// By collection name (`users`, `orgs`, …); roles and userProfiles are
    /// counted as the users they change.
    pub resources: BTreeMap<&'static str, Counts>,
    /// The manifest's `source.systemName`, if any.
    pub source_system: Option<String>,
    pub dry_run: bool,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<18} {:>9} {:>9} {:>9} {:>13}",
            "resource", "created", "updated", "unchanged", "to-be-deleted"
        )?;
        for (name, c) in &self.resources {
            writeln!(
                f,
                "{name:<18} {:>9} {:>9} {:>9} {:>13}",
                c.created, c.updated, c.unchanged, c.to_be_deleted
            )?;
        }
        Ok(())
    }
}

/// One org the mass-change guard objects to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgShare {
    pub org: String,
    /// Active users with a role in the org before the import.
    pub active: u64,
    /// How many of them the import would mark `tobedeleted`.
    pub to_be_deleted: u64,
}

impl OrgShare {
    pub fn share(&self) -> f64 {
        self.to_be_deleted as f64 / self.active.max(1) as f64
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The package is invalid; nothing was written.
    #[error("the package was rejected with {total} problem(s); nothing was written")]
    Rejected {
        /// The first problems, in file and line order.
        problems: Vec<Problem>,
        total: usize,
    },
    /// The mass-change guard refused; nothing was written. `report` is what
    /// the import would have done.
    #[error("{}", guard_message(.orgs, *.max_share))]
    MassDelete {
        orgs: Vec<OrgShare>,
        max_share: f64,
        report: ImportReport,
    },
    /// The store failed while the package was being checked; nothing was written.
    #[error("reading the store: {0}")]
    Store(StoreError),
    /// The store refused or failed the writes (a record changed since it
    /// was read, a unique key taken, the database failing); the package is
    /// one transaction, so nothing was written.
    #[error("writing failed, nothing was written: {0}")]
    Write(StoreError),
    /// Password hashing or a worker thread failed; nothing was written.
    #[error("internal error: {0}")]
    Internal(String),
}

fn guard_message(orgs: &[OrgShare], max_share: f64) -> String {
    let worst: Vec<String> = orgs
        .iter()
        .take(10)
        .map(|o| {
            format!(
                "org '{}': {} of {} active users ({:.0}%)",
                o.org,
                o.to_be_deleted,
                o.active,
                o.share() * 100.0
            )
        })
        .collect();
    format!(
        "refused: this import would mark more than {:.0}% of an org's users tobedeleted ({}{}); \
         check the package; or apply only its creates and updates (`--delta-only`, over HTTP \
         `mode=deltaOnly`), allow a larger share (`--max-delete-share 0.5`, `maxDeleteShare=0.5`), or apply \
         it as it is (`--force`, `force=true`)",
        max_share * 100.0,
        worst.join("; "),
        if orgs.len() > 10 { "; …" } else { "" }
    )
}
