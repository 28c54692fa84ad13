//! Writing a checked plan, resource by resource: changed records one
//! `update` each, then all new records of a resource through the store's
//! `insert_bulk` (one transaction), handed over as the JSON text they were
//! planned as. The import's new users may start loading before the verdict
//! on the rest of the package ([`gated`]); the other resources follow in
//! reference order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

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
    /// Records to write, for the progress bar's total.
    pub fn len(&self) -> u64 {
        (self.inserts.len() + self.updates.len()) as u64
    }
}

/// Records handed to the store so far (told to the progress bar) and
/// records committed (what a failed write reports); shared by every load of
/// one import. The total grows as more of the package is planned.
#[derive(Clone)]
pub struct Tally {
    handed: Arc<AtomicU64>,
    stored: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    progress: Option<Progress>,
}

impl Tally {
    pub fn new(progress: Option<&Progress>) -> Self {
        Self {
            handed: Arc::default(),
            stored: Arc::default(),
            total: Arc::default(),
            progress: progress.cloned(),
        }
    }

    /// Adds `more` records to the total.
    pub fn expect(&self, more: u64) {
        self.total.fetch_add(more, Ordering::Relaxed);
    }

    fn handed_over(&self, n: u64) {
        let now = self.handed.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(Progress(f)) = &self.progress {
            f(now, self.total.load(Ordering::Relaxed));
        }
    }

    pub fn stored(&self, n: u64) {
        self.stored.fetch_add(n, Ordering::Relaxed);
    }

    /// A failed write, with how many records had been committed.
    pub fn failed(&self, source: StoreError) -> ImportError {
        ImportError::Write {
            written: self.stored.load(Ordering::Relaxed),
            source,
        }
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("planned records are JSON")
}

/// Writes each resource's changes, in the order given, after the verdict.
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
                store.update(decl, &id, Box::new(move |_| Ok(doc))).await?;
                tally.stored(1);
                Ok::<_, StoreError>(())
            })
            .buffer_unordered(UPDATES_IN_FLIGHT)
            .try_fold(0u64, |n, ()| async move { Ok(n + 1) })
            .await;
        tally.handed_over(done.map_err(|e| tally.failed(e))?);
        if !inserts.is_empty() {
            let batches = batches(inserts, batch_size, tally.clone());
            let n = store.insert_bulk(decl, batches).await.map_err(|e| tally.failed(e))?;
            tally.stored(n);
        }
    }
    Ok(())
}

/// `inserts` for a load started before the import's verdict: the load
/// commits only on a `true` verdict. It is withdrawn (nothing of it stored)
/// as soon as the verdict is `false`, or is never sent (the import failed
/// meanwhile), whether that is known between batches or only after the
/// last one, where the load waits for it.
pub fn gated(inserts: Vec<String>, batch_size: usize, tally: Tally, verdict: Receiver<bool>) -> Batches {
    let mut gate = Gate { verdict, passed: false };
    let mut batches = batches(inserts, batch_size, tally);
    let mut over = false;
    Box::new(std::iter::from_fn(move || {
        if over {
            return None;
        }
        let next = match gate.between() {
            Err(e) => Some(Err(e)),
            Ok(()) => batches.next().or_else(|| gate.after_last().err().map(Err)),
        };
        over = !matches!(next, Some(Ok(_)));
        next
    }))
}

/// The package's verdict as a gated load sees it: `passed` once a `true`
/// arrived between batches.
struct Gate {
    verdict: Receiver<bool>,
    passed: bool,
}

impl Gate {
    /// Between batches: an error as soon as the package is rejected.
    fn between(&mut self) -> Result<(), StoreError> {
        if self.passed {
            return Ok(());
        }
        match self.verdict.try_recv() {
            Ok(true) => {
                self.passed = true;
                Ok(())
            }
            Err(TryRecvError::Empty) => Ok(()),
            Ok(false) | Err(TryRecvError::Disconnected) => Err(withdrawn()),
        }
    }

    /// After the last batch: waits for the verdict.
    fn after_last(&mut self) -> Result<(), StoreError> {
        if self.passed || self.verdict.recv() == Ok(true) {
            Ok(())
        } else {
            Err(withdrawn())
        }
    }
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
        tally.handed_over(batch.len() as u64);
        Ok(batch)
    }))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    use oneroster::model::user::USERS;
    use oneroster::query::ListQuery;

    use super::*;

    /// A store in a directory removed however the test ends.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> (Scratch, rollcall_store_sqlite::SqliteStore) {
        let dir = std::env::temp_dir().join(format!("rollcall-gated-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = rollcall_store_sqlite::open_alone(&dir.join("rollcall.db")).unwrap();
        (Scratch(dir), store)
    }

    async fn stored(store: &dyn ResourceStore) -> u64 {
        let query = ListQuery::from_pairs(&USERS, [("limit", "1")]).unwrap();
        store.list(&USERS, &query).await.unwrap().total
    }

    fn users(n: u32) -> Vec<String> {
        (0..n)
            .map(|i| format!(r#"{{"sourcedId":"u{i}","status":"active","roles":[]}}"#))
            .collect()
    }

    /// A tally whose progress is readable: records handed to the store.
    fn watched() -> (Tally, Arc<AtomicU64>) {
        let handed = Arc::new(AtomicU64::new(0));
        let seen = handed.clone();
        let progress = Progress(Arc::new(move |n, _| seen.store(n, Ordering::SeqCst)));
        (Tally::new(Some(&progress)), handed)
    }

    /// Every batch is handed over before the verdict; then the load commits
    /// on `true`, and keeps nothing on `false` or when no verdict comes.
    #[tokio::test]
    async fn a_gated_load_writes_before_the_verdict_and_commits_only_on_true() {
        for (verdict, kept) in [(Some(true), 3), (Some(false), 0), (None, 0)] {
            let (_dir, store) = scratch(&format!("{verdict:?}"));
            let (tally, handed) = watched();
            let (tx, rx) = sync_channel(1);
            let load = store.insert_bulk(&USERS, gated(users(3), 2, tally, rx));
            let decide = async move {
                for _ in 0..500 {
                    if handed.load(Ordering::SeqCst) == 3 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                assert_eq!(handed.load(Ordering::SeqCst), 3, "all batches went before the verdict");
                match verdict {
                    Some(v) => tx.send(v).unwrap(),
                    None => drop(tx),
                }
            };
            let (loaded, ()) = futures_util::future::join(load, decide).await;
            assert_eq!(loaded.is_ok(), kept > 0, "{verdict:?}: {loaded:?}");
            assert_eq!(stored(&store).await, kept, "{verdict:?}");
        }
    }

    /// A rejection known between batches stops the load there.
    #[tokio::test]
    async fn a_gated_load_stops_at_the_next_batch_once_rejected() {
        let (_dir, store) = scratch("early");
        let (tally, handed) = watched();
        let (tx, rx) = sync_channel(1);
        tx.send(false).unwrap();
        let loaded = store.insert_bulk(&USERS, gated(users(10), 2, tally, rx)).await;
        assert!(loaded.is_err(), "{loaded:?}");
        assert_eq!(handed.load(Ordering::SeqCst), 0);
        assert_eq!(stored(&store).await, 0);
    }
}
