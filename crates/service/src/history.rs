//! Reading the change log (see `rollcall_store::changes`): the change feed,
//! one record's audit trail, a record as it was at a past time, and pruning
//! what is older than the retention.

use std::sync::Arc;
use std::time::Duration;

use oneroster::{ResourceDecl, Timestamp};
use rollcall_store::diff::{fields_of, revert};
use rollcall_store::{Change, ChangeOperation, ChangePage, ChangePosition, FieldChange, History, StoreError};
use serde_json::Value;

use crate::ServiceError;
use crate::engine::Engine;

/// What `?asOf` needs that retention may have dropped.
const AS_OF_PRUNED: &str = "the changes needed to show this record as it was then are older than the server keeps \
    (its change retention); ask for a later time";

/// How often the background task prunes the change log.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// One field of one change, as the audit trail lists it.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub field: FieldChange,
    pub change: Arc<Change>,
}

/// Which audit entries a client asked for.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// A field path: entries for it and for paths inside it (`metadata`
    /// matches `metadata.x`).
    pub field: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// A page of the audit trail and how many entries match in all.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
}

impl Engine {
    /// A page of the change feed (see [`rollcall_store::ChangeStore::changes_after`]).
    pub async fn changes(&self, after: Option<&ChangePosition>, limit: usize) -> Result<ChangePage, ServiceError> {
        Ok(self.store().changes_after(after, limit).await?)
    }

    /// The audit trail of one record, newest first: 404 for a record never
    /// created (there are no hard deletes, so every record that ever
    /// existed is still stored).
    pub async fn audit(
        &self,
        decl: &'static ResourceDecl,
        id: &str,
        q: &AuditQuery,
    ) -> Result<AuditPage, ServiceError> {
        self.get(decl, id).await?;
        let (since, until) = (q.since.map(Timestamp::to_wire), q.until.map(Timestamp::to_wire));
        let history = self
            .store()
            .history(decl, id, since.as_deref(), until.as_deref())
            .await?;
        let matching = history.changes.into_iter().flat_map(|change| {
            let change = Arc::new(change);
            entries(&change)
                .into_iter()
                .filter(|f| q.field.as_deref().is_none_or(|name| within(&f.path, name)))
                .map(move |field| AuditEntry {
                    field,
                    change: change.clone(),
                })
                .collect::<Vec<_>>()
        });
        let all: Vec<AuditEntry> = matching.collect();
        let total = all.len() as u64;
        let entries = all.into_iter().skip(q.offset).take(q.limit).collect();
        Ok(AuditPage { entries, total })
    }

    /// The record as it was at `at`: the stored record with every logged
    /// change made after `at` undone, newest first. 404 if it did not exist
    /// then; 410 if retention dropped changes that would be needed.
    pub async fn as_of(&self, decl: &'static ResourceDecl, id: &str, at: Timestamp) -> Result<Value, ServiceError> {
        let mut doc = self.get(decl, id).await?;
        let at = at.to_wire();
        let modified = doc.get("dateLastModified").and_then(Value::as_str).unwrap_or_default();
        if modified <= at.as_str() {
            return Ok(doc);
        }
        let History { changes, pruned_before } = self.store().history(decl, id, Some(&at), None).await?;
        if pruned_before.is_some_and(|p| at < p) {
            return Err(StoreError::Gone(AS_OF_PRUNED.into()).into());
        }
        for change in changes.iter().filter(|c| c.at > at) {
            match change.operation {
                ChangeOperation::Create => {
                    return Err(ServiceError::NotFound(format!(
                        "{} '{id}' did not exist at {at}",
                        decl.singular
                    )));
                }
                ChangeOperation::Update | ChangeOperation::Delete => revert(&mut doc, &change.fields),
            }
        }
        Ok(doc)
    }

    /// Removes the changes older than `retention` (by this engine's clock).
    pub async fn prune_changes(&self, retention: Duration) -> Result<u64, ServiceError> {
        let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = self.clock().now().checked_sub_signed(keep).unwrap_or_default();
        Ok(self.store().prune_changes(&Timestamp::new(cutoff).to_wire()).await?)
    }

    /// Prunes every [`PRUNE_EVERY`] (the first time at once) until the
    /// returned task is aborted. Every instance may run it: pruning the
    /// same prefix twice removes nothing the second time.
    pub fn prune_in_background(&self, retention: Duration) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRUNE_EVERY);
            loop {
                every.tick().await;
                match engine.prune_changes(retention).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "pruned the change log"),
                    Err(e) => tracing::warn!(error = %e, "could not prune the change log"),
                }
            }
        })
    }
}

/// The fields one change lists: a create's are its record's, plus the
/// write-only fields it set.
fn entries(change: &Change) -> Vec<FieldChange> {
    let mut fields = match (&change.operation, &change.record) {
        (ChangeOperation::Create, Some(record)) => fields_of(record),
        _ => Vec::new(),
    };
    fields.extend(change.fields.iter().cloned());
    fields
}

fn within(path: &str, field: &str) -> bool {
    path == field || path.strip_prefix(field).is_some_and(|rest| rest.starts_with('.'))
}
