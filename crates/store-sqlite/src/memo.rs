//! Answers remembered until the next write: the total of a filtered list
//! (`X-Total-Count`), and where a deep `offset` starts. Counting 980,000
//! matches walks 980,000 index entries, and `offset=900000` walks 900,000,
//! on every request; a client paging a filter by offset asks both again
//! for every page. Between writes the answers cannot change, so they are
//! kept, and any commit (by this process or another one on the same file)
//! makes them all stale: readers check `PRAGMA data_version` first, and the
//! store's own writes forget them as they finish.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use oneroster::cursor::Cursor;
use rollcall_store::StoreError;
use rollcall_store::sql::SqlValue;
use rusqlite::Connection;

use crate::backend;

/// Totals kept (a statement and its parameters each: ~10 MB at most).
const COUNTS: usize = 10_000;
/// Ordered lists whose positions are kept, and positions per list: with a
/// cursor of ~150 bytes, at most ~150 MB however clients vary their queries.
const ORDERS: usize = 1_000;
const POSITIONS_PER_ORDER: usize = 1_000;

/// A statement with its parameters: the identity of a count.
pub type StatementKey = (String, Vec<SqlValue>);

/// An ordered list: the count statement (filter, scope, search) and the
/// sort (field, descending).
pub type OrderKey = (StatementKey, Option<(&'static str, bool)>);

pub struct Memo {
    /// Bumped whenever a reader notices a commit it has not seen.
    epoch: AtomicU64,
    counts: Table<StatementKey, u64>,
    /// Where pages start, by offset.
    positions: Table<OrderKey, BTreeMap<u64, Cursor>>,
}

impl Default for Memo {
    fn default() -> Self {
        Self {
            epoch: AtomicU64::default(),
            counts: Table::new(COUNTS),
            positions: Table::new(ORDERS),
        }
    }
}

thread_local! {
    /// The `data_version` this thread's connection last reported. Each
    /// reader thread owns one connection for its whole life.
    static SEEN: Cell<Option<i64>> = const { Cell::new(None) };
}

impl Memo {
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

    pub fn count(&self, epoch: u64, key: &StatementKey) -> Option<u64> {
        self.counts.get(epoch, key)
    }

    pub fn put_count(&self, epoch: u64, key: StatementKey, total: u64) {
        self.counts.put(epoch, key, total);
    }

    /// The remembered position nearest before (or at) `offset`; its
    /// cursor's `offset` says where it is.
    pub fn position(&self, epoch: u64, key: &OrderKey, offset: u64) -> Option<Cursor> {
        self.positions
            .with(epoch, key, |p| p.range(..=offset).next_back().map(|(_, c)| c.clone()))
            .flatten()
    }

    /// Remembers where the page at `cursor.offset` starts.
    pub fn put_position(&self, epoch: u64, key: OrderKey, cursor: Cursor) {
        self.positions.update(epoch, key, |positions| {
            if positions.len() >= POSITIONS_PER_ORDER {
                positions.clear();
            }
            positions.insert(cursor.offset, cursor);
        });
    }
}

/// Values tagged with the epoch they were computed in.
/// When one fills up, it keeps only the current epoch's entries, or none.
struct Table<K, V> {
    map: Mutex<HashMap<K, (u64, V)>>,
    capacity: usize,
}

impl<K: Hash + Eq, V> Table<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn with<R>(&self, epoch: u64, key: &K, f: impl FnOnce(&V) -> R) -> Option<R> {
        let map = self.map.lock().expect("memo lock");
        map.get(key).filter(|(e, _)| *e == epoch).map(|(_, v)| f(v))
    }

    fn get(&self, epoch: u64, key: &K) -> Option<V>
    where
        V: Clone,
    {
        self.with(epoch, key, V::clone)
    }

    fn put(&self, epoch: u64, key: K, value: V)
    where
        V: Default,
    {
        self.update(epoch, key, |v| *v = value);
    }

    /// Changes the entry for `key` in `epoch`, starting from the default
    /// when there is none or it is stale.
    fn update(&self, epoch: u64, key: K, f: impl FnOnce(&mut V))
    where
        V: Default,
    {
        let mut map = self.map.lock().expect("memo lock");
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, (e, _)| *e == epoch);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        let entry = map.entry(key).or_insert_with(|| (epoch, V::default()));
        if entry.0 != epoch {
            *entry = (epoch, V::default());
        }
        f(&mut entry.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(offset: u64) -> Cursor {
        Cursor {
            value: None,
            id: format!("u{offset}"),
            offset,
            query: 0,
        }
    }

    #[test]
    fn entries_belong_to_their_epoch_and_memory_stays_bounded() {
        let memo = Memo::default();
        let key = |n: usize| (format!("SELECT {n}"), Vec::new());
        memo.put_count(1, key(0), 7);
        assert_eq!(memo.count(1, &key(0)), Some(7));
        assert_eq!(memo.count(2, &key(0)), None, "stale after a commit");
        for n in 0..COUNTS + 10 {
            memo.put_count(3, key(n), n as u64);
        }
        assert!(memo.counts.map.lock().unwrap().len() <= COUNTS);

        let order = |n: usize| (key(n), None);
        for offset in 0..(POSITIONS_PER_ORDER as u64 + 10) {
            memo.put_position(3, order(0), cursor(1_000 + offset));
        }
        assert!(memo.positions.with(3, &order(0), BTreeMap::len).unwrap() <= POSITIONS_PER_ORDER);
        for n in 0..ORDERS + 10 {
            memo.put_position(3, order(n), cursor(5_000));
        }
        assert!(memo.positions.map.lock().unwrap().len() <= ORDERS);
        // The nearest position at or before an offset.
        memo.put_position(4, order(1), cursor(2_000));
        memo.put_position(4, order(1), cursor(2_100));
        assert_eq!(memo.position(4, &order(1), 2_050).map(|c| c.offset), Some(2_000));
        assert_eq!(memo.position(4, &order(1), 1_999), None);
    }
}
