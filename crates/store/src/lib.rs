//! Storage for Rollcall: the traits every backend implements, their error
//! type, and the parts of SQL generation that do not depend on the dialect.
//!
//! # Layout
//! - [`traits`]: `ResourceStore`, `ClientStore`, `SettingsStore`, and `Store`
//!   (all three), which the service layer holds as `Arc<dyn Store>`.
//! - [`error`]: `StoreError`; unique-constraint violations become `Conflict` here.
//! - [`sql`]: compiles a validated `ListQuery` into SQL for a [`sql::Dialect`].
//! - [`schema`]: tables, field columns and indexes derived from the
//!   resource declarations, so adding a resource needs no hand-written DDL.
//! - [`terms`]: the multi-valued field values (`roles.role`) kept in a side
//!   table per resource so "any element matches" filters use an index.

pub mod error;
pub mod schema;
pub mod sql;
pub mod terms;
pub mod traits;

pub use error::StoreError;
pub use traits::{
    Batches, ClientRecord, ClientStore, IdempotencyStore, KeyClaim, KeyTimes, Page, RawPage, ResourceStore,
    SettingsStore, Store, Update, Write, Writes, parse_record,
};
