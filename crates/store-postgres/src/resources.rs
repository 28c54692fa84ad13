//! `ResourceStore` on PostgreSQL.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use oneroster::query::ListQuery;
use oneroster::{FieldDecl, ResourceDecl};
use rollcall_store::diff::Logged;
use rollcall_store::sql::{SqlValue, quote};
use rollcall_store::{
    Page, ResourceStore, StoreError, Update, Write, WriteContext, Writes, parse_record, schema, terms,
};
use serde_json::Value;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::changes::append;
use crate::{PgStore, backend, list};

#[async_trait]
impl ResourceStore for PgStore {
    async fn get(&self, decl: &'static ResourceDecl, id: &str) -> Result<Option<Value>, StoreError> {
        let client = self.conn().await?;
        let sql = format!("SELECT doc FROM {} WHERE sourced_id = $1", quote(decl.collection));
        let stmt = client.prepare_cached(&sql).await.map_err(|e| self.fail(e))?;
        let row = client.query_opt(&stmt, &[&id]).await.map_err(|e| self.fail(e))?;
        row.map(|r| r.try_get(0).map_err(backend)).transpose()
    }

    async fn get_many(&self, decl: &'static ResourceDecl, ids: Vec<String>) -> Result<Vec<Value>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.conn().await?;
        // One array parameter rather than a placeholder per id: a single
        // statement shape, so it is prepared once whatever the batch size.
        let stmt = client
            .prepare_cached(&format!(
                "SELECT doc FROM {} WHERE sourced_id = ANY($1)",
                quote(decl.collection)
            ))
            .await
            .map_err(|e| self.fail(e))?;
        let rows = client.query(&stmt, &[&ids]).await.map_err(|e| self.fail(e))?;
        rows.iter().map(|r| r.try_get(0).map_err(backend)).collect()
    }

    async fn unique_holders(
        &self,
        decl: &'static ResourceDecl,
        field: &'static FieldDecl,
        keys: Vec<String>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.conn().await?;
        let key = schema::key_column(field);
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {key}, sourced_id FROM {} WHERE {key} = ANY($1)",
                quote(decl.collection)
            ))
            .await
            .map_err(backend)?;
        let rows = client.query(&stmt, &[&keys]).await.map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn list(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, StoreError> {
        list::list(self, decl, query).await
    }

    async fn insert(&self, decl: &'static ResourceDecl, doc: Value) -> Result<(), StoreError> {
        self.insert_many(decl, vec![doc]).await
    }

    async fn insert_many(&self, decl: &'static ResourceDecl, docs: Vec<Value>) -> Result<(), StoreError> {
        let ctx = WriteContext::current();
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(backend)?;
        insert_docs(&tx, &ctx, decl, docs).await?;
        tx.commit().await.map_err(backend)
    }

    /// One transaction for the whole set. Steps are pulled (and parsed) on
    /// the blocking pool: the producer may wait (for a verdict, on
    /// generating threads), which must not stall the runtime. A caller that
    /// goes away drops the transaction, which rolls it back.
    async fn apply(&self, writes: Writes) -> Result<u64, StoreError> {
        let ctx = WriteContext::current();
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // A load's statements carry whole batches; the budget is for reads.
        tx.batch_execute(UNBUDGETED).await.map_err(backend)?;
        let mut rest = writes;
        let mut written = 0;
        loop {
            let (next, back) = tokio::task::spawn_blocking(move || (rest.next().map(|w| w.and_then(parse)), rest))
                .await
                .map_err(|e| StoreError::Backend(format!("the writes' producer failed: {e}")))?;
            rest = back;
            let Some(step) = next else { break };
            written += match step? {
                Parsed::Insert(decl, docs) => {
                    let n = docs.len() as u64;
                    insert_docs(&tx, &ctx, decl, docs).await?;
                    n
                }
                Parsed::Replace { decl, id, read, doc } => {
                    let before = replace_if_unchanged(&tx, decl, &id, read, &doc).await?;
                    let logged = Logged::updated(decl, &before, &doc);
                    append(&tx, &ctx, decl, vec![(id, logged)]).await?;
                    1
                }
            };
        }
        tx.commit().await.map_err(backend)?;
        Ok(written)
    }

    async fn update(&self, decl: &'static ResourceDecl, id: &str, change: Update) -> Result<Value, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // The row lock makes concurrent updates of one record take turns, each
        // seeing the other's result; dropping `tx` on any error rolls back.
        let select = format!(
            "SELECT doc FROM {} WHERE sourced_id = $1 FOR UPDATE",
            quote(decl.collection)
        );
        let current = load(&tx, &select, id).await?.ok_or(StoreError::NotFound)?;
        let next = change(current.clone())?;
        rewrite(&tx, decl, id, &next, None).await?;
        let logged = Logged::updated(decl, &current, &next);
        append(&tx, &WriteContext::current(), decl, vec![(id.to_owned(), logged)]).await?;
        tx.commit().await.map_err(backend)?;
        Ok(next)
    }
}

/// Lifts the statement budget for the rest of the transaction.
pub(crate) const UNBUDGETED: &str = "SET LOCAL statement_timeout = 0";

/// Two statements per call, whatever the number of documents: the
/// documents, then all their terms, each bound as arrays and unnested by
/// PostgreSQL.
/// Their change log entries go in a third.
async fn insert_docs(
    tx: &impl GenericClient,
    ctx: &WriteContext,
    decl: &ResourceDecl,
    docs: Vec<Value>,
) -> Result<(), StoreError> {
    let ids = docs.iter().map(sourced_id).collect::<Result<Vec<_>, _>>()?;
    let unique: Vec<_> = schema::unique_fields(decl).collect();
    let key_columns: String = unique.iter().map(|f| format!(", {}", schema::key_column(f))).collect();
    let key_arrays: String = (3..unique.len() + 3).map(|n| format!(", ${n}::text[]")).collect();
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO {} (sourced_id, doc{key_columns}) SELECT * FROM unnest($1::text[], $2::jsonb[]{key_arrays})",
            quote(decl.collection)
        ))
        .await
        .map_err(backend)?;
    let keys: Vec<Vec<Option<String>>> = unique
        .iter()
        .map(|f| docs.iter().map(|d| schema::key_value(d, f)).collect())
        .collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ids, &docs];
    params.extend(keys.iter().map(|k| k as &(dyn ToSql + Sync)));
    let one_id = if ids.len() == 1 { ids[0].as_str() } else { "" };
    tx.execute(&insert, &params)
        .await
        .map_err(|e| conflict(decl, one_id, e))?;
    let (mut t_ids, mut t_fields, mut t_values) = (Vec::new(), Vec::new(), Vec::new());
    for (id, doc) in ids.iter().zip(&docs) {
        for (field, value) in terms::rows(decl, doc) {
            t_ids.push(id.as_str());
            t_fields.push(field);
            t_values.push(value);
        }
    }
    let terms = tx
        .prepare_cached(&format!(
            "INSERT INTO {} (sourced_id, field, value) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])",
            quote(&terms::table(decl))
        ))
        .await
        .map_err(backend)?;
    tx.execute(&terms, &[&t_ids, &t_fields, &t_values])
        .await
        .map_err(backend)?;
    let logged = ids
        .into_iter()
        .zip(&docs)
        .map(|(id, doc)| (id, Logged::created(decl, doc)))
        .collect();
    append(tx, ctx, decl, logged).await
}

/// A [`Write`] with its records parsed.
enum Parsed {
    Insert(&'static ResourceDecl, Vec<Value>),
    Replace {
        decl: &'static ResourceDecl,
        id: String,
        read: Option<String>,
        doc: Value,
    },
}

fn parse(step: Write) -> Result<Parsed, StoreError> {
    Ok(match step {
        Write::Insert(decl, records) => {
            Parsed::Insert(decl, records.iter().map(|t| parse_record(t)).collect::<Result<_, _>>()?)
        }
        Write::Replace { decl, id, read, doc } => Parsed::Replace {
            decl,
            id,
            read,
            doc: parse_record(&doc)?,
        },
    })
}

/// Stores `doc` over the record `id` if its `dateLastModified` is still
/// `read`, and returns the record it replaced (read under a row lock, so
/// the change logged is the one made); a record changed meanwhile is
/// reported rather than overwritten.
async fn replace_if_unchanged(
    tx: &impl GenericClient,
    decl: &'static ResourceDecl,
    id: &str,
    read: Option<String>,
    doc: &Value,
) -> Result<Value, StoreError> {
    let select = format!(
        "SELECT doc FROM {} WHERE sourced_id = $1 FOR UPDATE",
        quote(decl.collection)
    );
    let changed = || {
        StoreError::Conflict(format!(
            "{} '{id}' changed after the import read it; nothing was written, run the import again",
            decl.singular
        ))
    };
    let before = load(tx, &select, id).await?.ok_or_else(changed)?;
    if rewrite(tx, decl, id, doc, Some(read)).await? == 0 {
        return Err(changed());
    }
    Ok(before)
}

/// Stores `doc` over the record `id`, with its unique fields' key columns
/// and its terms rows; with `read`, only if the stored `dateLastModified`
/// is still that. Returns how many records it replaced (0 or 1).
async fn rewrite(
    tx: &impl GenericClient,
    decl: &'static ResourceDecl,
    id: &str,
    doc: &Value,
    read: Option<Option<String>>,
) -> Result<u64, StoreError> {
    let unique: Vec<_> = schema::unique_fields(decl).collect();
    let key_sets: String = unique
        .iter()
        .zip(3..)
        .map(|(f, n)| format!(", {} = ${n}", schema::key_column(f)))
        .collect();
    let condition = match read {
        Some(_) => format!(
            " AND doc->>'dateLastModified' IS NOT DISTINCT FROM ${}",
            unique.len() + 3
        ),
        None => String::new(),
    };
    let stmt = tx
        .prepare_cached(&format!(
            "UPDATE {} SET doc = $2{key_sets} WHERE sourced_id = $1{condition}",
            quote(decl.collection)
        ))
        .await
        .map_err(backend)?;
    let keys: Vec<Option<String>> = unique.iter().map(|f| schema::key_value(doc, f)).collect();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id, doc];
    params.extend(keys.iter().map(|k| k as &(dyn ToSql + Sync)));
    if let Some(read) = &read {
        params.push(read);
    }
    let updated = tx.execute(&stmt, &params).await.map_err(|e| conflict(decl, id, e))?;
    if updated > 0 {
        write_terms(tx, decl, id, doc).await?;
    }
    Ok(updated)
}

/// The one document `sql` (taking the id as `$1`) selects, if any.
async fn load(c: &impl GenericClient, sql: &str, id: &str) -> Result<Option<Value>, StoreError> {
    let stmt = c.prepare_cached(sql).await.map_err(backend)?;
    let row = c.query_opt(&stmt, &[&id]).await.map_err(backend)?;
    row.map(|r| r.try_get(0).map_err(backend)).transpose()
}

/// Replaces the record's rows in the terms table: one DELETE and one
/// array-unnesting INSERT, however many values the document holds.
async fn write_terms(c: &impl GenericClient, decl: &ResourceDecl, id: &str, doc: &Value) -> Result<(), StoreError> {
    let table = quote(&terms::table(decl));
    let delete = c
        .prepare_cached(&format!("DELETE FROM {table} WHERE sourced_id = $1"))
        .await
        .map_err(backend)?;
    c.execute(&delete, &[&id]).await.map_err(backend)?;
    let (fields, values): (Vec<&str>, Vec<String>) = terms::rows(decl, doc).into_iter().unzip();
    if fields.is_empty() {
        return Ok(());
    }
    let insert = c
        .prepare_cached(&format!(
            "INSERT INTO {table} (sourced_id, field, value) SELECT $1, f, v FROM unnest($2::text[], $3::text[]) AS t(f, v)"
        ))
        .await
        .map_err(backend)?;
    c.execute(&insert, &[&id, &fields, &values]).await.map_err(backend)?;
    Ok(())
}

/// Unique violations become `Conflict` with the same wording as on SQLite;
/// the violated index's name tells which field (or else the primary key).
fn conflict(decl: &ResourceDecl, id: &str, e: tokio_postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error().filter(|d| *d.code() == SqlState::UNIQUE_VIOLATION) else {
        return backend(e);
    };
    if let Some(clash) = db
        .constraint()
        .and_then(|c| rollcall_store::extension::conflict(decl, c))
    {
        return clash;
    }
    match db.constraint().and_then(|c| schema::conflict_field(decl, c)) {
        Some(field) => StoreError::Conflict(format!("another {} already has this {}", decl.singular, field.name)),
        None => {
            // In a batch the id comes from PostgreSQL's "Key (sourced_id)=(…)".
            let from_detail = db
                .detail()
                .and_then(|d| d.split_once(")=("))
                .and_then(|(_, r)| r.rsplit_once(')'));
            let id = from_detail.map_or(id, |(v, _)| v);
            StoreError::Conflict(format!("a {} with sourcedId '{id}' already exists", decl.singular))
        }
    }
}

fn sourced_id(doc: &Value) -> Result<String, StoreError> {
    doc.get("sourcedId")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Backend("document without sourcedId".into()))
}

/// The compiler's parameters as tokio-postgres binds them; `Int` only ever
/// feeds LIMIT and OFFSET, which PostgreSQL types as BIGINT, and a list
/// binds as `text[]`.
pub(crate) fn params(values: &[SqlValue]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|v| match v {
            SqlValue::Text(s) => s as &(dyn ToSql + Sync),
            SqlValue::Int(i) => i as &(dyn ToSql + Sync),
            SqlValue::TextList(items) => items as &(dyn ToSql + Sync),
        })
        .collect()
}
