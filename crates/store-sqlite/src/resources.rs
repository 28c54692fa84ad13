//! `ResourceStore` on SQLite.

use async_trait::async_trait;
use oneroster::ResourceDecl;
use oneroster::query::ListQuery;
use rollcall_store::sql::{self, SqlValue, quote};
use rollcall_store::{Page, ResourceStore, StoreError, Update, schema, terms};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params_from_iter};
use serde_json::Value;

use crate::{Sqlite, SqliteStore, backend};

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn get(&self, decl: &'static ResourceDecl, id: &str) -> Result<Option<Value>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| load(c, decl, &id)).await
    }

    async fn get_many(&self, decl: &'static ResourceDecl, ids: Vec<String>) -> Result<Vec<Value>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(move |c| {
            let marks: Vec<String> = (1..=ids.len()).map(|n| format!("?{n}")).collect();
            let q = format!(
                "SELECT doc FROM {} WHERE sourced_id IN ({})",
                quote(decl.collection),
                marks.join(",")
            );
            let mut stmt = c.prepare(&q).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(ids.iter()), |r| r.get::<_, String>(0))
                .map_err(backend)?;
            rows.map(|r| parse_doc(&r.map_err(backend)?)).collect()
        })
        .await
    }

    async fn list(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, StoreError> {
        let (page, count) = sql::list(&Sqlite, decl, query);
        self.read(move |c| {
            let total: i64 = c
                .prepare_cached(&count.sql)
                .map_err(backend)?
                .query_row(params_from_iter(count.params.iter().map(to_sql)), |r| r.get(0))
                .map_err(backend)?;
            let mut stmt = c.prepare_cached(&page.sql).map_err(backend)?;
            let rows = stmt
                .query_map(params_from_iter(page.params.iter().map(to_sql)), |r| {
                    r.get::<_, String>(0)
                })
                .map_err(backend)?;
            let items = rows
                .map(|r| parse_doc(&r.map_err(backend)?))
                .collect::<Result<_, _>>()?;
            Ok(Page {
                items,
                total: total as u64,
            })
        })
        .await
    }

    async fn insert(&self, decl: &'static ResourceDecl, doc: Value) -> Result<(), StoreError> {
        self.insert_many(decl, vec![doc]).await
    }

    async fn insert_many(&self, decl: &'static ResourceDecl, docs: Vec<Value>) -> Result<(), StoreError> {
        self.write(move |c| {
            let tx = c.transaction().map_err(backend)?;
            for doc in &docs {
                insert_one(&tx, decl, doc)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn update(&self, decl: &'static ResourceDecl, id: &str, change: Update) -> Result<Value, StoreError> {
        let id = id.to_owned();
        self.write(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let current = load(&tx, decl, &id)?.ok_or(StoreError::NotFound)?;
            let next = change(current)?;
            tx.prepare_cached(&format!(
                "UPDATE {} SET doc = ?2 WHERE sourced_id = ?1",
                quote(decl.collection)
            ))
            .map_err(backend)?
            .execute((&id, next.to_string()))
            .map_err(|e| conflict(decl, &id, e))?;
            delete_terms(&tx, decl, &id)?;
            insert_terms(&tx, decl, &id, &next)?;
            tx.commit().map_err(backend)?;
            Ok(next)
        })
        .await
    }
}

fn insert_one(c: &Connection, decl: &ResourceDecl, doc: &Value) -> Result<(), StoreError> {
    let id = sourced_id(doc)?;
    c.prepare_cached(&format!(
        "INSERT INTO {} (sourced_id, doc) VALUES (?1, ?2)",
        quote(decl.collection)
    ))
    .map_err(backend)?
    .execute((&id, doc.to_string()))
    .map_err(|e| conflict(decl, &id, e))?;
    insert_terms(c, decl, &id, doc)
}

fn load(c: &Connection, decl: &ResourceDecl, id: &str) -> Result<Option<Value>, StoreError> {
    let doc: Option<String> = c
        .prepare_cached(&format!(
            "SELECT doc FROM {} WHERE sourced_id = ?1",
            quote(decl.collection)
        ))
        .map_err(backend)?
        .query_row([id], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    doc.map(|d| parse_doc(&d)).transpose()
}

/// Removes a record's rows from the terms table (before rewriting them).
fn delete_terms(c: &Connection, decl: &ResourceDecl, id: &str) -> Result<(), StoreError> {
    let table = quote(&terms::table(decl));
    c.prepare_cached(&format!("DELETE FROM {table} WHERE sourced_id = ?1"))
        .map_err(backend)?
        .execute([id])
        .map_err(backend)?;
    Ok(())
}

/// Adds a record's rows to the terms table. A new record has none yet, so
/// inserts skip the delete (a measurable share of bulk-load time).
fn insert_terms(c: &Connection, decl: &ResourceDecl, id: &str, doc: &Value) -> Result<(), StoreError> {
    let table = quote(&terms::table(decl));
    let mut insert = c
        .prepare_cached(&format!(
            "INSERT INTO {table} (sourced_id, field, value) VALUES (?1, ?2, ?3)"
        ))
        .map_err(backend)?;
    for (field, value) in terms::rows(decl, doc) {
        insert.execute((id, field, value)).map_err(backend)?;
    }
    Ok(())
}

fn conflict(decl: &ResourceDecl, id: &str, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() != Some(ErrorCode::ConstraintViolation) {
        return backend(e);
    }
    let message = e.to_string();
    match schema::conflict_field(decl, &message) {
        Some(field) => StoreError::Conflict(format!("another {} already has this {}", decl.singular, field.name)),
        None => StoreError::Conflict(format!("a {} with sourcedId '{id}' already exists", decl.singular)),
    }
}

fn sourced_id(doc: &Value) -> Result<String, StoreError> {
    doc.get("sourcedId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Backend("document without sourcedId".into()))
}

fn parse_doc(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("corrupt stored document: {e}")))
}

fn to_sql(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
        SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
    }
}
