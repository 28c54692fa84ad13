//! Idempotent retries: a client that sends an `Idempotency-Key` with a write
//! and retries it (after a timeout, a dropped connection) gets the first
//! try's response again instead of a second write, on any instance sharing
//! the database, for [`REPLAY_WINDOW`]. The same key with a different
//! request is refused. Keys belong to the client that sent them.

use std::sync::Arc;
use std::time::Duration;

use oneroster::Clock;
use rollcall_store::{KeyClaim, KeyTimes, Store};
use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// How long a key's first response is replayed.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// A claim still without a response this long after it was made died with
/// its request (a crash, a timeout past the request bound): the key is free
/// again.
pub const STALE_AFTER: Duration = Duration::from_secs(120);

/// A response as kept for replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

/// Where a request's key stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use: run the request, then [`Idempotency::finish`] or [`Idempotency::release`].
    Run,
    /// A finished request with the same key and body: answer with its response.
    Replay(StoredResponse),
    /// The same key is in use by a request still running.
    InProgress,
    /// The same key was used with a different request.
    Mismatch,
}

#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Idempotency {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Claims `key` for `client`'s request, identified by `fingerprint`.
    pub async fn claim(&self, client: &str, key: &str, fingerprint: &str) -> Result<Claim, ServiceError> {
        let now = self.clock.now().timestamp();
        let at = KeyTimes {
            now,
            expired_before: now - REPLAY_WINDOW.as_secs() as i64,
            stale_before: now - STALE_AFTER.as_secs() as i64,
        };
        Ok(match self.store.claim_key(client, key, fingerprint, at).await? {
            KeyClaim::Claimed => Claim::Run,
            KeyClaim::Held { fingerprint: held, .. } if held != fingerprint => Claim::Mismatch,
            KeyClaim::Held { response: None, .. } => Claim::InProgress,
            KeyClaim::Held {
                response: Some(stored), ..
            } => Claim::Replay(
                serde_json::from_str(&stored).map_err(|e| ServiceError::Internal(format!("a kept response: {e}")))?,
            ),
        })
    }

    /// Keeps the response of the request that claimed `key`.
    pub async fn finish(&self, client: &str, key: &str, response: &StoredResponse) -> Result<(), ServiceError> {
        let text = serde_json::to_string(response).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(self.store.finish_key(client, key, &text).await?)
    }

    /// Frees `key`: its request failed in a way worth retrying.
    pub async fn release(&self, client: &str, key: &str) -> Result<(), ServiceError> {
        Ok(self.store.release_key(client, key).await?)
    }
}
