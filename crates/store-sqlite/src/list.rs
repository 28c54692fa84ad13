//! Listing: the page and its total, with both remembered between writes
//! (see `memo`) where recomputing them is what costs.

use oneroster::ResourceDecl;
use oneroster::query::ListQuery;
use rollcall_store::StoreError;
use rollcall_store::sql::{self, ManyValued, PageKeys, SqlValue, quote};
use rusqlite::{Connection, params_from_iter};
use serde_json::Value;

use rollcall_store::memo::StatementKey;

use crate::memo::SqliteMemo;
use crate::{Sqlite, backend};

/// A record as a page hands it out: parsed, or as its stored JSON text.
pub trait Stored: Sized {
    fn from_text(text: String) -> Result<Self, StoreError>;
    /// The parsed record (for the rows that mark positions).
    fn value(&self) -> Result<Value, StoreError>;
}

impl Stored for Value {
    fn from_text(text: String) -> Result<Self, StoreError> {
        parse_doc(&text)
    }

    fn value(&self) -> Result<Value, StoreError> {
        Ok(self.clone())
    }
}

impl Stored for String {
    fn from_text(text: String) -> Result<Self, StoreError> {
        Ok(text)
    }

    fn value(&self) -> Result<Value, StoreError> {
        parse_doc(self)
    }
}

/// One page of `query` and the total, on a reader connection, read from
/// one snapshot: a write committed meanwhile changes neither.
pub fn list<D: Stored>(
    c: &Connection,
    memo: &SqliteMemo,
    decl: &ResourceDecl,
    query: &ListQuery,
) -> Result<(Vec<D>, u64), StoreError> {
    let snapshot = c.unchecked_transaction().map_err(backend)?;
    let listed = list_in(c, memo, decl, query)?;
    snapshot.commit().map_err(backend)?;
    Ok(listed)
}

fn list_in<D: Stored>(
    c: &Connection,
    memo: &SqliteMemo,
    decl: &ResourceDecl,
    query: &ListQuery,
) -> Result<(Vec<D>, u64), StoreError> {
    let epoch = memo.epoch(c)?;
    let (_, count) = sql::list(&Sqlite, decl, query);
    let count_key = (count.sql, count.params);
    let total = total(c, memo, epoch, &count_key)?;
    let many = many_valued_plan(c, decl, query, total)?;
    let page = |q: &ListQuery| rows::<D>(c, decl, &sql::page_keys(&Sqlite, decl, q, many));
    let order = (count_key, query.sort.map(|k| (k.field.name, k.descending)));
    let items = match memo.deep_plan(&epoch, &order, query) {
        None => page(query)?,
        Some(plan) => {
            let items = page(&plan.query)?;
            memo.deep_finish(&epoch, order, query, &plan, items, |d| d.value().ok())
        }
    };
    Ok((items, total))
}

/// The remembered total, or a count (then remembered).
fn total(c: &Connection, memo: &SqliteMemo, epoch: u64, count: &StatementKey) -> Result<u64, StoreError> {
    if let Some(total) = memo.count(&epoch, count) {
        return Ok(total);
    }
    let total: i64 = c
        .prepare_cached(&count.0)
        .map_err(backend)?
        .query_row(params_from_iter(count.1.iter().map(to_sql)), |r| r.get(0))
        .map_err(backend)?;
    memo.put_count(&epoch, count.clone(), total as u64);
    Ok(total as u64)
}

/// `Exists` when probing rows in page order finds the page sooner than
/// collecting every match: reaching row `offset + limit` probes about
/// `(offset + limit) × rows / matches` rows, collecting probes `matches`.
/// Records are only soft-deleted, so the largest rowid counts the rows
/// (in a B-tree lookup, not a scan).
fn many_valued_plan(
    c: &Connection,
    decl: &ResourceDecl,
    query: &ListQuery,
    matches: u64,
) -> Result<ManyValued, StoreError> {
    if matches == 0 {
        return Ok(ManyValued::In);
    }
    let rows: i64 = c
        .prepare_cached(&format!(
            "SELECT coalesce(max(rowid), 0) FROM {}",
            quote(decl.collection)
        ))
        .map_err(backend)?
        .query_row([], |r| r.get(0))
        .map_err(backend)?;
    let reach = u128::from(query.offset) + u128::from(query.limit);
    let cheaper = reach * rows as u128 / u128::from(matches) < u128::from(matches);
    Ok(if cheaper { ManyValued::Exists } else { ManyValued::In })
}

/// The page's documents: its keys chosen in page order, then each key's
/// document read by that key. One statement that reads the documents of an
/// `IN (keys)` list has to sort them again, whole; for a 1,000-row page
/// that took as long as everything else the database does for it.
fn rows<D: Stored>(c: &Connection, decl: &ResourceDecl, page: &PageKeys) -> Result<Vec<D>, StoreError> {
    let mut keys = c.prepare_cached(&page.sql.sql).map_err(backend)?;
    let keys = keys
        .query_map(params_from_iter(page.sql.params.iter().map(to_sql)), |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    let mut doc = c.prepare_cached(&sql::doc_by_key(decl, page.column)).map_err(backend)?;
    let mut items = Vec::with_capacity(keys.len());
    for key in keys {
        // Records are only ever soft-deleted and the caller reads in one
        // transaction, so every chosen key has its row.
        let text = doc.query_row([key], |r| r.get::<_, String>(0)).map_err(backend)?;
        items.push(D::from_text(text)?);
    }
    Ok(items)
}

pub fn parse_doc(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Backend(format!("corrupt stored document: {e}"))
}

pub fn to_sql(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
        SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
        SqlValue::TextList(items) => {
            rusqlite::types::Value::Text(serde_json::to_string(items).expect("strings serialise"))
        }
    }
}
