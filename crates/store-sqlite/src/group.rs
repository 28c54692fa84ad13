//! Group commit on the writer thread. Writes that arrive while another is
//! being written share one transaction and so one durable commit (one
//! fsync): the writer opens `BEGIN IMMEDIATE`, runs each waiting write in a
//! `SAVEPOINT` of its own (a failing write rolls back only its savepoint and
//! gets its own error), commits once, and only then answers every write of
//! the group. Grouping is by what is waiting, never by a timer: a lone write
//! commits at once. Should the commit fail (or a write panic), every write of
//! the group fails and the database is as before.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use rollcall_store::StoreError;
use rollcall_store::stats::{GROUP_SIZE_BUCKETS, Histogram, HistogramSnapshot};
use rusqlite::Connection;

use crate::backend;

/// What runs on the writer thread.
pub(crate) enum Work {
    /// Runs alone on the connection, managing its own transaction (a bulk
    /// load, a client change, a read in a single-connection store).
    Alone(Box<dyn FnOnce(&mut Connection) + Send>),
    /// One write of a group: runs inside its savepoint (see [`Written`]).
    Grouped(Grouped),
}

pub(crate) type Grouped = Box<dyn FnOnce(&Connection) -> Written + Send>;

/// A grouped write, done: whether it wrote (or failed, to be rolled back
/// alone), and how to answer it once the group's commit is known.
pub(crate) struct Written {
    pub ok: bool,
    pub answer: Answer,
}

/// Answers a grouped write with the outcome of its group's commit (the
/// commit's error, as text: every write of the group gets it).
pub(crate) type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// Most writes in one group: bounds how long the first one waits for its answer.
const MAX_GROUP: usize = 256;

/// How many groups were committed (or failed) and how many writes they
/// held: their ratio is the mean group size, `sizes` their spread.
#[derive(Debug)]
pub struct CommitStats {
    groups: AtomicU64,
    writes: AtomicU64,
    sizes: Histogram,
}

impl Default for CommitStats {
    fn default() -> Self {
        Self {
            groups: AtomicU64::default(),
            writes: AtomicU64::default(),
            sizes: Histogram::new(GROUP_SIZE_BUCKETS),
        }
    }
}

impl CommitStats {
    /// `(groups, writes)` so far.
    pub fn get(&self) -> (u64, u64) {
        (self.groups.load(Ordering::Relaxed), self.writes.load(Ordering::Relaxed))
    }

    /// Writes per group so far.
    pub fn sizes(&self) -> HistogramSnapshot {
        self.sizes.snapshot()
    }
}

/// The writer thread's loop: until every sender is gone.
pub(crate) fn run(conn: &mut Connection, queue: &Receiver<Work>, stats: &CommitStats) {
    let mut next = queue.recv().ok();
    while let Some(work) = next.take() {
        match work {
            Work::Alone(job) => job(conn),
            Work::Grouped(first) => next = group(conn, queue, first, stats),
        }
        if next.is_none() {
            next = queue.recv().ok();
        }
    }
}

/// Writes `first` and the grouped writes queued behind it in one
/// transaction; returns the first work it did not take.
fn group(conn: &Connection, queue: &Receiver<Work>, first: Grouped, stats: &CommitStats) -> Option<Work> {
    let mut answers: Vec<Answer> = Vec::new();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Nothing was written: the write runs without a savepoint and is
        // answered with the failure to begin.
        (first(conn).answer)(Err(e.to_string()));
        return None;
    }
    let mut pending = Some(first);
    let mut left = None;
    let mut failed = None;
    while let Some(write) = pending.take() {
        match in_savepoint(conn, write) {
            Ok(answer) => answers.push(answer),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
        if answers.len() >= MAX_GROUP {
            break;
        }
        match queue.try_recv() {
            Ok(Work::Grouped(write)) => pending = Some(write),
            Ok(other) => left = Some(other),
            Err(_) => {}
        }
    }
    let committed = match failed {
        Some(e) => Err(e.to_string()),
        None => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
    };
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    stats.groups.fetch_add(1, Ordering::Relaxed);
    stats.writes.fetch_add(answers.len() as u64, Ordering::Relaxed);
    stats.sizes.observe(answers.len() as u64);
    for answer in answers {
        answer(committed.clone());
    }
    left
}

/// Runs one write inside a savepoint: its own failure rolls back only what
/// it wrote; a panic (or a savepoint the connection cannot make or leave)
/// fails the whole group.
fn in_savepoint(conn: &Connection, write: Grouped) -> Result<Answer, StoreError> {
    conn.execute_batch("SAVEPOINT w").map_err(backend)?;
    let written = catch_unwind(AssertUnwindSafe(|| write(conn)))
        .map_err(|_| StoreError::Backend("a write panicked; its group was rolled back".into()))?;
    if !written.ok {
        conn.execute_batch("ROLLBACK TO w").map_err(backend)?;
    }
    conn.execute_batch("RELEASE w").map_err(backend)?;
    Ok(written.answer)
}
