//! Writing a checked plan: the whole package in one store transaction
//! (`ResourceStore::apply`), so readers and a crash see all of it or none.
//! Each resource's changed records are replaced only if still as planned
//! from (a record changed meanwhile fails the import rather than being
//! overwritten), then its new records follow in batches, handed over as the
//! JSON text they were planned as. The import's new users may start loading
//! before the verdict on the rest of the package ([`gated`]); the rest of
//! the plan then follows in the same transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use oneroster::ResourceDecl;
use oneroster::resource::ModelError;
use rollcall_store::{ResourceStore, StoreError, Write, Writes};

use crate::plan::Replacement;
use crate::report::{ImportError, Progress};

/// The writes for one resource.
pub struct ResourceWrites {
    pub decl: &'static ResourceDecl,
    pub inserts: Vec<String>,
    pub updates: Vec<Replacement>,
}

impl ResourceWrites {
    /// Records to write, for the progress bar's total.
    pub fn len(&self) -> u64 {
        (self.inserts.len() + self.updates.len()) as u64
    }
}

/// Records handed to the store so far, told to the progress bar, out of a
/// total that grows as more of the package is planned.
#[derive(Clone)]
pub struct Tally {
    handed: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    progress: Option<Progress>,
}

impl Tally {
    pub fn new(progress: Option<&Progress>) -> Self {
        Self {
            handed: Arc::default(),
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
}

/// Writes the plan in one transaction, after the verdict.
pub async fn apply(
    store: &dyn ResourceStore,
    writes: Vec<ResourceWrites>,
    batch_size: usize,
    tally: &Tally,
) -> Result<(), ImportError> {
    tally.expect(writes.iter().map(ResourceWrites::len).sum());
    let steps = steps(writes, batch_size, tally.clone()).map(Ok);
    store.apply(Box::new(steps)).await.map_err(ImportError::Write)?;
    Ok(())
}

/// Each resource's replacements, then its new records in batches.
fn steps(writes: Vec<ResourceWrites>, batch_size: usize, tally: Tally) -> impl Iterator<Item = Write> + Send {
    writes
        .into_iter()
        .flat_map(move |ResourceWrites { decl, inserts, updates }| {
            let replacements = updates
                .into_iter()
                .map(move |Replacement { id, read, text }| Write::Replace {
                    decl,
                    id,
                    read,
                    doc: text,
                });
            let tally = tally.clone();
            let counted = tally.clone();
            replacements
                .inspect(move |_| counted.handed_over(1))
                .chain(batches(inserts, batch_size, tally).map(move |batch| Write::Insert(decl, batch)))
        })
}

/// The import's steps when its new users start loading before the verdict:
/// their batches, then the rest of the plan once `verdict` brings it. The
/// writes are withdrawn (nothing of them stored) as soon as the verdict is
/// a rejection (`None`) or never comes (the import failed or was dropped),
/// whether that is known between batches or only after the last one,
/// where the steps wait for it.
pub fn gated(
    decl: &'static ResourceDecl,
    inserts: Vec<String>,
    batch_size: usize,
    tally: Tally,
    verdict: Receiver<Option<Vec<ResourceWrites>>>,
) -> Writes {
    tally.expect(inserts.len() as u64);
    let mut gate = Gate { verdict, rest: None };
    let mut early = batches(inserts, batch_size, tally.clone()).map(move |b| Write::Insert(decl, b));
    let mut rest: Option<Box<dyn Iterator<Item = Write> + Send>> = None;
    let mut over = false;
    Box::new(std::iter::from_fn(move || {
        if over {
            return None;
        }
        let next = match &mut rest {
            Some(rest) => rest.next().map(Ok),
            None => match gate.between() {
                Err(e) => Some(Err(e)),
                Ok(()) => early.next().map(Ok).or_else(|| match gate.after_last() {
                    Err(e) => Some(Err(e)),
                    Ok(writes) => {
                        tally.expect(writes.iter().map(ResourceWrites::len).sum());
                        let mut steps = steps(writes, batch_size, tally.clone());
                        let first = steps.next().map(Ok);
                        rest = Some(Box::new(steps));
                        first
                    }
                }),
            },
        };
        over = !matches!(next, Some(Ok(_)));
        next
    }))
}

/// The package's verdict as gated steps see it: the rest of the plan once
/// it arrived between batches.
struct Gate {
    verdict: Receiver<Option<Vec<ResourceWrites>>>,
    rest: Option<Vec<ResourceWrites>>,
}

impl Gate {
    /// Between batches: an error as soon as the package is rejected.
    fn between(&mut self) -> Result<(), StoreError> {
        if self.rest.is_some() {
            return Ok(());
        }
        match self.verdict.try_recv() {
            Ok(Some(rest)) => {
                self.rest = Some(rest);
                Ok(())
            }
            Err(TryRecvError::Empty) => Ok(()),
            Ok(None) | Err(TryRecvError::Disconnected) => Err(withdrawn()),
        }
    }

    /// After the last batch: the rest of the plan, waited for.
    fn after_last(&mut self) -> Result<Vec<ResourceWrites>, StoreError> {
        match self.rest.take() {
            Some(rest) => Ok(rest),
            None => self.verdict.recv().ok().flatten().ok_or_else(withdrawn),
        }
    }
}

/// What withdrawn writes return; the import reports its own reasons.
fn withdrawn() -> StoreError {
    StoreError::Invalid(ModelError("the import was rejected before it committed".into()))
}

/// The records a batch at a time, as the JSON text they were planned as,
/// counted as they are handed over.
fn batches(inserts: Vec<String>, batch_size: usize, tally: Tally) -> impl Iterator<Item = Vec<String>> + Send {
    let mut rest = inserts.into_iter();
    let next = move || Some(rest.by_ref().take(batch_size.max(1)).collect::<Vec<_>>()).filter(|b| !b.is_empty());
    std::iter::from_fn(next).inspect(move |batch| tally.handed_over(batch.len() as u64))
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
            let load = store.apply(gated(&USERS, users(3), 2, tally, rx));
            let decide = async move {
                for _ in 0..500 {
                    if handed.load(Ordering::SeqCst) == 3 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                assert_eq!(handed.load(Ordering::SeqCst), 3, "all batches went before the verdict");
                match verdict {
                    Some(passed) => tx.send(passed.then(Vec::new)).unwrap(),
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
        tx.send(None).unwrap();
        let loaded = store.apply(gated(&USERS, users(10), 2, tally, rx)).await;
        assert!(loaded.is_err(), "{loaded:?}");
        assert_eq!(handed.load(Ordering::SeqCst), 0);
        assert_eq!(stored(&store).await, 0);
    }
}
