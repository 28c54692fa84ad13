//! Storage for Rollcall: the traits every backend implements, their error
//! type, and the parts of SQL generation that do not depend on the dialect.
//!
//! # Layout
//! - [`traits`]: `ResourceStore`, `ClientStore`, `SettingsStore`, and `Store`
//!   (all of them and `CredentialStore`), which the service layer holds as
//!   `Arc<dyn Store>`.
//! - [`credentials`]: `CredentialStore`, third-party credentials kept
//!   sealed in a table of their own.
//! - [`error`]: `StoreError`; unique-constraint violations become `Conflict` here.
//! - [`sql`]: compiles a validated `ListQuery` into SQL for a [`sql::Dialect`].
//! - [`schema`]: tables, field columns and indexes derived from the
//!   resource declarations, so adding a resource needs no hand-written DDL.
//! - [`terms`]: the multi-valued field values (`roles.role`) kept in a side
//!   table per resource so "any element matches" filters use an index.

pub mod credentials;
pub mod error;
pub mod extension;
pub mod schema;
pub mod sql;
pub mod terms;
pub mod traits;

pub use credentials::{CredentialRecord, CredentialStore};
pub use error::StoreError;
pub use extension::ExtensionStore;
pub use traits::{
    Batches, ClientRecord, ClientStore, IdempotencyStore, KeyClaim, KeyTimes, Page, RawPage, ResourceStore,
    SettingsStore, Store, Update, Write, Writes, parse_record,
};
