//! Webhook subscriptions and where each one's deliveries stand, in a table
//! of their own. The signing secret is held only sealed (sealing is the
//! service layer's, with the credentials key ring). The statements are
//! shared by both backends; SQLite runs them with `?N` for `$N`.
//!
//! Several instances may share one database: an instance delivers a
//! subscription only while it holds its lease (`lease_holder` until
//! `lease_until`), taken by one conditional `UPDATE`, so two instances never
//! deliver one subscription at once. A lease that is not renewed expires,
//! and another instance carries on from the persisted position.

use async_trait::async_trait;

use crate::StoreError;

/// Where a subscription's deliveries stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Delivering as changes come.
    Active,
    /// The last delivery failed; the next try is at `next_attempt_at`.
    Retrying,
    /// Out of attempts: stopped until resumed.
    Failed,
    /// Stopped by an administrator until resumed.
    Paused,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(Self::Active),
            "retrying" => Ok(Self::Retrying),
            "failed" => Ok(Self::Failed),
            "paused" => Ok(Self::Paused),
            other => Err(StoreError::Backend(format!("unknown webhook status '{other}'"))),
        }
    }
}

/// The delivery state the worker persists after every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookState {
    /// The change feed position delivered up to (`None`: nothing yet, start
    /// at the first change after the subscription's `start`).
    pub position: Option<String>,
    pub status: WebhookStatus,
    /// Failed attempts at the change after `position`.
    pub attempts: i64,
    /// Unix milliseconds; the worker leaves the subscription alone before.
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    /// Unix milliseconds of the last delivery a receiver accepted.
    pub last_delivery_at: Option<i64>,
}

/// One subscriber.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: String,
    pub url: String,
    /// Collection names (`users`, `academicSessions`); empty: every resource.
    pub resources: Vec<String>,
    /// `create`, `update`, `delete`; empty: every operation.
    pub operations: Vec<String>,
    /// A OneRoster filter the change's record must meet.
    pub filter: Option<String>,
    /// Which credentials key sealed `sealed`.
    pub key_id: String,
    /// The signing secret as the AEAD sealed it.
    pub sealed: Vec<u8>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub state: WebhookState,
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("resources", &self.resources)
            .field("operations", &self.operations)
            .field("filter", &self.filter)
            .field("key_id", &self.key_id)
            .field("sealed", &"<redacted>")
            .field("state", &self.state)
            .finish()
    }
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new subscription; `Conflict` when the id is taken.
    async fn insert_webhook(&self, record: WebhookRecord) -> Result<(), StoreError>;
    async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError>;
    /// Every subscription, in id order.
    async fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError>;
    /// Returns false when there was no such subscription.
    async fn delete_webhook(&self, id: &str) -> Result<bool, StoreError>;
    /// Replaces the sealed secret; false when there is no such subscription.
    async fn reseal_webhook(&self, id: &str, key_id: &str, sealed: Vec<u8>) -> Result<bool, StoreError>;
    /// Sets the status (and its attempts, next try and error) whoever holds
    /// the lease: an administrator's pause or resume; `restart_at` moves its
    /// position too (a resume past a position the feed no longer holds).
    async fn set_webhook_status(
        &self,
        id: &str,
        state: &WebhookState,
        restart_at: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Takes (or renews) the lease on a subscription that is due at `now`
    /// (active or retrying, its next attempt reached) for `holder` until
    /// `until`, when no other holder's lease runs; returns whether it holds it.
    async fn lease_webhook(&self, id: &str, holder: &str, now: i64, until: i64) -> Result<bool, StoreError>;
    /// Persists the delivery state while `holder` still holds the lease and
    /// the subscription is not paused or failed meanwhile (an
    /// administrator's word wins), extending the lease to `until`; returns
    /// whether it was saved.
    async fn save_webhook_state(
        &self,
        id: &str,
        holder: &str,
        state: &WebhookState,
        until: i64,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up, so another instance may deliver at once.
    async fn release_webhook(&self, id: &str, holder: &str) -> Result<(), StoreError>;
}

/// The columns every read returns, in [`WebhookRecord`] order.
pub const COLUMNS: &str = "id, url, resources, operations, filter, key_id, sealed, created_at, position, status, \
     attempts, next_attempt_at, last_error, last_delivery_at";

/// `CREATE TABLE` with the backend's type for sealed bytes.
pub fn table(bytes: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS webhooks (id TEXT NOT NULL PRIMARY KEY, url TEXT NOT NULL, \
         resources TEXT NOT NULL, operations TEXT NOT NULL, filter TEXT, key_id TEXT NOT NULL, \
         sealed {bytes} NOT NULL, created_at BIGINT NOT NULL, position TEXT, status TEXT NOT NULL, \
         attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL, last_error TEXT, last_delivery_at BIGINT, \
         lease_holder TEXT, lease_until BIGINT)"
    )
}

pub const INSERT: &str = "INSERT INTO webhooks (id, url, resources, operations, filter, key_id, sealed, created_at, \
     position, status, attempts, next_attempt_at, last_error, last_delivery_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub const SELECT_ONE: &str = "SELECT id, url, resources, operations, filter, key_id, sealed, created_at, position, \
     status, attempts, next_attempt_at, last_error, last_delivery_at FROM webhooks WHERE id = $1";
pub const SELECT_ALL: &str = "SELECT id, url, resources, operations, filter, key_id, sealed, created_at, position, \
     status, attempts, next_attempt_at, last_error, last_delivery_at FROM webhooks ORDER BY id";
pub const DELETE: &str = "DELETE FROM webhooks WHERE id = $1";
pub const RESEAL: &str = "UPDATE webhooks SET key_id = $2, sealed = $3 WHERE id = $1";
/// Parameters: id, status, attempts, next_attempt_at, last_error, and the
/// position to restart at (`NULL` keeps it).
pub const SET_STATUS: &str = "UPDATE webhooks SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5, \
     position = COALESCE($6, position) WHERE id = $1";
/// Parameters: id, holder, now, until.
pub const LEASE: &str = "UPDATE webhooks SET lease_holder = $2, lease_until = $4 WHERE id = $1 \
     AND status IN ('active', 'retrying') AND next_attempt_at <= $3 \
     AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until < $3)";
/// Parameters: id, holder, position, status, attempts, next_attempt_at,
/// last_error, last_delivery_at, until.
pub const SAVE_STATE: &str = "UPDATE webhooks SET position = $3, status = $4, attempts = $5, next_attempt_at = $6, \
     last_error = $7, last_delivery_at = $8, lease_until = $9 WHERE id = $1 AND lease_holder = $2 \
     AND status IN ('active', 'retrying')";
pub const RELEASE: &str =
    "UPDATE webhooks SET lease_holder = NULL, lease_until = NULL WHERE id = $1 AND lease_holder = $2";

/// A list column (`resources`, `operations`) as stored: a JSON array.
pub fn encode_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("strings serialise")
}

pub fn decode_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("a webhook's stored list: {e}")))
}
