//! The change log: every committed write appends entries to it in the same
//! transaction as the write, whichever path the write came through (the API,
//! a bulk write, a CSV import, the generator). The change feed, the audit
//! trail, `asOf` reads and webhooks all read this one log.
//!
//! Who wrote is not an argument of every store method: the caller sets a
//! [`WriteContext`] for the task ([`WriteContext::scope`]) and the store reads
//! it ([`WriteContext::current`]) when a write is asked for.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oneroster::ResourceDecl;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::StoreError;

/// Why a cursor older than what the log keeps is `Gone`.
pub const PRUNED: &str = "this change feed cursor is older than the changes the server keeps \
    (its retention): read the resources again in full, then continue the feed from the start (without `after`)";

/// Why a cursor from another log (a database restored from a backup since)
/// is `Gone`.
pub const OTHER_LOG: &str = "this change feed cursor belongs to another change log (the database was restored \
    from a backup since it was issued): read the resources again in full, then continue the feed from the \
    start (without `after`)";

/// Where a write came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A OneRoster API request.
    Api,
    /// A bulk write through the API (`createCourseStructure`, many records in one request).
    Bulk,
    /// A CSV import (`POST /admin/import`).
    Import,
    /// A restored backup.
    Restore,
    /// A person in the console.
    Console,
    /// The `rollcall` command line (its `import` included).
    Cli,
    /// The server itself, or a caller that set no context.
    #[default]
    System,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Bulk => "bulk",
            Self::Import => "import",
            Self::Restore => "restore",
            Self::Console => "console",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }

    /// The origin spelled as [`Origin::as_str`] does; `System` for anything else.
    pub fn parse(text: &str) -> Self {
        [
            Self::Api,
            Self::Bulk,
            Self::Import,
            Self::Restore,
            Self::Console,
            Self::Cli,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
        .unwrap_or(Self::System)
    }
}

/// Who is writing, for the change log: set per task, read by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteContext {
    /// The OAuth client id, or the console user.
    pub actor: Option<String>,
    pub request_id: Option<String>,
    pub origin: Origin,
}

tokio::task_local! {
    /// Shared rather than copied so that a request's authentication, which
    /// runs inside the scope its middleware opened, can still name the actor.
    static CONTEXT: Arc<Mutex<WriteContext>>;
}

impl WriteContext {
    /// Runs `future` with `ctx` as its [`current`](Self::current) context.
    /// Tasks it spawns do not inherit it: pass `current()` to a new scope.
    pub async fn scope<F: Future>(ctx: WriteContext, future: F) -> F::Output {
        CONTEXT.scope(Arc::new(Mutex::new(ctx)), future).await
    }

    /// The context of the running task: `System` with no actor outside any scope.
    pub fn current() -> WriteContext {
        CONTEXT
            .try_with(|c| c.lock().map(|c| c.clone()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Names the actor of the current scope (the request's client, known only
    /// once its token is checked); nothing outside a scope.
    pub fn set_actor(actor: &str) {
        let _ = CONTEXT.try_with(|c| {
            if let Ok(mut c) = c.lock() {
                c.actor = Some(actor.to_owned());
            }
        });
    }

    /// Changes the origin of the current scope (a request that turns out to
    /// be a bulk write); nothing outside a scope.
    pub fn set_origin(origin: Origin) {
        let _ = CONTEXT.try_with(|c| {
            if let Ok(mut c) = c.lock() {
                c.origin = origin;
            }
        });
    }
}

/// What a change did to its record. A soft delete (status set to
/// `tobedeleted`) is a `Delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOperation {
    Create,
    Update,
    Delete,
}

impl ChangeOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Create, Self::Update, Self::Delete]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// One field a change touched. Objects are compared key by key (so the
/// path reaches into them: `metadata.x`), arrays whole (`roles`). A
/// write-only field (a password) carries no values, only that it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub write_only: bool,
}

/// Where a change stands in the log: the feed's cursor. Opaque to clients;
/// it names the log it belongs to (a restored database starts another), so
/// a cursor from another log is refused rather than misread.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangePosition(pub String);

impl ChangePosition {
    /// A position in the log `epoch` at the given coordinates (one number
    /// on SQLite, transaction and sequence on PostgreSQL).
    pub fn new(epoch: &str, at: &[i64]) -> Self {
        let mut text = epoch.to_owned();
        for n in at {
            text.push('-');
            text.push_str(&n.to_string());
        }
        Self(text)
    }

    /// The log's epoch and the coordinates; `None` for text that is not a
    /// position (a client's typo): the edge refuses it with a 400.
    pub fn parts(&self) -> Option<(&str, Vec<i64>)> {
        let mut parts = self.0.split('-');
        let epoch = parts
            .next()
            .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric()))?;
        let at: Vec<i64> = parts
            .map(|p| p.parse().ok().filter(|n| *n >= 0))
            .collect::<Option<_>>()?;
        (!at.is_empty()).then_some((epoch, at))
    }

    /// The text as given, if it has the shape of a position.
    pub fn parse(text: &str) -> Option<Self> {
        let position = Self(text.to_owned());
        position.parts().is_some().then_some(position)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChangePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of the change log.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub position: ChangePosition,
    /// The declaration's path segment (`users`, `academicSessions`).
    pub resource: String,
    pub sourced_id: String,
    pub operation: ChangeOperation,
    /// The write's `dateLastModified`.
    pub at: String,
    pub actor: Option<String>,
    pub request_id: Option<String>,
    pub origin: Origin,
    /// For a create, the record as written (write-only fields removed);
    /// `None` for updates and deletes, which log only what they changed.
    pub record: Option<Value>,
    /// What an update or delete changed; for a create, only the write-only
    /// fields it set (their values are never logged).
    pub fields: Vec<FieldChange>,
}

/// A page of the feed; `next` is where to continue (the `after` given when
/// there was nothing new).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub next: ChangePosition,
}

/// One record's changes, newest first, and how far back the log is whole.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub changes: Vec<Change>,
    /// Changes made before this time (a `dateLastModified`) may have been
    /// pruned; `None` while nothing has been pruned.
    pub pruned_before: Option<String>,
}

/// Reading and pruning the change log.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Up to `limit` changes after `after` in commit order (`None`: from the
    /// oldest retained). Only changes that can no longer be preceded by
    /// another are handed out, so a consumer that continues from `next`
    /// never misses or repeats one. A position the log no longer holds (pruned,
    /// or from a log a restore replaced) is `Gone`.
    async fn changes_after(&self, after: Option<&ChangePosition>, limit: usize) -> Result<ChangePage, StoreError>;

    /// The changes of one record whose time is within `[since, until]`
    /// (either open), newest first.
    async fn history(
        &self,
        decl: &'static ResourceDecl,
        sourced_id: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<History, StoreError>;

    /// Removes the changes made before `before` (a time as written in
    /// `dateLastModified`) and returns how many; cursors pointing into what
    /// was removed become `Gone`.
    async fn prune_changes(&self, before: &str) -> Result<u64, StoreError>;
}
