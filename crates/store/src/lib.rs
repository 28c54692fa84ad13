//! Storage for Rollcall: the traits every backend implements, their error
//! type, and the parts of SQL generation that do not depend on the dialect.
//!
//! # Layout
//! - [`traits`]: `ResourceStore`, `ClientStore`, `SettingsStore`, and `Store`
//!   (all of them and `CredentialStore`), which the service layer holds as
//!   `Arc<dyn Store>`.
//! - [`credentials`]: `CredentialStore`, third-party credentials kept
//!   sealed in a table of their own.
//! - [`memo`]: list totals and deep-offset positions a backend remembers
//!   between writes, each valid in the epoch the backend computed it in.
//! - [`webhooks`]: `WebhookStore`, webhook subscriptions and their delivery
//!   state, leased so one instance delivers each.
//! - [`error`]: `StoreError`; unique-constraint violations become `Conflict` here.
//! - [`sql`]: compiles a validated `ListQuery` into SQL for a [`sql::Dialect`].
//! - [`schema`]: tables, field columns and indexes derived from the
//!   resource declarations, so adding a resource needs no hand-written DDL.
//! - [`changes`]: the change log every write appends to (feed, audit,
//!   `asOf`), who is writing ([`WriteContext`]); [`diff`]: what a write changed.
//! - [`stats`]: what a backend reports to `/metrics` (queue waits, pool
//!   fill, commit grouping), recorded in atomics.
//! - [`terms`]: the multi-valued field values (`roles.role`) kept in a side
//!   table per resource so "any element matches" filters use an index.

pub mod changes;
pub mod credentials;
pub mod diff;
pub mod error;
pub mod extension;
pub mod memo;
pub mod schema;
pub mod sql;
pub mod stats;
pub mod terms;
pub mod traits;
pub mod webhooks;

pub use changes::{
    Change, ChangeOperation, ChangePage, ChangePosition, ChangeStore, FieldChange, History, Origin, WriteContext,
};
pub use credentials::{CredentialRecord, CredentialStore};
pub use error::StoreError;
pub use extension::ExtensionStore;
pub use traits::{
    Batches, ClientRecord, ClientStore, IdempotencyStore, KeyClaim, KeyTimes, Page, RawPage, ResourceStore,
    SettingsStore, Store, Update, Write, Writes, parse_record,
};
pub use webhooks::{WebhookRecord, WebhookState, WebhookStatus, WebhookStore};
