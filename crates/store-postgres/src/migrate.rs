//! Schema creation and upgrade, derived from the resource declarations.
//!
//! Everything runs in one transaction holding a transaction-scoped advisory
//! lock, so instances starting together take turns: the first creates the
//! schema, the others then find it in place. Without the lock two concurrent
//! `CREATE TABLE IF NOT EXISTS` can both see no table, and the second fails on
//! a catalog unique violation.

use std::collections::HashSet;

use deadpool_postgres::{Object, Transaction};
use oneroster::{FieldDecl, ResourceDecl, resource};
use rollcall_store::StoreError;
use rollcall_store::schema::{self, SchemaDialect};
use rollcall_store::sql::{column, quote};

use crate::backend;

/// Text that compares byte-wise, i.e. in code-point order for UTF-8, as
/// SQLite does; the database's default collation might be `en_US` or similar.
const TEXT: &str = "TEXT COLLATE \"C\"";

/// The advisory lock serialising migrations: "rollcall" in ASCII. Advisory
/// locks are per database, so this only serialises instances sharing one.
const LOCK_KEY: i64 = 0x726f_6c6c_6361_6c6c;

pub(crate) struct PgSchema;

impl SchemaDialect for PgSchema {
    fn doc_type(&self) -> &'static str {
        "JSONB"
    }

    /// Stored rather than virtual: PostgreSQL 15 has no virtual generated
    /// columns, and stored ones make filters and sorts plain column reads.
    fn field_column(&self, column: &str, path: &str) -> String {
        let path = path.replace('.', ",");
        format!("{column} {TEXT} GENERATED ALWAYS AS (doc #>> '{{{path}}}') STORED")
    }

    fn key_type(&self) -> &'static str {
        TEXT
    }

    fn sort_key(&self, column: &str) -> String {
        format!("{column} NULLS FIRST")
    }
}

/// Brings the schema up to date: creates what is missing and adds columns
/// (with their indexes) for fields declared since the database was created.
pub async fn run(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(backend)?;
    // Waiting for another instance's migration, and building an index on a
    // large table, may both take longer than one read's budget.
    tx.batch_execute(crate::resources::UNBUDGETED).await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(backend)?;
    for statement in schema::FIXED_TABLES {
        tx.batch_execute(statement).await.map_err(backend)?;
    }
    tx.batch_execute(crate::credentials::TABLE).await.map_err(backend)?;
    tx.batch_execute(&crate::webhooks::table()).await.map_err(backend)?;
    tx.batch_execute(crate::changes::TABLES).await.map_err(backend)?;
    // Clients from before tokens carried a generation start at 0; their
    // tokens, which carry none, are refused and must be fetched again.
    tx.batch_execute("ALTER TABLE oauth_clients ADD COLUMN IF NOT EXISTS token_generation BIGINT NOT NULL DEFAULT 0")
        .await
        .map_err(backend)?;
    for decl in resource::all() {
        for statement in schema::create_tables(&PgSchema, decl) {
            tx.batch_execute(&statement).await.map_err(backend)?;
        }
        let existing = columns(&tx, decl.collection).await?;
        for field in schema::scalar_fields(decl) {
            let name = column(field).trim_matches('"').to_owned();
            if !existing.contains(&name) {
                let def = schema::column_def(&PgSchema, field);
                tx.batch_execute(&format!("ALTER TABLE {} ADD COLUMN {def}", quote(decl.collection)))
                    .await
                    .map_err(backend)?;
            }
        }
        for field in schema::unique_fields(decl) {
            let name = schema::key_column(field).trim_matches('"').to_owned();
            if !existing.contains(&name) {
                add_keys(&tx, decl, field).await?;
            }
        }
        for statement in schema::create_indexes(&PgSchema, decl) {
            tx.batch_execute(&statement).await.map_err(backend)?;
        }
    }
    tx.commit().await.map_err(backend)
}

/// Gives a unique field its key column, filled from the field column:
/// databases from before the key compared `lower()` of the value, which
/// folds ASCII only, so they may hold values that are duplicates under the
/// key. Then the unique index cannot be built: the start is refused, naming
/// them (the transaction rolls the column back).
async fn add_keys(tx: &Transaction<'_>, decl: &ResourceDecl, field: &FieldDecl) -> Result<(), StoreError> {
    let table = quote(decl.collection);
    let key = schema::key_column(field);
    tx.batch_execute(&format!(
        "ALTER TABLE {table} ADD COLUMN {}; DROP INDEX IF EXISTS {};",
        schema::key_column_def(&PgSchema, field),
        quote(&schema::legacy_unique_index_name(decl, field))
    ))
    .await
    .map_err(backend)?;
    let rows = tx
        .query(
            &format!(
                "SELECT sourced_id, {} FROM {table} WHERE {0} IS NOT NULL",
                column(field)
            ),
            &[],
        )
        .await
        .map_err(backend)?;
    let (ids, keys): (Vec<String>, Vec<String>) = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), oneroster::unique_key(r.get::<_, &str>(1))))
        .unzip();
    tx.execute(
        &format!(
            "UPDATE {table} SET {key} = v.k FROM unnest($1::text[], $2::text[]) AS v(id, k) \
             WHERE {table}.sourced_id = v.id"
        ),
        &[&ids, &keys],
    )
    .await
    .map_err(backend)?;
    let aggregate = "string_agg(sourced_id, ', ' ORDER BY sourced_id)";
    let duplicates: Vec<(String, String)> = tx
        .query(&schema::duplicate_keys(decl, field, aggregate), &[])
        .await
        .map_err(backend)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(schema::duplicates_error(decl, field, &duplicates))
    }
}

async fn columns(tx: &Transaction<'_>, table: &str) -> Result<HashSet<String>, StoreError> {
    let rows = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
            &[&table],
        )
        .await
        .map_err(backend)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
