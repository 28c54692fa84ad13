//! Remote imports run as jobs, so that a package which outgrows the request
//! timeout is not cut off: `POST /admin/import` waits for its import for a
//! while and answers with the result as usual; past that it answers `202`
//! with the job's status URL, and the import carries on in the background
//! (a dropped request no longer stops it). Jobs live in the memory of the
//! instance that runs them: the status URL is answered there, and a restart
//! forgets them (the import itself is one transaction: a restart mid-import
//! leaves nothing of it).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;

/// Finished jobs kept for their status URL, oldest forgotten first.
const KEEP_FINISHED: usize = 100;

/// An answer: the status and JSON body the request would have had.
pub type Outcome = (StatusCode, Json<Value>);

/// This instance's import jobs.
#[derive(Clone, Default)]
pub struct Jobs {
    registry: Arc<Mutex<Registry>>,
    tally: Arc<Tally>,
}

/// Jobs started and finished, for `/metrics` (kept past the registry,
/// which forgets old jobs).
#[derive(Default)]
struct Tally {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
}

/// Jobs counted since the start, as read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobCounts {
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
}

impl JobCounts {
    pub fn running(&self) -> u64 {
        self.started.saturating_sub(self.succeeded + self.failed)
    }
}

#[derive(Default)]
struct Registry {
    jobs: HashMap<String, Arc<Job>>,
    finished: VecDeque<String>,
}

impl Jobs {
    /// Registers a new running job.
    pub fn start(&self, started_at: String) -> Arc<Job> {
        let (done, _) = watch::channel(false);
        let job = Arc::new(Job {
            id: rollcall_service::secret::random_token(16),
            started_at,
            written: AtomicU64::new(0),
            total: AtomicU64::new(0),
            outcome: OnceLock::new(),
            done,
            jobs: Arc::downgrade(&self.registry),
            tally: self.tally.clone(),
        });
        self.tally.started.fetch_add(1, Ordering::Relaxed);
        let mut registry = self.registry.lock().expect("jobs lock");
        registry.jobs.insert(job.id.clone(), job.clone());
        job
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.registry.lock().expect("jobs lock").jobs.get(id).cloned()
    }

    pub fn counts(&self) -> JobCounts {
        // Finished before started: a job between the two reads counts as running.
        let succeeded = self.tally.succeeded.load(Ordering::Relaxed);
        let failed = self.tally.failed.load(Ordering::Relaxed);
        JobCounts {
            started: self.tally.started.load(Ordering::Relaxed),
            succeeded,
            failed,
        }
    }
}

pub struct Job {
    pub id: String,
    started_at: String,
    written: AtomicU64,
    total: AtomicU64,
    outcome: OnceLock<(String, Outcome)>,
    done: watch::Sender<bool>,
    jobs: std::sync::Weak<Mutex<Registry>>,
    tally: Arc<Tally>,
}

impl Job {
    /// Records progress (`written` of `total` records handed to the store).
    pub fn progress(&self, written: u64, total: u64) {
        self.written.store(written, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// Records the final answer and lets waiters go.
    pub fn finish(&self, outcome: Outcome, finished_at: String) {
        let finished = match outcome.0.is_success() {
            true => &self.tally.succeeded,
            false => &self.tally.failed,
        };
        if self.outcome.set((finished_at, outcome)).is_ok() {
            finished.fetch_add(1, Ordering::Relaxed);
        }
        self.done.send_replace(true);
        if let Some(registry) = self.jobs.upgrade() {
            let mut registry = registry.lock().expect("jobs lock");
            registry.finished.push_back(self.id.clone());
            while registry.finished.len() > KEEP_FINISHED {
                if let Some(old) = registry.finished.pop_front() {
                    registry.jobs.remove(&old);
                }
            }
        }
    }

    /// The final answer, once there is one within `patience`.
    pub async fn wait(&self, patience: Duration) -> Option<Outcome> {
        let mut done = self.done.subscribe();
        let _ = tokio::time::timeout(patience, done.wait_for(|d| *d)).await;
        self.outcome.get().map(|(_, outcome)| outcome.clone())
    }

    /// The job as its status URL shows it: `running`, `succeeded` or
    /// `failed`, progress, and once finished the answer the import would
    /// have given (`httpStatus` and `result`).
    pub fn status(&self) -> Value {
        let mut job = json!({
            "id": self.id,
            "status": "running",
            "startedAt": self.started_at,
            "progress": {
                "written": self.written.load(Ordering::Relaxed),
                "total": self.total.load(Ordering::Relaxed),
            },
        });
        if let Some((finished_at, (status, Json(result)))) = self.outcome.get() {
            job["status"] = if status.is_success() { "succeeded" } else { "failed" }.into();
            job["finishedAt"] = finished_at.clone().into();
            job["httpStatus"] = status.as_u16().into();
            job["result"] = result.clone();
        }
        json!({ "job": job })
    }
}
