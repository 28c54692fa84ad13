//! Which clients' tokens still hold, known without a database round trip
//! per request: an in-memory copy of every client's token generation and
//! disabled flag. Deleting, disabling or rotating a client (here, on another
//! instance, or from the CLI) changes what the store holds; this copy
//! follows it:
//!
//! - refreshed in the background once it is [`REFRESH_AFTER`] old, while
//!   requests keep using it, and awaited once it is [`STALE_AFTER`] old (after
//!   an idle spell), so a revoked token stops working within that time;
//! - updated at once by this instance's own client changes;
//! - refreshed when a token names a client or generation it does not have
//!   (a client created or rotated on another instance since the last copy),
//!   at most once per [`MISS_GAP`] and one refresh at a time, however many
//!   tokens miss.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rollcall_store::{ClientRecord, Store, StoreError};
use tokio::sync::Mutex;

/// Age at which the copy is refreshed in the background.
pub const REFRESH_AFTER: Duration = Duration::from_secs(2);
/// Age past which a request waits for a fresh copy rather than trust it.
pub const STALE_AFTER: Duration = Duration::from_secs(4);
/// Least time between two refreshes caused by unknown tokens.
pub const MISS_GAP: Duration = Duration::from_millis(100);

pub struct KnownClients {
    store: Arc<dyn Store>,
    copy: RwLock<Arc<Snapshot>>,
    /// Held while the copy is read from the store or changed, so that a
    /// refresh read before a change cannot overwrite it afterwards.
    turn: Arc<Mutex<()>>,
}

#[derive(Default)]
struct Snapshot {
    /// When the read that made this copy began; `None` before the first.
    taken: Option<Instant>,
    clients: HashMap<String, Standing>,
}

#[derive(Clone, Copy)]
struct Standing {
    generation: i64,
    disabled: bool,
}

impl Snapshot {
    fn admits(&self, client_id: &str, generation: i64) -> bool {
        self.clients
            .get(client_id)
            .is_some_and(|s| s.generation == generation && !s.disabled)
    }
}

impl KnownClients {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            copy: RwLock::new(Arc::default()),
            turn: Arc::new(Mutex::new(())),
        }
    }

    /// Whether a token issued to `client_id` under `generation` still holds.
    pub async fn admits(self: &Arc<Self>, client_id: &str, generation: i64) -> Result<bool, StoreError> {
        let asked = Instant::now();
        match self.current().taken.map(|t| asked.saturating_duration_since(t)) {
            Some(age) if age <= REFRESH_AFTER => {}
            Some(age) if age <= STALE_AFTER => self.refresh_in_background(),
            _ => self.refresh_since(asked).await?,
        }
        if self.current().admits(client_id, generation) {
            return Ok(true);
        }
        self.refresh_since(asked).await?;
        Ok(self.current().admits(client_id, generation))
    }

    /// Records a client as this instance just stored it.
    pub async fn note(&self, client: &ClientRecord) {
        let standing = Standing {
            generation: client.token_generation,
            disabled: client.disabled,
        };
        self.change(|clients| {
            clients.insert(client.client_id.clone(), standing);
        })
        .await;
    }

    /// Records that this instance just deleted a client.
    pub async fn forget(&self, client_id: &str) {
        self.change(|clients| {
            clients.remove(client_id);
        })
        .await;
    }

    async fn change(&self, edit: impl FnOnce(&mut HashMap<String, Standing>)) {
        let _turn = self.turn.lock().await;
        let current = self.current();
        let mut clients = current.clients.clone();
        edit(&mut clients);
        self.replace(Snapshot {
            taken: current.taken,
            clients,
        });
    }

    fn current(&self) -> Arc<Snapshot> {
        self.copy.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, copy: Snapshot) {
        *self.copy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(copy);
    }

    /// Makes sure the copy was read after `asked`: waits for a refresh
    /// already under way, or runs one (no sooner than `MISS_GAP` after the
    /// last).
    async fn refresh_since(&self, asked: Instant) -> Result<(), StoreError> {
        let _turn = self.turn.lock().await;
        let taken = self.current().taken;
        if taken.is_some_and(|t| t >= asked) {
            return Ok(());
        }
        if let Some(t) = taken {
            tokio::time::sleep_until((t + MISS_GAP).into()).await;
        }
        self.reload().await
    }

    fn refresh_in_background(self: &Arc<Self>) {
        let Ok(turn) = self.turn.clone().try_lock_owned() else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let _turn = turn;
            if let Err(e) = this.reload().await {
                tracing::warn!(error = %e, "could not refresh the list of OAuth clients");
            }
        });
    }

    /// Reads every client from the store; the caller holds `turn`.
    async fn reload(&self) -> Result<(), StoreError> {
        let taken = Instant::now();
        let clients = self
            .store
            .clients()
            .await?
            .into_iter()
            .map(|c| {
                let standing = Standing {
                    generation: c.token_generation,
                    disabled: c.disabled,
                };
                (c.client_id, standing)
            })
            .collect();
        self.replace(Snapshot {
            taken: Some(taken),
            clients,
        });
        Ok(())
    }
}
