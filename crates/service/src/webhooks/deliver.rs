//! The delivery worker: a background task each instance runs (`rollcall
//! serve` starts it), off the request path, so a slow or dead receiver
//! never slows a write.
//!
//! Every `poll_interval` it looks for subscriptions that are due (active,
//! or retrying with their next attempt reached) and, for each one whose
//! lease it takes (see `rollcall_store::webhooks`: one instance per
//! subscription at a time, also across instances on one PostgreSQL
//! database), reads the change feed after the subscription's position and
//! posts the matching changes one at a time, in feed order: a change is
//! posted only once the one before it was accepted, so each record's
//! changes arrive in the order they were made. A 2xx answer advances the
//! persisted position; anything else (another status, a timeout, a refused
//! connection) keeps it, counts an attempt and schedules the next after a
//! capped, jittered exponential backoff; after `max_attempts` the
//! subscription is `failed` until resumed. Delivery is at least once: a
//! change whose acceptance was not persisted (a crash, a lost lease) is
//! posted again, with the same `Rollcall-Delivery` id.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oneroster::Clock;
use rollcall_store::changes::{Change, ChangePosition};
use rollcall_store::{Store, StoreError, WebhookRecord, WebhookState, WebhookStatus};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::filter::{EventFilter, declaration};
use super::{Webhooks, sign};
use crate::ServiceError;

/// How deliveries are paced and bounded.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// How often due subscriptions are looked for (and a caught-up one
    /// looks for new changes).
    pub poll_interval: Duration,
    /// Longest a receiver may take to answer one delivery.
    pub timeout: Duration,
    /// The wait after the first failure; it doubles with each further one…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_cap: Duration,
    /// Failed attempts at one change before the subscription is `failed`.
    pub max_attempts: u32,
    /// How long a lease holds without being renewed (each delivery renews
    /// it): how long another instance waits for a crashed one's.
    pub lease: Duration,
    /// Changes read from the feed at once.
    pub batch: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            backoff_base: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(3600),
            max_attempts: 12,
            lease: Duration::from_secs(60),
            batch: 100,
        }
    }
}

/// The worker; [`Worker::spawn`] runs it until the handle is dropped.
#[derive(Clone)]
pub struct Worker {
    webhooks: Webhooks,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: Arc<DeliveryConfig>,
    http: reqwest::Client,
    /// This instance's name in leases.
    holder: String,
    /// Subscriptions this instance is delivering now.
    busy: Arc<Mutex<HashSet<String>>>,
}

/// Stops the worker when dropped.
pub struct WorkerHandle(tokio::task::JoinHandle<()>);

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why one delivery did not land.
struct Failure(String);

impl Worker {
    pub fn new(webhooks: Webhooks, config: DeliveryConfig) -> Result<Self, ServiceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rollcall-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ServiceError::Internal(format!("building the webhook HTTP client: {e}")))?;
        Ok(Self {
            store: webhooks.store.clone(),
            clock: webhooks.clock.clone(),
            webhooks,
            config: Arc::new(config),
            http,
            holder: uuid::Uuid::new_v4().to_string(),
            busy: Arc::default(),
        })
    }

    /// Runs until the handle is dropped, which also stops the deliveries
    /// in flight (their changes are posted again by whoever delivers next).
    pub fn spawn(self) -> WorkerHandle {
        WorkerHandle(tokio::spawn(async move {
            let mut tasks = JoinSet::new();
            loop {
                while tasks.try_join_next().is_some() {}
                if let Err(e) = self.round(&mut tasks).await {
                    tracing::warn!(error = %e, "looking for due webhooks failed");
                }
                tokio::time::sleep(self.config.poll_interval).await;
            }
        }))
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn lease_end(&self) -> i64 {
        self.now_ms() + i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// Starts a delivery task for every due subscription this instance
    /// leases and is not delivering already.
    async fn round(&self, tasks: &mut JoinSet<()>) -> Result<(), ServiceError> {
        let now = self.now_ms();
        for webhook in self.store.webhooks().await? {
            let due = matches!(webhook.state.status, WebhookStatus::Active | WebhookStatus::Retrying)
                && webhook.state.next_attempt_at <= now;
            if !due || !self.busy.lock().expect("busy lock").insert(webhook.id.clone()) {
                continue;
            }
            let worker = self.clone();
            tasks.spawn(async move {
                let id = webhook.id;
                if let Err(e) = worker.take_and_deliver(id.clone()).await {
                    tracing::warn!(webhook = %id, error = %e, "webhook delivery stopped");
                }
                worker.busy.lock().expect("busy lock").remove(&id);
            });
        }
        Ok(())
    }

    /// Delivers from the state read under the lease: what the round listed
    /// may be older than another instance's last save.
    async fn take_and_deliver(&self, id: String) -> Result<(), ServiceError> {
        if !self
            .store
            .lease_webhook(&id, &self.holder, self.now_ms(), self.lease_end())
            .await?
        {
            return Ok(());
        }
        let delivered = match self.store.webhook(&id).await? {
            Some(webhook) => self.deliver(webhook).await,
            None => Ok(()),
        };
        self.store.release_webhook(&id, &self.holder).await?;
        delivered
    }

    /// Posts the subscription's changes until it is caught up, a delivery
    /// fails, or its lease is lost.
    async fn deliver(&self, webhook: WebhookRecord) -> Result<(), ServiceError> {
        let mut state = webhook.state.clone();
        let (filter, secret) = match self.prepare(&webhook).await {
            Ok(ready) => ready,
            Err(e) => return self.fail(&webhook, state, e.to_string()).await,
        };
        loop {
            let after = state.position.clone().map(ChangePosition);
            let page = match self.store.changes_after(after.as_ref(), self.config.batch).await {
                Ok(page) => page,
                Err(StoreError::Gone(m)) => {
                    let error = format!(
                        "the change feed no longer holds this subscription's position ({m}); resume it to \
                         restart at the feed's end, after resyncing the receiver"
                    );
                    return self.fail(&webhook, state, error).await;
                }
                Err(e) => return Err(e.into()),
            };
            if page.changes.is_empty() {
                if state.position.as_deref() != Some(page.next.as_str()) {
                    state.position = Some(page.next.0);
                    self.save(&webhook.id, &state).await?;
                }
                return Ok(());
            }
            for change in &page.changes {
                if self.wanted(&filter, change).await? {
                    if let Err(Failure(error)) = self.post(&webhook, &secret, change).await {
                        return self.retry_later(&webhook, state, error).await;
                    }
                    state.last_delivery_at = Some(self.now_ms());
                    state.attempts = 0;
                    state.status = WebhookStatus::Active;
                    state.last_error = None;
                    state.position = Some(change.position.0.clone());
                    if !self.save(&webhook.id, &state).await? {
                        return Ok(());
                    }
                } else {
                    state.position = Some(change.position.0.clone());
                }
            }
            state.position = Some(page.next.0);
            if !self.save(&webhook.id, &state).await? {
                return Ok(());
            }
        }
    }

    async fn prepare(&self, webhook: &WebhookRecord) -> Result<(EventFilter, String), ServiceError> {
        let filter = EventFilter::new(&webhook.resources, &webhook.operations, webhook.filter.as_deref())
            .map_err(ServiceError::Invalid)?;
        Ok((filter, self.webhooks.secret(webhook).await?))
    }

    /// Whether the subscription receives `change`. Creates carry their
    /// record; for an update or delete the filter is met by the record as
    /// it is now (the log keeps only what changed).
    async fn wanted(&self, filter: &EventFilter, change: &Change) -> Result<bool, ServiceError> {
        if !filter.selects(change) {
            return Ok(false);
        }
        if !filter.has_filter() {
            return Ok(true);
        }
        if let Some(record) = &change.record {
            return Ok(filter.admits(record));
        }
        let Some(decl) = declaration(&change.resource) else {
            return Ok(false);
        };
        let current = self.store.get(decl, &change.sourced_id).await?;
        Ok(current.is_some_and(|record| filter.admits(&record)))
    }

    async fn post(&self, webhook: &WebhookRecord, secret: &str, change: &Change) -> Result<(), Failure> {
        let delivery = format!("{}:{}", webhook.id, change.position);
        let event = format!("{}.{}", change.resource, change.operation.as_str());
        let body = serde_json::to_vec(&payload(&delivery, &event, change)).expect("JSON serialises");
        let signature = sign::signature(secret, self.clock.now().timestamp(), &body);
        let sent = self
            .http
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Rollcall-Signature", signature)
            .header("Rollcall-Delivery", &delivery)
            .header("Rollcall-Event", &event)
            .body(body)
            .send()
            .await
            .map_err(|e| Failure(format!("sending failed: {}", describe(&e))))?;
        let status = sent.status();
        if status.is_success() {
            return Ok(());
        }
        let text = sent.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        Err(Failure(format!("the receiver answered {status}: {text}")))
    }

    /// Counts a failed attempt: `retrying` after the backoff, or `failed`.
    async fn retry_later(
        &self,
        webhook: &WebhookRecord,
        mut state: WebhookState,
        error: String,
    ) -> Result<(), ServiceError> {
        state.attempts += 1;
        if state.attempts >= i64::from(self.config.max_attempts) {
            return self.fail(webhook, state, error).await;
        }
        let wait = backoff(&self.config, state.attempts);
        tracing::info!(webhook = %webhook.id, attempts = state.attempts, ?wait, %error, "webhook delivery failed; retrying");
        state.status = WebhookStatus::Retrying;
        state.next_attempt_at = self.now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        state.last_error = Some(error);
        self.save(&webhook.id, &state).await.map(drop)
    }

    async fn fail(&self, webhook: &WebhookRecord, mut state: WebhookState, error: String) -> Result<(), ServiceError> {
        tracing::warn!(webhook = %webhook.id, %error, "webhook failed; deliveries stop until it is resumed");
        state.status = WebhookStatus::Failed;
        state.last_error = Some(error);
        self.save(&webhook.id, &state).await.map(drop)
    }

    /// Persists the state while the lease holds; false when it was lost (or
    /// the subscription paused, failed or removed meanwhile).
    async fn save(&self, id: &str, state: &WebhookState) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .save_webhook_state(id, &self.holder, state, self.lease_end())
            .await?)
    }
}

/// The wait before the next attempt after `attempts` failures: the base
/// doubled per further failure, capped, then drawn uniformly from its upper
/// half, so receivers recovering together are not hit all at once.
pub fn backoff(config: &DeliveryConfig, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = config
        .backoff_base
        .saturating_mul(1 << doublings)
        .min(config.backoff_cap);
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    full.mul_f64(0.5 + fraction / 2.0)
}

/// The body of one delivery: its id, its event, and the change in the
/// shape `GET …/changes` gives it (the record for a create, the changed
/// fields otherwise; a write-only field only as changed).
fn payload(delivery: &str, event: &str, change: &Change) -> Value {
    let mut entry = json!({
        "cursor": change.position.as_str(),
        "type": change.resource,
        "sourcedId": change.sourced_id,
        "operation": change.operation.as_str(),
        "dateTime": change.at,
        "origin": change.origin.as_str(),
        "client": change.actor,
        "requestId": change.request_id,
    });
    if let Some(record) = &change.record {
        entry["record"] = record.clone();
    }
    if change.record.is_none() || !change.fields.is_empty() {
        let fields = change.fields.iter().map(|f| match f.write_only {
            true => json!({ "field": f.path, "changed": true }),
            false => json!({ "field": f.path, "before": f.before, "after": f.after }),
        });
        entry["fields"] = fields.collect();
    }
    json!({ "id": delivery, "event": event, "change": entry })
}

/// A transport error with its causes (reqwest's own message is terse).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_cap_and_jitters_in_the_upper_half() {
        let config = DeliveryConfig {
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(60),
            ..DeliveryConfig::default()
        };
        for (attempts, full) in [(1, 2), (2, 4), (3, 8), (5, 32), (6, 60), (40, 60)] {
            for _ in 0..20 {
                let wait = backoff(&config, attempts);
                let full = Duration::from_secs(full);
                assert!(
                    wait >= full / 2 && wait <= full,
                    "{attempts}: {wait:?} not in half of {full:?}"
                );
            }
        }
    }
}
