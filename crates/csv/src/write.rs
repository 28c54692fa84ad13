//! Writing a checked plan, resources in reference order: changed records one
//! `update` each, then all new records of a resource through the store's
//! `insert_bulk` (one transaction), handed over as the JSON text they were
//! planned as. One resource's inserts may start before the verdict on the
//! rest of the package ([`gated`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use futures_util::{StreamExt, TryStreamExt, stream};
use oneroster::ResourceDecl;
use oneroster::resource::ModelError;
use rollcall_store::{Batches, ResourceStore, StoreError};
use serde_json::Value;

use crate::load::id_of;
use crate::report::{ImportError, Progress};

/// Updates in flight at once (they queue on the store's writer).
const UPDATES_IN_FLIGHT: usize = 16;

/// The writes for one resource, as JSON text (updates parsed one at a time,
/// inserts handed to the store as they are).
pub struct Writes {
    pub decl: &'static ResourceDecl,
    pub inserts: Vec<String>,
    pub updates: Vec<String>,
}

impl Writes {
    pub fn len(&self) -> u64 {
        (self.inserts.len() + self.updates.len()) as u64
    }
}

/// Records written so far, told to the progress bar; shared by every load
/// of one import. The total grows as more of the package is planned.
#[derive(Clone)]
pub struct Tally {
    written: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    progress: Option<Progress>,
}

impl Tally {
    pub fn new(progress: Option<&Progress>) -> Self {
        Self {
            written: Arc::default(),
            total: Arc::default(),
            progress: progress.cloned(),
        }
    }

    /// Adds `more` records to the total.
    pub fn expect(&self, more: u64) {
        self.total.fetch_add(more, Ordering::Relaxed);
    }

    fn add(&self, n: u64) {
        let now = self.written.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(Progress(f)) = &self.progress {
            f(now, self.total.load(Ordering::Relaxed));
        }
    }

    /// A failed write, with how many records had been written.
    pub fn failed(&self, source: StoreError) -> ImportError {
        ImportError::Write {
            written: self.written.load(Ordering::Relaxed),
            source,
        }
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("planned records are JSON")
}

pub async fn apply(
    store: &dyn ResourceStore,
    writes: Vec<Writes>,
    batch_size: usize,
    tally: &Tally,
) -> Result<(), ImportError> {
    for Writes { decl, inserts, updates } in writes {
        // Updates first: a user whose email moves away frees it for a new one.
        let done = stream::iter(updates)
            .map(|json| async move {
                let doc = parse(&json);
                let id = id_of(&doc).to_owned();
                store.update(decl, &id, Box::new(move |_| Ok(doc))).await
            })
            .buffer_unordered(UPDATES_IN_FLIGHT)
            .try_fold(0u64, |n, _| async move { Ok::<_, StoreError>(n + 1) })
            .await;
        tally.add(done.map_err(|e| tally.failed(e))?);
        if !inserts.is_empty() {
            let batches = batches(inserts, batch_size, tally.clone());
            store.insert_bulk(decl, batches).await.map_err(|e| tally.failed(e))?;
        }
    }
    Ok(())
}

/// `inserts` for a load started before the import's verdict: after the
/// last batch the load waits for `verdict`, and is withdrawn (nothing of it
/// stored) unless that is `true`. A verdict never sent (the import failed
/// while the load ran) withdraws it too.
pub fn gated(inserts: Vec<String>, batch_size: usize, tally: Tally, verdict: Receiver<bool>) -> Batches {
    let last = std::iter::once_with(move || match verdict.recv() {
        Ok(true) => None,
        _ => Some(Err(withdrawn())),
    });
    Box::new(batches(inserts, batch_size, tally).chain(last.flatten()))
}

/// What a withdrawn load returns; the import reports its own reasons.
fn withdrawn() -> StoreError {
    StoreError::Invalid(ModelError("the import was rejected before this load committed".into()))
}

/// The records a batch at a time, as the JSON text they were planned as,
/// counted as they are handed over.
fn batches(inserts: Vec<String>, batch_size: usize, tally: Tally) -> Batches {
    let mut rest = inserts.into_iter();
    let next = move || Some(rest.by_ref().take(batch_size.max(1)).collect::<Vec<_>>()).filter(|b| !b.is_empty());
    Box::new(std::iter::from_fn(next).map(move |batch| {
        tally.add(batch.len() as u64);
        Ok(batch)
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use oneroster::model::user::USERS;
    use oneroster::query::ListQuery;

    use super::*;

    async fn stored(store: &dyn ResourceStore) -> u64 {
        let query = ListQuery::from_pairs(&USERS, [("limit", "1")]).unwrap();
        store.list(&USERS, &query).await.unwrap().total
    }

    /// The load waits for the verdict after its last batch: it commits on
    /// `true`, and keeps nothing on `false` or when no verdict comes.
    #[tokio::test]
    async fn a_gated_load_commits_only_on_a_positive_verdict() {
        for (verdict, kept) in [(Some(true), 3), (Some(false), 0), (None, 0)] {
            let dir = std::env::temp_dir().join(format!("rollcall-gated-{}-{verdict:?}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let store = rollcall_store_sqlite::open_alone(&dir.join("rollcall.db")).unwrap();
            let users = (0..3)
                .map(|i| format!(r#"{{"sourcedId":"u{i}","status":"active","roles":[]}}"#))
                .collect();
            let (tx, rx) = sync_channel(1);
            let load = store.insert_bulk(&USERS, gated(users, 2, Tally::new(None), rx));
            let decide = async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                match verdict {
                    Some(v) => tx.send(v).unwrap(),
                    None => drop(tx),
                }
            };
            let (loaded, ()) = futures_util::future::join(load, decide).await;
            assert_eq!(loaded.is_ok(), kept > 0, "{verdict:?}: {loaded:?}");
            assert_eq!(stored(&store).await, kept, "{verdict:?}");
            drop(store);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
