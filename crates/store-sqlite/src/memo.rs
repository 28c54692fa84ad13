//! The SQLite epoch of the remembered answers (`rollcall_store::memo`): any
//! commit (by this process or another one on the same file) makes them all
//! stale. Readers check `PRAGMA data_version` first, and the store's own
//! writes forget them as they finish.

use std::cell::Cell;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use rollcall_store::StoreError;
use rollcall_store::memo::Memo;
use rusqlite::Connection;

use crate::backend;

#[derive(Default)]
pub struct SqliteMemo {
    /// Bumped whenever a reader notices a commit it has not seen.
    epoch: AtomicU64,
    memo: Memo<u64>,
}

thread_local! {
    /// The `data_version` this thread's connection last reported. Each
    /// reader thread owns one connection for its whole life.
    static SEEN: Cell<Option<i64>> = const { Cell::new(None) };
}

impl SqliteMemo {
    /// The current epoch, after noticing any commit made since this
    /// thread's connection last looked. Call before every use: an entry is
    /// only valid in the epoch it was computed in (`data_version` changes
    /// when another connection commits; a connection's first look counts
    /// as a change, since others may have cached before a commit it cannot
    /// see as one).
    pub fn epoch(&self, c: &Connection) -> Result<u64, StoreError> {
        let version: i64 = c
            .prepare_cached("PRAGMA data_version")
            .map_err(backend)?
            .query_row([], |r| r.get(0))
            .map_err(backend)?;
        if SEEN.replace(Some(version)) != Some(version) {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        Ok(self.epoch.load(Ordering::SeqCst))
    }

    /// Makes every remembered answer stale: after a write by this store. A
    /// connection's `data_version` does not change for its own commits, and
    /// a single-connection store (`open_alone`) reads on the connection it
    /// writes on.
    pub fn forget(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl Deref for SqliteMemo {
    type Target = Memo<u64>;

    fn deref(&self) -> &Memo<u64> {
        &self.memo
    }
}
