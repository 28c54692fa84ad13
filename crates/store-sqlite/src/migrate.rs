//! Schema creation and upgrade, derived from the resource declarations.

use std::collections::HashSet;

use oneroster::{FieldDecl, ResourceDecl, resource};
use rollcall_store::schema::{self, SchemaDialect};
use rollcall_store::sql::{column, quote};
use rollcall_store::{StoreError, terms};
use rusqlite::Connection;

use crate::backend;

pub(crate) struct SqliteSchema;

impl SchemaDialect for SqliteSchema {
    fn doc_type(&self) -> &'static str {
        "TEXT"
    }

    /// A plain column the store fills from the parsed document on every
    /// write (`resources::field_values`). Generated columns would have SQLite
    /// re-parse the JSON text once per column per write and once per row for
    /// every index built: measured as the largest share of a bulk load.
    fn field_column(&self, column: &str, _path: &str) -> String {
        format!("{column} TEXT")
    }

    /// Six million terms rows for a million users took 1 GB as a table and
    /// two indexes (each row's key stored three times); clustered, it is
    /// stored once and a bulk load builds no terms index.
    fn clustered_terms(&self) -> bool {
        true
    }
}

/// Clients from before tokens carried a generation start at 0; their
/// tokens, which carry none, are refused and must be fetched again.
const CLIENT_TOKEN_GENERATION: &str =
    "ALTER TABLE oauth_clients ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0";

/// `CREATE INDEX IF NOT EXISTS` for every index a resource needs.
pub fn index_statements(decl: &ResourceDecl) -> Vec<String> {
    schema::create_indexes(&SqliteSchema, decl)
}

/// Brings the schema up to date in one transaction: creates what is missing,
/// rebuilds tables from before field columns were plain and terms tables
/// from before they were clustered, and adds (and fills) columns for fields
/// declared since the file was created.
pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    for statement in schema::FIXED_TABLES {
        tx.execute_batch(statement).map_err(backend)?;
    }
    tx.execute_batch(crate::credentials::TABLE).map_err(backend)?;
    tx.execute_batch(&crate::webhooks::table()).map_err(backend)?;
    tx.execute_batch(crate::changes::TABLES).map_err(backend)?;
    if !columns(&tx, "oauth_clients")?.contains("token_generation") {
        tx.execute_batch(CLIENT_TOKEN_GENERATION).map_err(backend)?;
    }
    for decl in resource::all() {
        let rebuilt = has_generated_columns(&tx, decl.collection)?;
        if rebuilt {
            rebuild(&tx, decl)?;
        }
        let old_terms = heap_terms(&tx, decl)?;
        for statement in schema::create_tables(&SqliteSchema, decl) {
            tx.execute_batch(&statement).map_err(backend)?;
        }
        if let Some(old) = old_terms {
            move_terms(&tx, decl, &old)?;
        }
        let existing = columns(&tx, decl.collection)?;
        for field in schema::scalar_fields(decl) {
            let name = column(field).trim_matches('"').to_owned();
            if !existing.contains(&name) {
                add_column(&tx, decl, field)?;
            }
        }
        for field in schema::unique_fields(decl) {
            let name = schema::key_column(field).trim_matches('"').to_owned();
            if rebuilt || !existing.contains(&name) {
                add_keys(&tx, decl, field, !existing.contains(&name))?;
            }
        }
        for statement in index_statements(decl) {
            tx.execute_batch(&statement).map_err(backend)?;
        }
    }
    tx.commit().map_err(backend)
}

/// Adds a field's column and fills it from the stored documents.
fn add_column(conn: &Connection, decl: &ResourceDecl, field: &FieldDecl) -> Result<(), StoreError> {
    let table = quote(decl.collection);
    let col = column(field);
    conn.execute_batch(&format!(
        "ALTER TABLE {table} ADD COLUMN {}; UPDATE {table} SET {col} = {};",
        schema::column_def(&SqliteSchema, field),
        extract(field)
    ))
    .map_err(backend)
}

/// Gives a unique field its key column (when `add`) and fills it from the
/// field column: files from before the key compared `lower()` of the
/// value, which folds ASCII only, so they may hold values that are
/// duplicates under the key. Then the unique index cannot be built: the
/// start is refused, naming them (the transaction rolls the column back).
fn add_keys(conn: &Connection, decl: &ResourceDecl, field: &FieldDecl, add: bool) -> Result<(), StoreError> {
    let table = quote(decl.collection);
    let key = schema::key_column(field);
    if add {
        conn.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN {}",
            schema::key_column_def(&SqliteSchema, field)
        ))
        .map_err(backend)?;
    }
    conn.execute_batch(&format!(
        "DROP INDEX IF EXISTS {}",
        quote(&schema::legacy_unique_index_name(decl, field))
    ))
    .map_err(backend)?;
    let values: Vec<(String, String)> = conn
        .prepare(&format!(
            "SELECT sourced_id, {} FROM {table} WHERE typeof({0}) = 'text'",
            column(field)
        ))
        .map_err(backend)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    let mut update = conn
        .prepare(&format!("UPDATE {table} SET {key} = ?2 WHERE sourced_id = ?1"))
        .map_err(backend)?;
    for (id, value) in values {
        update.execute((id, oneroster::unique_key(&value))).map_err(backend)?;
    }
    let duplicates: Vec<(String, String)> = conn
        .prepare(&schema::duplicate_keys(decl, field, "group_concat(sourced_id, ', ')"))
        .map_err(backend)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(schema::duplicates_error(decl, field, &duplicates))
    }
}

/// Files created before field columns were plain held them as generated
/// columns, which the store cannot write: copy the records into a new table.
fn rebuild(conn: &Connection, decl: &ResourceDecl) -> Result<(), StoreError> {
    let table = quote(decl.collection);
    let old = quote(&format!("{}__before_rebuild", decl.collection));
    conn.execute_batch(&format!("ALTER TABLE {table} RENAME TO {old}"))
        .map_err(backend)?;
    for statement in schema::create_tables(&SqliteSchema, decl) {
        conn.execute_batch(&statement).map_err(backend)?;
    }
    let fields: Vec<_> = schema::scalar_fields(decl).collect();
    let names: Vec<String> = fields.iter().map(|f| column(f)).collect();
    let values: Vec<String> = fields.iter().map(|f| extract(f)).collect();
    conn.execute_batch(&format!(
        "INSERT INTO {table} (sourced_id, doc, {}) SELECT sourced_id, doc, {} FROM {old}; DROP TABLE {old};",
        names.join(", "),
        values.join(", ")
    ))
    .map_err(backend)
}

/// Files from before the terms table was clustered hold it as a heap with
/// two indexes: renames it out of the way (dropping its indexes) and
/// returns the new name, for [`move_terms`] once the clustered table exists.
fn heap_terms(conn: &Connection, decl: &ResourceDecl) -> Result<Option<String>, StoreError> {
    let table = terms::table(decl);
    let heap: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_list WHERE name = ?1 AND wr = 0)",
            [&table],
            |r| r.get(0),
        )
        .map_err(backend)?;
    if !heap {
        return Ok(None);
    }
    let old = format!("{table}__before_rebuild");
    let [by_value, by_record] = schema::terms_index_names(decl);
    conn.execute_batch(&format!(
        "DROP INDEX IF EXISTS {}; DROP INDEX IF EXISTS {}; ALTER TABLE {} RENAME TO {};",
        quote(&by_value),
        quote(&by_record),
        quote(&table),
        quote(&old)
    ))
    .map_err(backend)?;
    Ok(Some(old))
}

/// Copies the rows of a renamed heap terms table into the clustered one, in
/// key order, and drops the heap.
fn move_terms(conn: &Connection, decl: &ResourceDecl, old: &str) -> Result<(), StoreError> {
    let old = quote(old);
    conn.execute_batch(&format!(
        "INSERT OR IGNORE INTO {} (field, value, sourced_id) \
         SELECT field, value, sourced_id FROM {old} ORDER BY field, value, sourced_id; DROP TABLE {old};",
        quote(&terms::table(decl))
    ))
    .map_err(backend)
}

/// The SQL reading a field's value from the document, as the store writes it.
fn extract(field: &FieldDecl) -> String {
    format!("json_extract(doc, '$.{}')", field.name)
}

/// Whether a table exists with generated columns (`hidden` 2 or 3).
fn has_generated_columns(conn: &Connection, table: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_xinfo(?1) WHERE hidden IN (2, 3))",
        [table],
        |r| r.get(0),
    )
    .map_err(backend)
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
