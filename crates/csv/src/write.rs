//! Writing a checked plan: new records in large `insert_many` transactions
//! (two in flight, so the database never waits for the next batch), changed
//! records one `update` each. Resources go in reference order.

use futures_util::{StreamExt, TryStreamExt, stream};
use oneroster::ResourceDecl;
use rollcall_store::{ResourceStore, StoreError};
use serde_json::Value;

use crate::load::id_of;
use crate::report::{ImportError, Progress};

/// Updates in flight at once (they queue on the store's writer).
const UPDATES_IN_FLIGHT: usize = 16;

/// The writes for one resource, as JSON text (parsed a batch at a time).
pub struct Writes {
    pub decl: &'static ResourceDecl,
    pub inserts: Vec<String>,
    pub updates: Vec<String>,
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("planned records are JSON")
}

pub async fn apply(
    store: &dyn ResourceStore,
    writes: Vec<Writes>,
    batch_size: usize,
    progress: Option<&Progress>,
) -> Result<(), ImportError> {
    let total: u64 = writes.iter().map(|w| (w.inserts.len() + w.updates.len()) as u64).sum();
    let report = |written: u64| {
        if let Some(Progress(f)) = progress {
            f(written, total);
        }
    };
    let mut written = 0u64;
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
        written += done.map_err(|source| ImportError::Write { written, source })?;
        report(written);
        let mut rest = inserts.into_iter();
        let batches = std::iter::from_fn(|| {
            let batch: Vec<String> = rest.by_ref().take(batch_size.max(1)).collect();
            (!batch.is_empty()).then_some(batch)
        });
        // Parsing the next batch (on the blocking pool) overlaps the insert
        // of the previous one.
        let mut stored = stream::iter(batches)
            .map(|batch| async move {
                let n = batch.len() as u64;
                let docs = tokio::task::spawn_blocking(move || batch.iter().map(|j| parse(j)).collect())
                    .await
                    .map_err(|e| StoreError::Backend(format!("parsing a batch: {e}")))?;
                store.insert_many(decl, docs).await.map(|()| n)
            })
            .buffered(2);
        while let Some(result) = stored.next().await {
            written += result.map_err(|source| ImportError::Write { written, source })?;
            report(written);
        }
    }
    Ok(())
}
