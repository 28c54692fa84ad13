//! Declared extension fields: the declaration and its expression index
//! written in one transaction of the writer's own, so a unique index that
//! existing records violate leaves no declaration behind.

use async_trait::async_trait;
use oneroster::extension::ExtensionField;
use oneroster::resource;
use rollcall_store::StoreError;
use rollcall_store::extension::{self as ext, ExtensionStore};
use rusqlite::ErrorCode;

use crate::{Sqlite, SqliteStore, backend};

#[async_trait]
impl ExtensionStore for SqliteStore {
    async fn extension_fields(&self) -> Result<Vec<ExtensionField>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(ext::LIST).map_err(backend)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(backend)?;
            let texts: Vec<String> = rows.collect::<Result<_, _>>().map_err(backend)?;
            texts.iter().map(|t| ext::from_text(t)).collect()
        })
        .await
    }

    async fn declare_extension_field(&self, field: ExtensionField) -> Result<(), StoreError> {
        let decl = resource::by_collection(&field.resource)
            .ok_or_else(|| StoreError::Backend(format!("no resource {}", field.resource)))?;
        self.write(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let params: &[(&str, &dyn rusqlite::ToSql)] = &[
                ("$1", &field.resource),
                ("$2", &field.name),
                ("$3", &ext::to_text(&field)),
            ];
            tx.execute(ext::INSERT, params).map_err(|e| match is_constraint(&e) {
                true => StoreError::Conflict(format!("{} already declares {}", field.resource, field.path())),
                false => backend(e),
            })?;
            if let Some(index) = ext::create_index(&Sqlite, &crate::migrate::SqliteSchema, decl, &field) {
                tx.execute_batch(&index).map_err(|e| match is_constraint(&e) {
                    true => ext::existing_clash(&field),
                    false => backend(e),
                })?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn remove_extension_field(&self, resource: &str, name: &str) -> Result<bool, StoreError> {
        let (resource, name) = (resource.to_owned(), name.to_owned());
        self.write(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let removed = tx
                .execute(ext::DELETE, &[("$1", &resource), ("$2", &name)])
                .map_err(backend)?;
            tx.execute_batch(&ext::drop_index(&resource, &name)).map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(removed == 1)
        })
        .await
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}
