//! Schema creation and upgrade, derived from the resource declarations.
//!
//! Everything runs in one transaction holding a transaction-scoped advisory
//! lock, so instances starting together take turns: the first creates the
//! schema, the others then find it in place. Without the lock two concurrent
//! `CREATE TABLE IF NOT EXISTS` can both see no table, and the second fails on
//! a catalog unique violation.

use std::collections::HashSet;

use deadpool_postgres::{Object, Transaction};
use oneroster::resource;
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

struct PgSchema;

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
        for statement in schema::create_indexes(&PgSchema, decl) {
            tx.batch_execute(&statement).await.map_err(backend)?;
        }
    }
    tx.commit().await.map_err(backend)
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
