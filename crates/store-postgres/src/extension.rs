//! Declared extension fields: the declaration and its expression index
//! written in one transaction (PostgreSQL's DDL is transactional), so a
//! unique index that existing records violate leaves no declaration behind.

use async_trait::async_trait;
use oneroster::extension::ExtensionField;
use oneroster::resource;
use rollcall_store::StoreError;
use rollcall_store::extension::{self as ext, ExtensionStore};
use tokio_postgres::error::SqlState;

use crate::resources::UNBUDGETED;
use crate::{PgStore, Postgres, backend};

#[async_trait]
impl ExtensionStore for PgStore {
    async fn extension_fields(&self) -> Result<Vec<ExtensionField>, StoreError> {
        let client = self.conn().await?;
        let stmt = client.prepare_cached(ext::LIST).await.map_err(backend)?;
        let rows = client.query(&stmt, &[]).await.map_err(backend)?;
        rows.iter()
            .map(|r| ext::from_text(r.try_get(0).map_err(backend)?))
            .collect()
    }

    async fn declare_extension_field(&self, field: ExtensionField) -> Result<(), StoreError> {
        let decl = resource::by_collection(&field.resource)
            .ok_or_else(|| StoreError::Backend(format!("no resource {}", field.resource)))?;
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // Building the index reads the whole table; the budget is for reads.
        tx.batch_execute(UNBUDGETED).await.map_err(backend)?;
        tx.execute(ext::INSERT, &[&field.resource, &field.name, &ext::to_text(&field)])
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => StoreError::Conflict(format!("{} already declares {}", field.resource, field.path())),
                false => backend(e),
            })?;
        if let Some(index) = ext::create_index(&Postgres, &crate::migrate::PgSchema, decl, &field) {
            tx.batch_execute(&index)
                .await
                .map_err(|e| match is_unique_violation(&e) {
                    true => ext::existing_clash(&field),
                    false => backend(e),
                })?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn remove_extension_field(&self, resource: &str, name: &str) -> Result<bool, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let removed = tx.execute(ext::DELETE, &[&resource, &name]).await.map_err(backend)?;
        tx.batch_execute(&ext::drop_index(resource, name))
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(removed == 1)
    }
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
