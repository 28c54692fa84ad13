//! Online backup and restore of the embedded database.
//!
//! A backup is SQLite's online backup of one read snapshot: every write
//! committed before it started is in it, none committed after, and the
//! server keeps writing meanwhile (a WAL reader never blocks the writer).
//! It is written to a temporary name beside the target and renamed into
//! place once complete and checked, so an interrupted backup never leaves a
//! truncated file where the operator expects a good one.
//!
//! A restore replaces the database file with a checked copy of a backup.
//! The server must be stopped: a running one would keep serving (and
//! writing to) the file it opened. The replaced file is kept beside the new
//! one, so a restore of the wrong backup can be undone.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rollcall_store::StoreError;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::backend;

fn sqlite(e: rusqlite::Error) -> BackupError {
    BackupError::Store(backend(e))
}

/// Why a backup or restore did not happen. Nothing is left behind either way.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The operator's request cannot be carried out as asked (the message
    /// says why and what to do).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refused(message: String) -> BackupError {
    BackupError::Refused(message)
}

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Where the database that a restore replaced was moved (restore only).
    pub previous: Option<PathBuf>,
}

/// Copies the database at `source` to the new file `target` (which must not
/// exist), consistently, while other connections keep reading and writing.
pub fn backup(source: &Path, target: &Path) -> Result<Copied, BackupError> {
    if target.exists() {
        return Err(refused(format!(
            "{} already exists; choose a new name for the backup",
            target.display()
        )));
    }
    let staging = stage(source, target)?;
    std::fs::rename(&staging, target).map_err(io(target))?;
    copied(target, None)
}

/// Installs the backup at `backup` as the database at `target`, after
/// checking it. An existing `target` must not be open in any process; it is
/// moved to `<target>.before-restore-<unix seconds>` first.
///
/// The restored change log gets a new epoch: change feed cursors issued
/// before the restore point into a history that no longer happened, so
/// they are refused (410) and their consumers resync.
pub fn restore(backup: &Path, target: &Path) -> Result<Copied, BackupError> {
    let staging = stage(backup, target)?;
    new_change_log(&staging).inspect_err(|_| discard(&staging))?;
    let previous = match target.exists() {
        true => Some(set_aside(target).inspect_err(|_| discard(&staging))?),
        false => None,
    };
    std::fs::rename(&staging, target).map_err(io(target))?;
    copied(target, previous)
}

/// A checked copy of `source` under a temporary name beside `target`.
fn stage(source: &Path, target: &Path) -> Result<PathBuf, BackupError> {
    let source = open_existing(source)?;
    let staging = staging_name(target);
    copy_to_new_file(&source, &staging)
        .and_then(|()| check(&staging))
        .inspect_err(|_| discard(&staging))?;
    Ok(staging)
}

/// A backup from before the change log has none: the first open creates it,
/// with an epoch of its own.
fn new_change_log(staging: &Path) -> Result<(), BackupError> {
    let conn = Connection::open(staging).map_err(sqlite)?;
    let logged: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'change_log_state'",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    if logged > 0 {
        conn.execute_batch(crate::changes::NEW_EPOCH).map_err(sqlite)?;
    }
    Ok(())
}

fn discard(staging: &Path) {
    let _ = std::fs::remove_file(staging);
}

/// Opens a database file that must already exist (a typo must not create an
/// empty database and back that up).
fn open_existing(path: &Path) -> Result<Connection, BackupError> {
    if !path.is_file() {
        return Err(refused(format!("no database file at {}", path.display())));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).map_err(sqlite)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
    Ok(conn)
}

/// One backup step over every page: one read snapshot, so the copy is
/// consistent. Retries while the source is locked by a bulk load.
fn copy_to_new_file(source: &Connection, path: &Path) -> Result<(), BackupError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode_owner_only()
        .open(path)
        .map_err(io(path))?;
    let mut target = Connection::open(path).map_err(sqlite)?;
    let backup = Backup::new(source, &mut target).map_err(sqlite)?;
    loop {
        match backup.step(-1).map_err(sqlite)? {
            StepResult::Done => break,
            StepResult::More => {}
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    drop(backup);
    target.execute_batch("PRAGMA journal_mode=WAL").map_err(sqlite)
}

/// The copy must pass SQLite's integrity check and hold Rollcall's tables.
fn check(path: &Path) -> Result<(), BackupError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite)?;
    quick_check(&conn, path)?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('settings', 'oauth_clients')",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite)?;
    if tables != 2 {
        return Err(refused(format!("{} is not a Rollcall database", path.display())));
    }
    Ok(())
}

fn quick_check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
        .map_err(|e| refused(format!("{} is not a readable database: {e}", path.display())))?;
    if verdict != "ok" {
        return Err(refused(format!(
            "{} fails SQLite's integrity check: {verdict}",
            path.display()
        )));
    }
    Ok(())
}

/// Moves the database at `target` aside. Taking an exclusive lock first
/// proves no other process has it open (a WAL connection holds a shared
/// lock for as long as it is open), and closing that last connection
/// checkpoints the WAL into the file, so the file moved holds everything.
fn set_aside(target: &Path) -> Result<PathBuf, BackupError> {
    {
        let conn = open_existing(target)?;
        conn.busy_timeout(Duration::ZERO).map_err(sqlite)?;
        conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;")
            .map_err(|_| {
                refused(format!(
                    "{} is open in another process (is `rollcall serve` running?); stop it before restoring",
                    target.display()
                ))
            })?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").map_err(sqlite)?;
    }
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = with_suffix(target, &format!(".before-restore-{seconds}"));
    std::fs::rename(target, &aside).map_err(io(target))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(target, suffix));
    }
    Ok(aside)
}

fn copied(path: &Path, previous: Option<PathBuf>) -> Result<Copied, BackupError> {
    let bytes = std::fs::metadata(path).map_err(io(path))?.len();
    Ok(Copied {
        path: path.to_owned(),
        bytes,
        previous,
    })
}

fn staging_name(target: &Path) -> PathBuf {
    with_suffix(target, &format!(".partial-{}", std::process::id()))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| refused(format!("{}: {e}", path.display()))
}

/// Backups hold password hashes and the token signing key: owner-only.
trait OwnerOnly {
    fn mode_owner_only(&mut self) -> &mut Self;
}

impl OwnerOnly for OpenOptions {
    #[cfg(unix)]
    fn mode_owner_only(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }

    #[cfg(not(unix))]
    fn mode_owner_only(&mut self) -> &mut Self {
        self
    }
}
