//! Schema creation and upgrade, derived from the resource declarations.
//!
//! Everything runs in one transaction holding a transaction-scoped advisory
//! lock, so instances starting together take turns: the first creates the
//! schema, the others then find it in place. Without the lock two concurrent
//! `CREATE TABLE IF NOT EXISTS` can both see no table, and the second fails on
//! a catalog unique violation.

use std::collections::HashSet;

use deadpool_postgres::{Object, Transaction};
use oneroster::{ResourceDecl, resource};
use rollcall_store::schema::{self, SchemaDialect};
use rollcall_store::sql::{column, quote};
use rollcall_store::{StoreError, terms};

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
    fn generated_column(&self, column: &str, path: &str) -> String {
        let path = path.replace('.', ",");
        format!("{column} {TEXT} GENERATED ALWAYS AS (doc #>> '{{{path}}}') STORED")
    }
}

/// Brings the schema up to date: creates what is missing and adds columns
/// (with their indexes) for fields declared since the database was created.
pub async fn run(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(backend)?;
    for statement in schema::FIXED_TABLES {
        tx.batch_execute(statement).await.map_err(backend)?;
    }
    for decl in resource::all() {
        for statement in create_tables(decl) {
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
        for statement in create_indexes(decl) {
            tx.batch_execute(&statement).await.map_err(backend)?;
        }
    }
    tx.commit().await.map_err(backend)
}

/// `schema::create_tables` with every key column `COLLATE "C"` (see [`TEXT`]),
/// which that shared DDL has no way to say. Names are the same.
fn create_tables(decl: &ResourceDecl) -> [String; 2] {
    let mut cols = vec![
        format!("sourced_id {TEXT} NOT NULL PRIMARY KEY"),
        format!("doc {} NOT NULL", PgSchema.doc_type()),
    ];
    cols.extend(schema::scalar_fields(decl).map(|f| schema::column_def(&PgSchema, f)));
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote(decl.collection),
            cols.join(", ")
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (sourced_id {TEXT} NOT NULL, field {TEXT} NOT NULL, value {TEXT} NOT NULL)",
            quote(&terms::table(decl))
        ),
    ]
}

/// `schema::create_indexes` with `NULLS FIRST` on the sort indexes. The
/// compiler sorts `f ASC NULLS FIRST, sourced_id ASC` or the exact reverse
/// (SQLite's natural order); PostgreSQL's default index order, NULLS LAST,
/// matches neither direction, so every sorted list would sort all matches.
fn create_indexes(decl: &ResourceDecl) -> Vec<String> {
    let table = quote(decl.collection);
    let terms = quote(&terms::table(decl));
    let mut out = vec![
        format!(
            "CREATE INDEX IF NOT EXISTS {} ON {terms} (field, value, sourced_id)",
            quote(&format!("{}__terms__fv", decl.collection))
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS {} ON {terms} (sourced_id)",
            quote(&format!("{}__terms__id", decl.collection))
        ),
    ];
    for field in schema::scalar_fields(decl).filter(|f| f.indexed) {
        let col = column(field);
        out.push(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {table} ({col} NULLS FIRST, sourced_id)",
            quote(&schema::index_name(decl, field))
        ));
        if field.unique {
            out.push(format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {table} (lower({col}))",
                quote(&schema::unique_index_name(decl, field))
            ));
        }
    }
    out
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
