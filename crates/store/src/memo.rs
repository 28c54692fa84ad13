//! Answers a backend may remember between writes: the total of a filtered
//! list (`X-Total-Count`), and where a deep `offset` starts. Counting
//! hundreds of thousands of matches, or skipping hundreds of thousands of
//! rows for an `offset`, costs a walk of that many index entries on every
//! request; between writes the answers cannot change.
//!
//! Every entry is tagged with the *epoch* it was computed in, and only
//! handed out in that same epoch. What an epoch is belongs to the backend,
//! and is the whole of the correctness argument: SQLite counts commits seen
//! through `PRAGMA data_version`; PostgreSQL uses the text of
//! `pg_current_snapshot()` read in the answer's own snapshot, equal only
//! while no transaction has started writing or finished anywhere.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;

use oneroster::cursor::Cursor;
use oneroster::query::ListQuery;
use serde_json::Value;

use crate::sql::SqlValue;

/// Totals kept (a statement and its parameters each: ~10 MB at most).
const COUNTS: usize = 10_000;
/// Ordered lists whose positions are kept, and positions per list: with a
/// cursor of ~150 bytes, at most ~150 MB however clients vary their queries.
const ORDERS: usize = 1_000;
const POSITIONS_PER_ORDER: usize = 1_000;

/// From this offset on, where a page starts is worth remembering: below it
/// skipping rows costs less than a lookup.
pub const DEEP_OFFSET: u64 = 1_000;
/// A page may start this many rows past the nearest remembered position and
/// still be read from there (skipping that many index entries is cheap).
const MAX_SKIP_FROM_POSITION: u64 = 10_000;

/// A statement with its parameters: the identity of a count.
pub type StatementKey = (String, Vec<SqlValue>);

/// An ordered list: the count statement (filter, scope, search) and the
/// sort (field, descending).
pub type OrderKey = (StatementKey, Option<(&'static str, bool)>);

/// Remembered totals and page positions, each valid in one epoch `E`.
pub struct Memo<E> {
    counts: Table<E, StatementKey, u64>,
    /// Where pages start, by offset.
    positions: Table<E, OrderKey, BTreeMap<u64, Cursor>>,
}

impl<E> Default for Memo<E> {
    fn default() -> Self {
        Self {
            counts: Table::new(COUNTS),
            positions: Table::new(ORDERS),
        }
    }
}

impl<E: Eq + Clone> Memo<E> {
    pub fn count(&self, epoch: &E, key: &StatementKey) -> Option<u64> {
        self.counts.with(epoch, key, |n| *n)
    }

    pub fn put_count(&self, epoch: &E, key: StatementKey, total: u64) {
        self.counts.update(epoch, key, |n| *n = total);
    }

    /// The remembered position nearest before (or at) `offset`; its
    /// cursor's `offset` says where it is.
    pub fn position(&self, epoch: &E, key: &OrderKey, offset: u64) -> Option<Cursor> {
        self.positions
            .with(epoch, key, |p| p.range(..=offset).next_back().map(|(_, c)| c.clone()))
            .flatten()
    }

    /// Remembers where the page at `cursor.offset` starts.
    pub fn put_position(&self, epoch: &E, key: OrderKey, cursor: Cursor) {
        self.positions.update(epoch, key, |positions| {
            if positions.len() >= POSITIONS_PER_ORDER {
                positions.clear();
            }
            positions.insert(cursor.offset, cursor);
        });
    }

    /// How to read the page `query` asks for at a deep offset: from the
    /// nearest remembered position when one is close enough, else by offset
    /// from one row earlier (that row marks where the page starts, so it
    /// can be remembered). `None` when the query is not a deep page.
    pub fn deep_plan(&self, epoch: &E, order: &OrderKey, query: &ListQuery) -> Option<DeepPlan> {
        if query.after.is_some() || query.offset < DEEP_OFFSET {
            return None;
        }
        let known = self
            .position(epoch, order, query.offset)
            .filter(|start| query.offset - start.offset <= MAX_SKIP_FROM_POSITION);
        Some(match known {
            Some(start) => DeepPlan {
                query: ListQuery {
                    after: Some(start),
                    ..query.clone()
                },
                widened: false,
            },
            None => DeepPlan {
                query: ListQuery {
                    offset: query.offset - 1,
                    limit: query.limit + 1,
                    ..query.clone()
                },
                widened: true,
            },
        })
    }

    /// The page `query` asked for from the rows `plan` read, remembering
    /// where it starts (when read widened) and where the next one starts.
    /// `row` parses a record for its keyset position.
    pub fn deep_finish<D>(
        &self,
        epoch: &E,
        order: OrderKey,
        query: &ListQuery,
        plan: &DeepPlan,
        mut items: Vec<D>,
        row: impl Fn(&D) -> Option<Value>,
    ) -> Vec<D> {
        if plan.widened {
            if items.is_empty() {
                return items;
            }
            let before = items.remove(0);
            if let Some(start) = row(&before).and_then(|r| position_after(&r, query, query.offset)) {
                self.put_position(epoch, order.clone(), start);
            }
        }
        let next = query.offset + u64::from(query.limit);
        if let Some(last) = items.last().filter(|_| items.len() == query.limit as usize)
            && let Some(start) = row(last).and_then(|r| position_after(&r, query, next))
        {
            self.put_position(epoch, order, start);
        }
        items
    }
}

/// The query to run for a deep page, and whether it reads one row early.
#[derive(Debug, Clone)]
pub struct DeepPlan {
    pub query: ListQuery,
    widened: bool,
}

/// A keyset position just after `row` in `query`'s order.
fn position_after(row: &Value, query: &ListQuery, offset: u64) -> Option<Cursor> {
    Cursor::after(row, query.sort, offset, query.fingerprint)
}

/// Values tagged with the epoch they were computed in.
/// When one fills up, it keeps only the current epoch's entries, or none.
struct Table<E, K, V> {
    map: Mutex<HashMap<K, (E, V)>>,
    capacity: usize,
}

impl<E, K, V> Table<E, K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }
}

impl<E: Eq + Clone, K: Hash + Eq, V> Table<E, K, V> {
    fn with<R>(&self, epoch: &E, key: &K, f: impl FnOnce(&V) -> R) -> Option<R> {
        let map = self.map.lock().expect("memo lock");
        map.get(key).filter(|(e, _)| e == epoch).map(|(_, v)| f(v))
    }

    /// Changes the entry for `key` in `epoch`, starting from the default
    /// when there is none or it is stale.
    fn update(&self, epoch: &E, key: K, f: impl FnOnce(&mut V))
    where
        V: Default,
    {
        let mut map = self.map.lock().expect("memo lock");
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, (e, _)| e == epoch);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        let entry = map.entry(key).or_insert_with(|| (epoch.clone(), V::default()));
        if entry.0 != *epoch {
            *entry = (epoch.clone(), V::default());
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
        let memo = Memo::<u64>::default();
        let key = |n: usize| (format!("SELECT {n}"), Vec::new());
        memo.put_count(&1, key(0), 7);
        assert_eq!(memo.count(&1, &key(0)), Some(7));
        assert_eq!(memo.count(&2, &key(0)), None, "stale after a commit");
        for n in 0..COUNTS + 10 {
            memo.put_count(&3, key(n), n as u64);
        }
        assert!(memo.counts.map.lock().unwrap().len() <= COUNTS);

        let order = |n: usize| (key(n), None);
        for offset in 0..(POSITIONS_PER_ORDER as u64 + 10) {
            memo.put_position(&3, order(0), cursor(1_000 + offset));
        }
        assert!(memo.positions.with(&3, &order(0), BTreeMap::len).unwrap() <= POSITIONS_PER_ORDER);
        for n in 0..ORDERS + 10 {
            memo.put_position(&3, order(n), cursor(5_000));
        }
        assert!(memo.positions.map.lock().unwrap().len() <= ORDERS);
        // The nearest position at or before an offset.
        memo.put_position(&4, order(1), cursor(2_000));
        memo.put_position(&4, order(1), cursor(2_100));
        assert_eq!(memo.position(&4, &order(1), 2_050).map(|c| c.offset), Some(2_000));
        assert_eq!(memo.position(&4, &order(1), 1_999), None);
    }
}
