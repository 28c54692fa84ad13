//! The service layer: every OneRoster operation and the OAuth flows,
//! independent of HTTP. The server adapts requests to these calls; the CLI
//! calls them directly (e.g. to manage clients).
//!
//! # Layout
//! - [`engine`]: the generic resource engine (create, replace, patch, soft
//!   delete, get, list, relations) driven by `ResourceDecl`s.
//! - [`bulk`]: many records of one resource written in one transaction.
//! - [`extensions`]: the declared extension fields, kept in memory.
//! - [`credentials`]: third-party credentials users register, sealed.
//! - [`auth`]: OAuth clients, token issue and verification.
//! - [`known_clients`]: which clients' tokens still hold, kept in memory.
//! - [`idp`]: tokens from an external OAuth server, checked against its JWKS.
//! - `keys`: alternate keys (`/users/{username}`); `references`: writes
//!   refuse references to records that do not exist.
//! - [`rules`]: the write rules every write path shares (stamping, soft delete).
//! - [`scope`]: the OneRoster OAuth scopes.
//! - [`secret`]: argon2 hashing of passwords and client secrets.
//! - [`webhooks`]: subscriptions to the change feed and their delivery worker.

pub mod auth;
pub mod bulk;
pub mod credentials;
mod embedded;
pub mod engine;
pub mod extensions;
pub mod history;
pub mod idempotency;
pub mod idp;
mod keys;
pub mod known_clients;
pub mod precondition;
mod references;
mod relations;
pub mod rules;
pub mod scope;
pub mod secret;
pub mod webhooks;

use std::sync::Arc;

use oneroster::Clock;
use oneroster::cursor::CursorKey;
use rollcall_store::{Store, StoreError};

pub use auth::{Auth, AuthError, Claims, SigningKey};
pub use credentials::Credentials;
pub use engine::Engine;
pub use extensions::Extensions;
pub use idempotency::Idempotency;
pub use webhooks::Webhooks;

/// The service layer's one error type; the server maps each variant to one
/// HTTP status and imsx code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// 404 `unknownobject`.
    #[error("{0}")]
    NotFound(String),
    /// 409: a sourcedId or unique field is already taken.
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed JSON that breaks the model.
    #[error("{0}")]
    Invalid(String),
    /// 422: every problem of a body, each at its JSON path (`user.givenName`).
    #[error("{}", oneroster::problems::describe(.0))]
    Problems(Vec<oneroster::problems::Problem>),
    /// 412: the stored version is not the one the client's `If-Match`
    /// names; `current` is its entity tag.
    #[error("the record was changed by someone else; its current version is {current}")]
    PreconditionFailed { current: String },
    /// 503 `server_busy`: the store is held by another writer; retry.
    #[error("busy: {0}")]
    Busy(String),
    /// 400: a read ran longer than the database allows one query; the
    /// message says so and how to narrow the query.
    #[error("{0}")]
    TimedOut(String),
    /// 410: what was asked for is no longer kept (a change feed cursor
    /// past retention or from before a restore); the message says to resync.
    #[error("{0}")]
    Gone(String),
    /// 500; the message is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("not found".into()),
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Invalid(m) => Self::Invalid(m.0),
            StoreError::Busy(m) => Self::Busy(m),
            StoreError::TimedOut(budget) => Self::TimedOut(format!(
                "the query took longer than the {budget:?} the server allows one query and was stopped; \
                 narrow it: filter on declared fields (sourcedId, status, dateLastModified, …) rather than \
                 metadata.<key>, or with fewer OR conditions"
            )),
            StoreError::Gone(m) => Self::Gone(m),
            StoreError::Backend(m) => Self::Internal(m),
        }
    }
}

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct Rollcall {
    pub engine: Engine,
    pub auth: Auth,
    pub idempotency: Idempotency,
    /// Sealed with the kept key unless replaced by one with configured keys.
    pub credentials: Credentials,
    /// Signs the keyset cursors in `next` links, derived from the signing
    /// key so every instance sharing it accepts the others' cursors.
    pub cursor_key: CursorKey,
    /// Holds `credentials`' keys: [`Rollcall::with_credentials`] replaces both.
    pub webhooks: Webhooks,
}

impl Rollcall {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, signing_key: &SigningKey) -> Self {
        let credentials = Credentials::new(store.clone(), credentials::KeyConfig::default());
        Self {
            engine: Engine::new(store.clone(), clock.clone()),
            idempotency: Idempotency::new(store.clone(), clock.clone()),
            cursor_key: CursorKey::derive(signing_key.as_bytes()),
            webhooks: Webhooks::new(store.clone(), clock.clone(), credentials.clone()),
            credentials,
            auth: Auth::new(store, clock, signing_key),
        }
    }

    /// Seals with `credentials`' keys: registered credentials and webhook secrets.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.webhooks = self.webhooks.with_credentials(credentials.clone());
        self.credentials = credentials;
        self
    }
}
