//! Storage of the declared extension fields (see `oneroster::extension`):
//! the declarations in the `extension_fields` table, and for an indexed or
//! unique field an expression index on exactly what [`crate::sql`] compiles
//! its filters and sorts to ([`Dialect::json_at`]), created in the same
//! transaction that records the declaration and dropped with it.

use async_trait::async_trait;
use oneroster::extension::{ExtensionField, field_decl};
use oneroster::{FieldDecl, ResourceDecl};

use crate::StoreError;
use crate::schema::SchemaDialect;
use crate::sql::{Dialect, quote};

/// Lists every declaration (JSON text), oldest first.
pub const LIST: &str = "SELECT declaration FROM extension_fields ORDER BY resource, name";
/// Records a declaration: (resource, name, declaration).
pub const INSERT: &str = "INSERT INTO extension_fields (resource, name, declaration) VALUES ($1, $2, $3)";
/// Forgets a declaration: (resource, name).
pub const DELETE: &str = "DELETE FROM extension_fields WHERE resource = $1 AND name = $2";

#[async_trait]
pub trait ExtensionStore: Send + Sync {
    /// Every declared extension field.
    async fn extension_fields(&self) -> Result<Vec<ExtensionField>, StoreError>;

    /// Records a (checked) declaration and builds its index, atomically:
    /// `Conflict` when the resource already declares the name, or when
    /// stored records already share a value of a field declared unique.
    async fn declare_extension_field(&self, field: ExtensionField) -> Result<(), StoreError>;

    /// Forgets a declaration and drops its index; false when there was none.
    /// Values already stored stay in the records, as free-form `metadata`.
    async fn remove_extension_field(&self, resource: &str, name: &str) -> Result<bool, StoreError>;
}

/// The declaration as stored.
pub fn to_text(field: &ExtensionField) -> String {
    serde_json::to_string(field).expect("a declaration serialises")
}

/// A stored declaration.
pub fn from_text(text: &str) -> Result<ExtensionField, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("a stored extension field is unreadable: {e}")))
}

/// The name of a field's expression index.
pub fn index_name(collection: &str, name: &str) -> String {
    format!("{collection}__ext__{name}")
}

/// The field's `CREATE [UNIQUE] INDEX`, if it is indexed or unique, in the
/// order sorts use (`schema`'s [`sort_key`](SchemaDialect::sort_key)).
pub fn create_index(
    dialect: &dyn Dialect,
    schema: &dyn SchemaDialect,
    decl: &ResourceDecl,
    field: &ExtensionField,
) -> Option<String> {
    let queried: &FieldDecl = field_decl(field);
    queried.indexed.then(|| {
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if field.unique { "UNIQUE " } else { "" },
            quote(&index_name(decl.collection, &field.name)),
            quote(decl.collection),
            schema.sort_key(&dialect.json_at(queried.name))
        )
    })
}

/// `DROP INDEX` for a field's index (nothing happens when it has none).
pub fn drop_index(collection: &str, name: &str) -> String {
    format!("DROP INDEX IF EXISTS {}", quote(&index_name(collection, name)))
}

/// The conflict a unique violation on an extension field's index reports,
/// if the backend's message (SQLite) or constraint name (PostgreSQL) names one.
pub fn conflict(decl: &ResourceDecl, message: &str) -> Option<StoreError> {
    let prefix = index_name(decl.collection, "");
    let at = message.find(&prefix)? + prefix.len();
    let name: String = message[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    Some(StoreError::Conflict(format!(
        "another {} already has this {}{name}",
        decl.singular,
        oneroster::extension::PREFIX
    )))
}

/// What declaring a unique field over clashing records answers.
pub fn existing_clash(field: &ExtensionField) -> StoreError {
    StoreError::Conflict(format!(
        "cannot declare {} unique: stored {} already share a value of it",
        field.path(),
        field.resource
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::extension::ExtensionType;
    use oneroster::model::user::USERS;
    use oneroster::query::ListQuery;

    use crate::sql::SqlValue;

    #[test]
    fn conflicts_name_the_field_from_the_index() {
        let e = conflict(&USERS, "UNIQUE constraint failed: index 'users__ext__house'").unwrap();
        assert_eq!(e.to_string(), "another user already has this metadata.ext.house");
        assert!(conflict(&USERS, "users__unique__f_email").is_none());
    }

    struct D;
    struct S;

    impl SchemaDialect for S {
        fn doc_type(&self) -> &'static str {
            "TEXT"
        }
        fn field_column(&self, column: &str, _: &str) -> String {
            column.into()
        }
    }

    #[test]
    fn filters_and_sorts_use_the_indexed_expression_with_typed_values() {
        let locker = field("lockerCode", ExtensionType::Integer);
        let declared = [field_decl(&locker)];
        let pairs = [
            (
                "filter",
                "metadata.ext.lockerCode>'9' AND metadata.ext.lockerCode@'1,2'",
            ),
            ("sort", "metadata.ext.lockerCode"),
        ];
        let query = ListQuery::from_request_with(&USERS, &declared, pairs, &oneroster::cursor::CursorKey::derive(b"k"))
            .unwrap();
        let (page, count) = crate::sql::list(&D, &USERS, &query);
        let at = "at('metadata.ext.lockerCode')";
        assert!(
            count.sql.contains(&format!("({at} > $1) AND ({at} IN $2)")),
            "{}",
            count.sql
        );
        assert_eq!(
            count.params,
            [SqlValue::Text("9".into()), SqlValue::Text("[1,2]".into())]
        );
        assert!(
            page.sql.contains(&format!("ORDER BY {at} ASC NULLS FIRST")),
            "{}",
            page.sql
        );
        let index = create_index(
            &D,
            &S,
            &USERS,
            &ExtensionField {
                indexed: true,
                ..locker
            },
        )
        .unwrap();
        assert!(index.ends_with(&format!("({at})")), "{index}");
        let typo = ListQuery::from_request_with(
            &USERS,
            &declared,
            [("filter", "metadata.ext.lockerCode='nine'")],
            &oneroster::cursor::CursorKey::derive(b"k"),
        );
        assert!(typo.unwrap_err().message.contains("metadata.ext.lockerCode"));
    }

    fn field(name: &str, kind: ExtensionType) -> ExtensionField {
        ExtensionField {
            resource: "users".into(),
            name: name.into(),
            kind,
            values: vec![],
            unique: false,
            indexed: false,
            required: false,
        }
    }

    #[test]
    fn only_indexed_fields_get_an_index() {
        let mut field = field("lockerCode", ExtensionType::String);
        assert_eq!(create_index(&D, &S, &USERS, &field), None);
        field.unique = true;
        assert_eq!(
            create_index(&D, &S, &USERS, &field).unwrap(),
            "CREATE UNIQUE INDEX \"users__ext__lockerCode\" ON \"users\" (at('metadata.ext.lockerCode'))"
        );
    }

    impl Dialect for D {
        fn placeholder(&self, n: usize) -> String {
            format!("${n}")
        }
        fn contains_ci(&self, c: &str, n: &str) -> String {
            format!("{c} ~ {n}")
        }
        fn json_path(&self, dotted: &str) -> String {
            dotted.into()
        }
        fn json_text(&self, path: &str) -> String {
            path.into()
        }
        fn json_at(&self, dotted: &str) -> String {
            format!("at('{dotted}')")
        }
        fn json_value(&self, p: &str) -> String {
            p.into()
        }
        fn json_any_of(&self, e: &str, l: &str) -> String {
            format!("{e} IN {l}")
        }
        fn any_of(&self, c: &str, l: &str) -> String {
            format!("{c} IN {l}")
        }
    }
}
