//! The storage layer's one error type.

use oneroster::resource::ModelError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed record does not exist.
    #[error("not found")]
    NotFound,
    /// A unique key (sourcedId, email) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// An update's change function rejected the stored record (HTTP 422).
    #[error(transparent)]
    Invalid(#[from] ModelError),
    /// Another writer holds the database (on SQLite, e.g. a bulk import
    /// from another process) past the wait allowed; retrying later works.
    #[error("database busy: {0}")]
    Busy(String),
    /// The database failed; the message is for logs, never for clients.
    #[error("storage backend error: {0}")]
    Backend(String),
}
