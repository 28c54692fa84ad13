//! Tables and indexes derived from the resource declarations.
//!
//! Each resource is one table: `sourced_id`, the canonical JSON `doc`, and a
//! generated column per scalar declared field (so the database keeps them in
//! step with the document and indexes them), plus a `__terms` side table for
//! multi-valued fields. Every statement is idempotent, and a field added to a
//! declaration later becomes an added column and index on the next start.

use oneroster::{FieldDecl, ResourceDecl};

use crate::sql::{column, quote};
use crate::terms;

/// The DDL spellings that differ between backends.
pub trait SchemaDialect {
    /// Type of the `doc` column.
    fn doc_type(&self) -> &'static str;
    /// A text column computed from the document at a dotted path.
    fn generated_column(&self, column: &str, path: &str) -> String;
    /// Type of the key and terms columns: text that compares in code-point
    /// order (PostgreSQL needs `COLLATE "C"` whatever the database locale).
    fn key_type(&self) -> &'static str {
        "TEXT"
    }
    /// A sort index's leading column. The compiler sorts `f ASC NULLS FIRST`
    /// or the exact reverse; PostgreSQL's default index order (NULLS LAST)
    /// matches neither, so it spells `NULLS FIRST` here.
    fn sort_key(&self, column: &str) -> String {
        column.to_owned()
    }
}

/// `CREATE TABLE` for a resource and its terms table.
pub fn create_tables(d: &dyn SchemaDialect, decl: &ResourceDecl) -> Vec<String> {
    let key = d.key_type();
    let mut cols = vec![
        format!("sourced_id {key} NOT NULL PRIMARY KEY"),
        format!("doc {} NOT NULL", d.doc_type()),
    ];
    cols.extend(scalar_fields(decl).map(|f| column_def(d, f)));
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote(decl.collection),
            cols.join(", ")
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {} (sourced_id {key} NOT NULL, field {key} NOT NULL, value {key} NOT NULL)",
            quote(&terms::table(decl))
        ),
    ]
}

/// The definition of a field's generated column, for `CREATE` or `ALTER … ADD COLUMN`.
pub fn column_def(d: &dyn SchemaDialect, field: &FieldDecl) -> String {
    d.generated_column(&column(field), field.name)
}

/// Every index a resource needs.
pub fn create_indexes(d: &dyn SchemaDialect, decl: &ResourceDecl) -> Vec<String> {
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
    for field in scalar_fields(decl).filter(|f| f.indexed) {
        let col = column(field);
        out.push(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {table} ({}, sourced_id)",
            quote(&index_name(decl, field)),
            d.sort_key(&col)
        ));
        if field.unique {
            out.push(format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {table} (lower({col}))",
                quote(&unique_index_name(decl, field))
            ));
        }
    }
    out
}

/// Scalar declared fields other than the primary key: the generated columns.
pub fn scalar_fields(decl: &ResourceDecl) -> impl Iterator<Item = &'static FieldDecl> + '_ {
    decl.fields.iter().filter(|f| !f.many && f.name != "sourcedId")
}

pub fn index_name(decl: &ResourceDecl, field: &FieldDecl) -> String {
    format!("{}__{}", decl.collection, field.column())
}

/// Named so a violation can be traced back to the field (see [`conflict_field`]).
pub fn unique_index_name(decl: &ResourceDecl, field: &FieldDecl) -> String {
    format!("{}__uniq__{}", decl.collection, field.column())
}

/// Which unique field a backend's constraint-violation message is about.
pub fn conflict_field(decl: &ResourceDecl, message: &str) -> Option<&'static FieldDecl> {
    decl.fields
        .iter()
        .find(|f| f.unique && message.contains(&unique_index_name(decl, f)))
}

/// Tables that are not resources: settings and OAuth clients.
pub const FIXED_TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS settings (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS oauth_clients (client_id TEXT NOT NULL PRIMARY KEY, name TEXT NOT NULL, \
     secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE)",
];
