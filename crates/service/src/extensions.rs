//! The declared extension fields (see `oneroster::extension`), kept in
//! memory by every instance: read on first use, re-read right after this
//! instance changes them, and re-read in the background once the copy is
//! [`REFRESH_AFTER`] old, so a change made through another instance sharing
//! the database is seen within that time. Writes and queries use the copy
//! as it is (never waiting for the database).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use oneroster::extension::{ExtensionField, ExtensionSet};
use rollcall_store::Store;

use crate::ServiceError;

/// Age at which the copy is re-read in the background.
pub const REFRESH_AFTER: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Extensions {
    store: Arc<dyn Store>,
    held: Arc<RwLock<Held>>,
    /// Numbers each read, so a read that started before a change cannot
    /// overwrite the copy a later read made.
    reads: Arc<AtomicU64>,
    refreshing: Arc<AtomicBool>,
}

struct Held {
    set: Arc<ExtensionSet>,
    read: u64,
    at: Option<Instant>,
}

impl Extensions {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            held: Arc::new(RwLock::new(Held {
                set: Arc::default(),
                read: 0,
                at: None,
            })),
            reads: Arc::default(),
            refreshing: Arc::default(),
        }
    }

    /// The copy as held, without reading (for the write rules, which run
    /// inside a store transaction).
    pub fn held(&self) -> Arc<ExtensionSet> {
        self.held.read().unwrap_or_else(|e| e.into_inner()).set.clone()
    }

    /// The declarations: read now if never read, else the held copy
    /// (re-read in the background when it is old).
    pub async fn current(&self) -> Result<Arc<ExtensionSet>, ServiceError> {
        let at = self.held.read().unwrap_or_else(|e| e.into_inner()).at;
        match at {
            None => self.reload().await,
            Some(at) if at.elapsed() > REFRESH_AFTER => {
                if !self.refreshing.swap(true, Ordering::AcqRel) {
                    let this = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = this.reload().await {
                            tracing::warn!("re-reading the extension fields failed: {e}");
                        }
                        this.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(self.held())
            }
            Some(_) => Ok(self.held()),
        }
    }

    /// Reads the declarations from the store now.
    pub async fn reload(&self) -> Result<Arc<ExtensionSet>, ServiceError> {
        let read = self.reads.fetch_add(1, Ordering::AcqRel) + 1;
        let set = Arc::new(ExtensionSet::new(self.store.extension_fields().await?));
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        if read > held.read {
            *held = Held {
                set: set.clone(),
                read,
                at: Some(Instant::now()),
            };
        }
        Ok(held.set.clone())
    }

    /// Declares a field (422 for a bad declaration, 409 for a taken name or
    /// a unique field whose values already clash).
    pub async fn declare(&self, field: ExtensionField) -> Result<ExtensionField, ServiceError> {
        field.check().map_err(ServiceError::Invalid)?;
        self.store.declare_extension_field(field.clone()).await?;
        self.reload().await?;
        Ok(field)
    }

    /// Removes a declaration (404 when there is none); stored values stay.
    pub async fn remove(&self, resource: &str, name: &str) -> Result<(), ServiceError> {
        let removed = self.store.remove_extension_field(resource, name).await?;
        self.reload().await?;
        match removed {
            true => Ok(()),
            false => Err(ServiceError::NotFound(format!(
                "{resource} declares no extension field '{name}'"
            ))),
        }
    }
}
