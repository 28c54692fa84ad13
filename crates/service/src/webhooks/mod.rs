//! Webhooks: administrators subscribe URLs to the change feed; the
//! delivery worker ([`deliver`]) posts each matching change to them, signed
//! ([`sign`]), in feed order, retried with backoff.
//!
//! A subscription's signing secret is random, shown once (at creation and
//! at each rotation) and stored only sealed under the credentials key ring,
//! bound to the subscription's id. A new subscription starts at the end of
//! the feed: it receives the changes committed after it was created.

pub mod deliver;
pub mod filter;
pub mod sign;

use std::sync::Arc;

use oneroster::Clock;
use rollcall_store::changes::ChangePosition;
use rollcall_store::{Store, StoreError, WebhookRecord, WebhookState, WebhookStatus};
use serde_json::{Value, json};

use crate::{Credentials, ServiceError};
pub use deliver::{DeliveryConfig, Worker, WorkerHandle};
pub use filter::EventFilter;

/// How many changes one read of the feed takes while finding its end.
const SCAN_PAGE: usize = 1000;

/// A subscription as an administrator asks for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
    pub filter: Option<String>,
}

impl NewWebhook {
    /// `{"url", "resources"?, "operations"?, "filter"?}`; the message names
    /// what is wrong (answered with a 400).
    pub fn from_json(body: &Value) -> Result<Self, String> {
        let body = body.as_object().ok_or("the body must be a JSON object")?;
        if let Some(extra) = body
            .keys()
            .find(|k| !["url", "resources", "operations", "filter"].contains(&k.as_str()))
        {
            return Err(format!(
                "unknown field '{extra}'; a webhook has url, resources, operations, filter"
            ));
        }
        let url = body
            .get("url")
            .and_then(Value::as_str)
            .ok_or("url is required, a string")?;
        let new = Self {
            url: checked_url(url)?,
            resources: strings(body.get("resources"), "resources")?,
            operations: strings(body.get("operations"), "operations")?,
            filter: match body.get("filter") {
                None | Some(Value::Null) => None,
                Some(Value::String(f)) => Some(f.clone()),
                Some(_) => return Err("filter must be a string".into()),
            },
        };
        new.event_filter()?;
        Ok(new)
    }

    pub fn event_filter(&self) -> Result<EventFilter, String> {
        EventFilter::new(&self.resources, &self.operations, self.filter.as_deref())
    }
}

/// An absolute `http` or `https` URL with a host.
fn checked_url(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("url '{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("url '{url}' must be an http:// or https:// URL with a host"));
    }
    Ok(url.to_owned())
}

fn strings(value: Option<&Value>, name: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("{name} must be an array of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{name} must be an array of strings")),
    }
}

/// A subscription and its secret, which is shown only now.
#[derive(Debug)]
pub struct Created {
    pub webhook: WebhookRecord,
    pub secret: String,
}

/// Managing subscriptions (the admin API and `rollcall webhooks`).
#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    credentials: Credentials,
}

impl Webhooks {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, credentials: Credentials) -> Self {
        Self {
            store,
            clock,
            credentials,
        }
    }

    /// The same subscriptions, sealed and opened with `credentials`' keys.
    pub fn with_credentials(self, credentials: Credentials) -> Self {
        Self { credentials, ..self }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    pub async fn create(&self, new: NewWebhook) -> Result<Created, ServiceError> {
        let id = uuid::Uuid::new_v4().to_string();
        let secret = new_secret();
        let (key_id, sealed) = self.credentials.keyring().await?.seal(&associated_data(&id), &secret);
        let now = self.now_ms();
        let webhook = WebhookRecord {
            id,
            url: new.url,
            resources: new.resources,
            operations: new.operations,
            filter: new.filter,
            key_id,
            sealed,
            created_at: now,
            state: WebhookState {
                position: Some(self.feed_end().await?.0),
                status: WebhookStatus::Active,
                attempts: 0,
                next_attempt_at: now,
                last_error: None,
                last_delivery_at: None,
            },
        };
        self.store.insert_webhook(webhook.clone()).await?;
        tracing::debug!(webhook = %webhook.id, url = %webhook.url, "webhook subscribed");
        Ok(Created { webhook, secret })
    }

    /// The feed's end, when `webhook`'s position is one the feed no longer
    /// holds.
    async fn restart_at(&self, webhook: &WebhookRecord) -> Result<Option<String>, ServiceError> {
        let position = webhook.state.position.clone().map(ChangePosition);
        match self.store.changes_after(position.as_ref(), 1).await {
            Err(StoreError::Gone(_)) => Ok(Some(self.feed_end().await?.0)),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(None),
        }
    }

    /// Where the feed ends now: the position after its last change.
    async fn feed_end(&self) -> Result<ChangePosition, ServiceError> {
        let mut page = self.store.changes_after(None, SCAN_PAGE).await?;
        while !page.changes.is_empty() {
            page = self.store.changes_after(Some(&page.next), SCAN_PAGE).await?;
        }
        Ok(page.next)
    }

    pub async fn list(&self) -> Result<Vec<WebhookRecord>, ServiceError> {
        Ok(self.store.webhooks().await?)
    }

    pub async fn get(&self, id: &str) -> Result<WebhookRecord, ServiceError> {
        self.store
            .webhook(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("webhook '{id}' not found")))
    }

    pub async fn remove(&self, id: &str) -> Result<(), ServiceError> {
        if !self.store.delete_webhook(id).await? {
            return Err(ServiceError::NotFound(format!("webhook '{id}' not found")));
        }
        tracing::debug!(webhook = %id, "webhook removed");
        Ok(())
    }

    /// Delivers again from where it stopped, at once and with a fresh count
    /// of attempts; an active one is left as it is. A subscription whose
    /// position the feed no longer holds (pruned by retention, or from
    /// before a restore) restarts at the feed's end: its receiver resyncs.
    pub async fn resume(&self, id: &str) -> Result<WebhookRecord, ServiceError> {
        self.set_status(id, WebhookStatus::Active).await
    }

    /// Stops deliveries until resumed; what was not delivered waits.
    pub async fn pause(&self, id: &str) -> Result<WebhookRecord, ServiceError> {
        self.set_status(id, WebhookStatus::Paused).await
    }

    async fn set_status(&self, id: &str, status: WebhookStatus) -> Result<WebhookRecord, ServiceError> {
        let current = self.get(id).await?;
        if matches!(current.state.status, WebhookStatus::Active | WebhookStatus::Retrying)
            && status == WebhookStatus::Active
        {
            return Ok(current);
        }
        let restart_at = match status {
            WebhookStatus::Active => self.restart_at(&current).await?,
            _ => None,
        };
        let state = WebhookState {
            status,
            attempts: if status == WebhookStatus::Active {
                0
            } else {
                current.state.attempts
            },
            next_attempt_at: self.now_ms(),
            last_error: current.state.last_error.clone(),
            ..current.state
        };
        self.store.set_webhook_status(id, &state, restart_at.as_deref()).await?;
        tracing::debug!(webhook = %id, status = status.as_str(), "webhook status set");
        self.get(id).await
    }

    /// A new secret, in force for the next delivery; shown only now.
    pub async fn rotate_secret(&self, id: &str) -> Result<String, ServiceError> {
        let secret = new_secret();
        let (key_id, sealed) = self.credentials.keyring().await?.seal(&associated_data(id), &secret);
        if !self.store.reseal_webhook(id, &key_id, sealed).await? {
            return Err(ServiceError::NotFound(format!("webhook '{id}' not found")));
        }
        tracing::debug!(webhook = %id, "webhook secret rotated");
        Ok(secret)
    }

    /// The subscription's secret in clear, for signing.
    pub(crate) async fn secret(&self, record: &WebhookRecord) -> Result<String, ServiceError> {
        let opened =
            self.credentials
                .keyring()
                .await?
                .open_sealed(&record.key_id, &associated_data(&record.id), &record.sealed);
        opened.map(|p| p.expose().to_owned()).ok_or_else(|| {
            ServiceError::Internal(format!(
                "webhook {}'s secret does not open under key {} (ROLLCALL_CREDENTIALS_OLD_KEYS?)",
                record.id, record.key_id
            ))
        })
    }
}

/// What binds a sealed secret to its subscription.
fn associated_data(id: &str) -> Vec<u8> {
    format!("rollcall webhook\0{id}").into_bytes()
}

fn new_secret() -> String {
    format!("whsec_{}", crate::secret::random_token(32))
}

/// A subscription as the API and the CLI show it (never its secret).
pub fn to_json(w: &WebhookRecord) -> Value {
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let s = &w.state;
    let next = matches!(s.status, WebhookStatus::Retrying).then_some(s.next_attempt_at);
    json!({
        "id": w.id,
        "url": w.url,
        "resources": w.resources,
        "operations": w.operations,
        "filter": w.filter,
        "createdAt": time(Some(w.created_at)),
        "status": s.status.as_str(),
        "deliveredUpTo": s.position,
        "attempts": s.attempts,
        "nextAttemptAt": time(next),
        "lastError": s.last_error,
        "lastDeliveryAt": time(s.last_delivery_at),
    })
}
