//! `ResourceStore::apply` on SQLite: a whole set of writes (an import's
//! package, a generated dataset) in one transaction on the writer thread.
//!
//! Records are prepared (parsed, field values, terms rows) on a thread of
//! their own while the writer writes the previous step: the writer thread is
//! what bounds a bulk load. A resource whose table is empty when its first
//! new records arrive loads without its secondary indexes, which are built
//! once its records are all in (a duplicate in a unique field then fails the
//! build: `Conflict`, nothing kept).

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use oneroster::ResourceDecl;
use rollcall_store::diff::Logged;
use rollcall_store::{StoreError, Write, WriteContext, Writes, parse_record, terms};
use rusqlite::Connection;
use serde_json::Value;

use crate::backend;
use crate::changes::{self, Entry};
use crate::pool::{CACHE_KIB, bulk_cache_kib};
use crate::resources::load;
use crate::write::{self, Row};

/// A step ready for the writer, with the change log entries of its new
/// records (prepared here too, off the writer thread).
enum Ready {
    Rows(&'static ResourceDecl, Vec<Row>, Vec<Entry>),
    Replace {
        decl: &'static ResourceDecl,
        id: String,
        read: Option<String>,
        row: Row,
        doc: Value,
    },
}

impl Ready {
    fn decl(&self) -> &'static ResourceDecl {
        match self {
            Self::Rows(decl, ..) | Self::Replace { decl, .. } => decl,
        }
    }
}

/// Applies `writes` in one transaction. `caller` is disconnected when
/// whoever asked for the writes has gone (a cancelled request): the
/// transaction is then rolled back instead of committed.
pub fn run(c: &mut Connection, writes: Writes, ctx: &WriteContext, caller: &Receiver<()>) -> Result<u64, StoreError> {
    let tx = c.transaction().map_err(backend)?;
    // A cache that holds the new rows, so building each index reads
    // memory rather than the disk; sorting on both cores.
    tx.execute_batch(&format!("PRAGMA cache_size=-{}; PRAGMA threads=2", bulk_cache_kib()))
        .map_err(backend)?;
    let result = apply_all(&tx, writes, ctx).and_then(|n| {
        if matches!(caller.try_recv(), Err(TryRecvError::Disconnected)) {
            return Err(StoreError::Busy(
                "the writes were abandoned before they committed".into(),
            ));
        }
        tx.commit().map_err(backend)?;
        Ok(n)
    });
    c.execute_batch(&format!("PRAGMA cache_size=-{CACHE_KIB}; PRAGMA threads=0"))
        .map_err(backend)?;
    result
}

fn apply_all(c: &Connection, writes: Writes, ctx: &WriteContext) -> Result<u64, StoreError> {
    let rx = prepared(writes);
    let mut written = 0;
    let mut checked = HashSet::new();
    let mut unindexed: Option<&'static ResourceDecl> = None;
    loop {
        let next = rx
            .recv()
            .map_err(|_| StoreError::Backend("the writes' producer stopped before its end".into()))?;
        let Some(ready) = next? else { break };
        let decl = ready.decl();
        if let Some(previous) = unindexed.filter(|d| d.collection != decl.collection) {
            write::restore_indexes(c, previous)?;
            unindexed = None;
        }
        match ready {
            Ready::Rows(decl, rows, entries) => {
                if checked.insert(decl.collection) && write::drop_indexes_if_empty(c, decl)? {
                    unindexed = Some(decl);
                }
                write::insert_batch(c, decl, &rows)?;
                changes::append(c, ctx, &entries)?;
                written += rows.len() as u64;
            }
            Ready::Replace {
                decl,
                id,
                read,
                row,
                doc,
            } => {
                let before = replace_if_unchanged(c, decl, &id, read.as_deref(), &row)?;
                let entry = Entry::new(decl, &id, Logged::updated(decl, &before, &doc));
                changes::append(c, ctx, &[entry])?;
                written += 1;
            }
        }
    }
    if let Some(decl) = unindexed {
        write::restore_indexes(c, decl)?;
    }
    Ok(written)
}

/// Stores `row` over the record `id` if its `dateLastModified` is still
/// `read`, and returns the record it replaced.
fn replace_if_unchanged(
    c: &Connection,
    decl: &'static ResourceDecl,
    id: &str,
    read: Option<&str>,
    row: &Row,
) -> Result<Value, StoreError> {
    let current = load(c, decl, id)?.ok_or_else(|| changed(decl, id))?;
    if current.get("dateLastModified").and_then(Value::as_str) != read {
        return Err(changed(decl, id));
    }
    write::replace(c, decl, id, &terms::rows(decl, &current), row)?;
    Ok(current)
}

fn changed(decl: &ResourceDecl, id: &str) -> StoreError {
    StoreError::Conflict(format!(
        "{} '{id}' changed after the import read it; nothing was written, run the import again",
        decl.singular
    ))
}

/// One prepared step, or `None`: the producer's steps are all there.
type Prepared = Result<Option<Ready>, StoreError>;

/// The steps, prepared on a thread of their own. Pulling them here also
/// keeps the writer free of a producer that blocks. The end is sent
/// explicitly, so a thread that dies half-way (a panic in the producer)
/// fails the writes instead of committing part of them.
fn prepared(writes: Writes) -> Receiver<Prepared> {
    let (tx, rx) = sync_channel(2);
    std::thread::spawn(move || {
        for step in writes {
            let ready = step.and_then(prepare);
            // A closed channel means the writer gave up: stop preparing.
            if tx.send(ready.map(Some)).is_err() {
                return;
            }
        }
        let _ = tx.send(Ok(None));
    });
    rx
}

fn prepare(step: Write) -> Result<Ready, StoreError> {
    Ok(match step {
        Write::Insert(decl, records) => {
            let (mut rows, mut entries) = (Vec::with_capacity(records.len()), Vec::with_capacity(records.len()));
            for json in records {
                let doc = parse_record(&json)?;
                let row = Row::with_json(decl, &doc, json)?;
                entries.push(Entry::new(decl, row.id(), Logged::created(decl, &doc)));
                rows.push(row);
            }
            Ready::Rows(decl, rows, entries)
        }
        Write::Replace { decl, id, read, doc } => {
            let parsed = parse_record(&doc)?;
            Ready::Replace {
                decl,
                id,
                read,
                row: Row::with_json(decl, &parsed, doc)?,
                doc: parsed,
            }
        }
    })
}
