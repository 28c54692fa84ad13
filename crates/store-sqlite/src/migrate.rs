//! Schema creation and upgrade, derived from the resource declarations.

use std::collections::HashSet;

use oneroster::resource;
use rollcall_store::StoreError;
use rollcall_store::schema::{self, SchemaDialect};
use rollcall_store::sql::{column, quote};
use rusqlite::Connection;

use crate::backend;

struct SqliteSchema;

impl SchemaDialect for SqliteSchema {
    fn doc_type(&self) -> &'static str {
        "TEXT"
    }

    fn generated_column(&self, column: &str, path: &str) -> String {
        format!("{column} TEXT GENERATED ALWAYS AS (json_extract(doc, '$.{path}')) VIRTUAL")
    }
}

/// Brings the schema up to date in one transaction: creates what is missing
/// and adds columns for fields declared since the file was created.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    for statement in schema::FIXED_TABLES {
        tx.execute_batch(statement).map_err(backend)?;
    }
    for decl in resource::all() {
        for statement in schema::create_tables(&SqliteSchema, decl) {
            tx.execute_batch(&statement).map_err(backend)?;
        }
        let existing = columns(&tx, decl.collection)?;
        for field in schema::scalar_fields(decl) {
            let name = column(field).trim_matches('"').to_owned();
            if !existing.contains(&name) {
                let def = schema::column_def(&SqliteSchema, field);
                tx.execute_batch(&format!("ALTER TABLE {} ADD COLUMN {def}", quote(decl.collection)))
                    .map_err(backend)?;
            }
        }
        for statement in schema::create_indexes(&SqliteSchema, decl) {
            tx.execute_batch(&statement).map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
}

fn columns(conn: &Connection, table: &str) -> Result<HashSet<String>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_xinfo({})",
            quote(table).replace('"', "'")
        ))
        .map_err(backend)?;
    let names = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    Ok(names)
}
