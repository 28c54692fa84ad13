//! The service layer: every OneRoster operation and the OAuth flows,
//! independent of HTTP. The server adapts requests to these calls; the CLI
//! calls them directly (e.g. to manage clients).
//!
//! # Layout
//! - [`engine`]: the generic resource engine (create, replace, patch, soft
//!   delete, get, list, relations) driven by `ResourceDecl`s.
//! - [`extensions`]: the declared extension fields, kept in memory.
//! - [`credentials`]: third-party credentials users register, sealed.
//! - [`auth`]: OAuth clients, token issue and verification.
//! - [`known_clients`]: which clients' tokens still hold, kept in memory.
//! - [`idp`]: tokens from an external OAuth server, checked against its JWKS.
//! - [`rules`]: the write rules every write path shares (stamping, soft delete).
//! - [`scope`]: the OneRoster OAuth scopes.
//! - [`secret`]: argon2 hashing of passwords and client secrets.

pub mod auth;
pub mod credentials;
mod embedded;
pub mod engine;
pub mod extensions;
pub mod idempotency;
pub mod idp;
pub mod known_clients;
pub mod precondition;
mod relations;
pub mod rules;
pub mod scope;
pub mod secret;

use std::sync::Arc;

use oneroster::Clock;
use oneroster::cursor::CursorKey;
use rollcall_store::{Store, StoreError};

pub use auth::{Auth, AuthError, Claims, SigningKey};
pub use credentials::Credentials;
pub use engine::Engine;
pub use extensions::Extensions;
pub use idempotency::Idempotency;

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
}

impl Rollcall {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, signing_key: &SigningKey) -> Self {
        Self {
            engine: Engine::new(store.clone(), clock.clone()),
            idempotency: Idempotency::new(store.clone(), clock.clone()),
            cursor_key: CursorKey::derive(signing_key.as_bytes()),
            credentials: Credentials::new(store.clone(), credentials::KeyConfig::default()),
            auth: Auth::new(store, clock, signing_key),
        }
    }
}
