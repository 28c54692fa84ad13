//! Dedicated database threads: one writer, and readers for lookups and for
//! lists; every read within a time budget.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rollcall_store::StoreError;
use rollcall_store::stats::{Histogram, StoreStats};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::group::{self, CommitStats, Work, Written};
use crate::memo::SqliteMemo;
use crate::{backend, migrate};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// Pages of new files. SQLite's default of 4 KiB had a bulk load's commit
/// write 2 GB in half a million `pwrite`s: 4.6 s of a 1,000,000-user import's
/// users, where 16 KiB pages take a quarter of the calls and pack ~1 KB
/// records with less slack.
const PAGE_BYTES: u32 = 16 * 1024;
/// Page cache per connection, in KiB.
pub const CACHE_KIB: u32 = 64 * 1024;
/// Reads map the file rather than copying pages through `pread` (SQLite caps
/// this at its compile-time maximum).
const MMAP_BYTES: u64 = 16 << 30;
/// The WAL file is cut back to this once it restarts: a bulk load grows it
/// to the size of everything it wrote (GBs), which would otherwise stay on disk.
const WAL_KEEP_BYTES: u64 = 64 << 20;
/// The writer's page cache during a bulk load, in KiB (released after it):
/// a quarter of the machine's memory, at most 4 GiB. Building each index
/// reads the whole new table back; from the cache rather than the WAL, a
/// 1,000,000-user import took 64 s instead of 73 s.
pub fn bulk_cache_kib() -> u64 {
    const MAX_KIB: u64 = 4 << 20;
    let total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    });
    total_kib.map_or(1 << 20, |kib| (kib / 4).min(MAX_KIB))
}

/// Reader connections for lists, which a client's filter can make scan
/// every document. Readers are cheap in WAL mode (each reads its own
/// snapshot of a shared mapping), and more of them let a few heavy lists run
/// without queueing every other list behind them; each is still bounded by
/// the query budget.
const LIST_READERS: usize = 4;
/// How much lower the list readers' scheduling priority is than the rest of
/// the process's (Linux `nice`). A list that scans every document is
/// CPU-bound; at equal priority four of them slowed a get-by-id's HTTP and
/// lookup threads severalfold. Idle CPU still goes to the lists.
const LIST_NICENESS: i32 = 10;
/// Reader connections for lookups by key (records, OAuth clients, settings),
/// apart from the lists: a get-by-id never waits behind a slow list.
const LOOKUP_READERS: usize = 2;
/// Virtual-machine steps between two checks of a read's deadline: cheap
/// next to the steps themselves, frequent enough that a read stops soon
/// after its deadline.
const STEPS_PER_CHECK: i32 = 1_000;

/// A handle to the database threads; cheap to clone. The threads stop when
/// the last handle is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Sender<Work>,
    /// `None`: reads run on the writer's connection, the store's only one.
    readers: Option<Readers>,
    /// How long one read may run before SQLite stops it.
    budget: Duration,
    pub(crate) memo: Arc<SqliteMemo>,
    commits: Arc<CommitStats>,
    waits: Arc<Waits>,
}

/// How long work waited for its thread, per queue: the time a request spends
/// queued behind others, which no query plan shows.
#[derive(Debug)]
struct Waits {
    lookup: Histogram,
    list: Histogram,
    writer: Histogram,
}

/// The queue a piece of work waits in.
#[derive(Clone, Copy)]
enum Lane {
    Lookup,
    List,
    Writer,
}

impl Waits {
    fn new() -> Self {
        Self {
            lookup: Histogram::durations(),
            list: Histogram::durations(),
            writer: Histogram::durations(),
        }
    }

    /// Records that work queued at `queued` in `lane` has its turn now.
    fn started(&self, lane: Lane, queued: Instant) {
        let histogram = match lane {
            Lane::Lookup => &self.lookup,
            Lane::List => &self.list,
            Lane::Writer => &self.writer,
        };
        histogram.observe_duration(queued.elapsed());
    }
}

/// The two queues of reader connections.
#[derive(Clone)]
struct Readers {
    lookups: Sender<Job>,
    lists: Sender<Job>,
}

impl SqliteStore {
    /// Opens the file with one writer connection and, when `shared`, reader
    /// connections of their own (else reads wait for writes on the one
    /// connection). Each read is stopped once it has run for `budget`.
    pub fn open(path: &Path, shared: bool, budget: Duration) -> Result<Self, StoreError> {
        create_owner_only(path)?;
        let mut conn = connect(path, false)?;
        migrate::run(&mut conn)?;
        let commits = Arc::new(CommitStats::default());
        let writer = spawn_writer(conn, commits.clone());
        let readers = match shared {
            false => None,
            true => Some(Readers {
                lookups: spawn_readers(path, "lookup", LOOKUP_READERS, 0)?,
                lists: spawn_readers(path, "list", LIST_READERS, LIST_NICENESS)?,
            }),
        };
        Ok(Self {
            writer,
            readers,
            budget,
            memo: Arc::default(),
            commits,
            waits: Arc::new(Waits::new()),
        })
    }

    /// Group commits so far (see `group`).
    pub fn commit_stats(&self) -> &CommitStats {
        &self.commits
    }

    /// Queue waits and commit grouping so far.
    pub(crate) fn stats(&self) -> StoreStats {
        let waits = &self.waits;
        let mut queues = vec![("writer", waits.writer.snapshot())];
        if self.readers.is_some() {
            queues.extend([("lookup", waits.lookup.snapshot()), ("list", waits.list.snapshot())]);
        }
        StoreStats {
            waits: queues,
            connections: None,
            group_sizes: Some(self.commits.sizes()),
        }
    }

    /// Whether this store's one connection is all it has open.
    pub(crate) fn single_connection(&self) -> bool {
        self.readers.is_none()
    }

    /// Runs `f`, a lookup by key, on a reader connection within the budget.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let queue = self.readers.as_ref().map(|r| &r.lookups);
        self.read_on(queue, Lane::Lookup, f).await
    }

    /// Runs `f`, a list, on a reader connection within the budget.
    pub(crate) async fn read_list<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let queue = self.readers.as_ref().map(|r| &r.lists);
        self.read_on(queue, Lane::List, f).await
    }

    async fn read_on<T, F>(&self, queue: Option<&Sender<Job>>, lane: Lane, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (budget, waits, queued) = (self.budget, self.waits.clone(), Instant::now());
        let lane = if queue.is_some() { lane } else { Lane::Writer };
        let read = move |c: &mut Connection| {
            waits.started(lane, queued);
            within_budget(c, budget, f)
        };
        match queue {
            Some(queue) => submit(queue, read).await,
            None => submit_alone(&self.writer, read).await,
        }
    }

    /// Runs `f` alone on the writer connection, in a transaction of its own
    /// making; remembered answers are forgotten before the next job on it (a
    /// read, in a single-connection store) runs. Writes have no budget: a
    /// bulk load runs as long as it needs.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (memo, waits, queued) = (self.memo.clone(), self.waits.clone(), Instant::now());
        submit_alone(&self.writer, move |c| {
            waits.started(Lane::Writer, queued);
            let written = f(c);
            memo.forget();
            written
        })
        .await
    }

    /// Runs `f`, one small write, in the writer's current group (see
    /// `group`): inside a transaction the writer opened, so `f` opens none.
    /// Answered once the group's commit is durable.
    pub(crate) async fn write_grouped<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let (memo, waits, queued) = (self.memo.clone(), self.waits.clone(), Instant::now());
        let work = Work::Grouped(Box::new(move |c| {
            waits.started(Lane::Writer, queued);
            // A request gone by its turn is not run (see `submit`).
            if tx.is_closed() {
                return Written {
                    ok: true,
                    answer: Box::new(drop),
                };
            }
            let result = f(c);
            Written {
                ok: result.is_ok(),
                answer: Box::new(move |committed| {
                    memo.forget();
                    let _ = tx.send(match (result, committed) {
                        (Err(e), _) => Err(e),
                        (Ok(value), Ok(())) => Ok(value),
                        (Ok(_), Err(e)) => Err(StoreError::Backend(format!("the commit failed: {e}"))),
                    });
                }),
            }
        }));
        self.writer.send(work).map_err(|_| stopped())?;
        rx.await.map_err(|_| dropped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("database threads have stopped".into())
}

fn dropped() -> StoreError {
    StoreError::Backend("database thread dropped a request".into())
}

/// Runs `f` with SQLite stopping any statement once `budget` has passed
/// since the start (a progress handler checks the clock), so one expensive
/// read cannot hold its connection, and the requests queued for it, for
/// longer. A budget too large to add to the clock is no budget. A read stopped half-way has its transaction rolled back before
/// the connection serves the next job.
fn within_budget<T>(
    c: &Connection,
    budget: Duration,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let Some(deadline) = Instant::now().checked_add(budget) else {
        return f(c);
    };
    let stopped = Arc::new(AtomicBool::new(false));
    let flag = stopped.clone();
    c.progress_handler(
        STEPS_PER_CHECK,
        Some(move || {
            let late = Instant::now() >= deadline;
            flag.store(late, Ordering::Relaxed);
            late
        }),
    );
    let result = f(c);
    c.progress_handler(0, None::<fn() -> bool>);
    if !c.is_autocommit() {
        let _ = c.execute_batch("ROLLBACK");
    }
    match result {
        Err(_) if stopped.load(Ordering::Relaxed) => Err(StoreError::TimedOut(budget)),
        other => other,
    }
}

async fn submit<T, F>(queue: &Sender<Job>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (job, rx) = job(f);
    queue.send(job).map_err(|_| stopped())?;
    rx.await.map_err(|_| dropped())?
}

/// As [`submit`], to the writer, as work that runs alone.
async fn submit_alone<T, F>(writer: &Sender<Work>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (job, rx) = job(f);
    writer.send(Work::Alone(job)).map_err(|_| stopped())?;
    rx.await.map_err(|_| dropped())?
}

type Reply<T> = oneshot::Receiver<Result<T, StoreError>>;

fn job<T, F>(f: F) -> (Job, Reply<T>)
where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    // A request that has gone (timed out, dropped) by the time its turn
    // comes is not run: its client was told it failed, and may retry.
    let job: Job = Box::new(move |conn| {
        if !tx.is_closed() {
            let _ = tx.send(f(conn));
        }
    });
    (job, rx)
}

/// Creates a missing database file readable and writable by its owner
/// alone, before SQLite opens it: it holds the token signing key, and SQLite
/// gives the `-wal`, `-shm` and `-journal` files it creates beside it the
/// main file's permissions. An existing file keeps its permissions (an
/// operator may have chosen them), with a warning when others may read it.
fn create_owner_only(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            warn_if_others_may_read(path);
            Ok(())
        }
        Err(e) => Err(StoreError::Backend(format!("creating {}: {e}", path.display()))),
    }
}

#[cfg(unix)]
fn warn_if_others_may_read(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(mode) = std::fs::metadata(path).map(|m| m.permissions().mode()) else {
        return;
    };
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "others may read the database file, which holds the token signing key: \
             `chmod 600` it and its -wal and -shm files"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_may_read(_: &Path) {}

fn connect(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(backend)?;
    // synchronous=FULL: a write is acknowledged only once it is durable, so
    // it survives a power loss. The page size only applies to a new file.
    conn.execute_batch(&format!(
        "PRAGMA page_size={PAGE_BYTES}; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; \
         PRAGMA cache_size=-{CACHE_KIB}; PRAGMA temp_store=MEMORY; PRAGMA mmap_size={MMAP_BYTES}; \
         PRAGMA journal_size_limit={WAL_KEEP_BYTES};"
    ))
    .map_err(backend)?;
    enter_wal(&conn)?;
    conn.set_prepared_statement_cache_capacity(256);
    register_fold(&conn)?;
    Ok(conn)
}

/// WAL: readers never wait for the writer. A file that a lone store is
/// bulk-loading past the WAL (see `open_alone`) refuses the switch until
/// that load has committed and returned to the WAL: wait for it, as long
/// as a large import takes, rather than fail to start.
fn enter_wal(conn: &Connection) -> Result<(), StoreError> {
    const PATIENCE: Duration = Duration::from_secs(30 * 60);
    let started = Instant::now();
    let mut told = false;
    loop {
        let mode = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0));
        match mode.map_err(backend) {
            Err(StoreError::Busy(_)) if started.elapsed() < PATIENCE => {
                if !std::mem::replace(&mut told, true) {
                    tracing::info!("another process is bulk-loading the database; waiting for it to finish");
                }
                thread::sleep(Duration::from_millis(100));
            }
            other => return other.map(drop),
        }
    }
}

/// `rollcall_fold(text)`: Unicode lower-casing, which SQLite's own `lower`
/// and `LIKE` only do for ASCII; used by `~` and `search`.
fn register_fold(conn: &Connection) -> Result<(), StoreError> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "rollcall_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|s| s.to_lowercase())),
    )
    .map_err(backend)
}

fn spawn_writer(mut conn: Connection, stats: Arc<CommitStats>) -> Sender<Work> {
    let (tx, rx) = channel::<Work>();
    thread::Builder::new()
        .name("rollcall-sqlite-writer".to_owned())
        .spawn(move || group::run(&mut conn, &rx, &stats))
        .expect("spawn database thread");
    tx
}

/// `n` reader connections sharing one queue, so a slow query holds up only
/// its own connection, on threads `niceness` below the process's priority.
fn spawn_readers(path: &Path, lane: &str, n: usize, niceness: i32) -> Result<Sender<Job>, StoreError> {
    let (tx, rx) = channel::<Job>();
    let shared = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let conn = connect(path, true)?;
        spawn_shared_reader(format!("rollcall-sqlite-{lane}-{i}"), shared.clone(), conn, niceness);
    }
    Ok(tx)
}

fn spawn_shared_reader(name: String, queue: Arc<Mutex<Receiver<Job>>>, mut conn: Connection, niceness: i32) {
    thread::Builder::new()
        .name(name)
        .spawn(move || {
            lower_priority(niceness);
            loop {
                let next = queue.lock().expect("reader queue lock").recv();
                let Ok(job) = next else { return };
                job(&mut conn);
            }
        })
        .expect("spawn database thread");
}

/// Lowers the calling thread's scheduling priority: on Linux `nice` is per
/// thread. Elsewhere it would lower the whole process, so it is left alone.
fn lower_priority(niceness: i32) {
    #[cfg(target_os = "linux")]
    if niceness > 0
        && let Err(e) = rustix::process::nice(niceness)
    {
        tracing::debug!(error = %e, "could not lower a reader thread's priority");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = niceness;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups have connections of their own: with every list connection
    /// busy (and more lists queued), a lookup still answers at once.
    #[tokio::test(flavor = "multi_thread")]
    async fn lookups_do_not_wait_behind_lists() {
        let dir = std::env::temp_dir().join(format!("rollcall-pool-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("db"), true, Duration::from_secs(60)).unwrap();
        // Each list holds its connection until its sender is dropped.
        let (gates, lists): (Vec<_>, Vec<_>) = (0..LIST_READERS + 2)
            .map(|_| {
                let (gate, held) = channel::<()>();
                let store = store.clone();
                let list = tokio::spawn(async move {
                    store
                        .read_list(move |_| {
                            let _ = held.recv();
                            Ok(())
                        })
                        .await
                });
                (gate, list)
            })
            .unzip();
        let lookup = store.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).map_err(backend));
        let answered = tokio::time::timeout(Duration::from_secs(5), lookup).await;
        drop(gates);
        assert_eq!(answered.expect("the lookup waited behind the lists").unwrap(), 1);
        for list in lists {
            list.await.unwrap().unwrap();
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// List readers run at a lower priority than lookups, so CPU-bound
    /// scans yield the processor to the requests that are quick.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn list_readers_yield_the_processor_to_lookups() {
        use rustix::process::getpriority_process;
        let dir = std::env::temp_dir().join(format!("rollcall-nice-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("db"), true, Duration::from_secs(60)).unwrap();
        let ours = getpriority_process(None).unwrap();
        let priority = |_: &Connection| getpriority_process(None).map_err(|e| StoreError::Backend(e.to_string()));
        assert_eq!(store.read(priority).await.unwrap(), ours);
        assert_eq!(store.read_list(priority).await.unwrap(), (ours + LIST_NICENESS).min(19));
        let _ = std::fs::remove_dir_all(dir);
    }
}
