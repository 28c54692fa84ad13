//! The storage layer's one error type.

use std::time::Duration;

use oneroster::resource::ModelError;

/// How long one read may run in the database unless configured otherwise:
/// long enough for any indexed query on a large district, short enough
/// that a query scanning every document cannot hold a connection for
/// longer than the server's request timeout.
pub const DEFAULT_QUERY_BUDGET: Duration = Duration::from_secs(10);

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
    /// The database stopped a read that ran past its time budget (the
    /// value), so that one expensive query cannot hold a connection that
    /// other requests are waiting for. The same query will time out again.
    #[error("the query ran longer than its budget of {0:?}")]
    TimedOut(Duration),
    /// What was asked for is no longer kept (a change feed position older
    /// than the log's retention, or from before a restore): the client must
    /// start over (410 at the edge). The message says how.
    #[error("{0}")]
    Gone(String),
    /// The database failed; the message is for logs, never for clients.
    #[error("storage backend error: {0}")]
    Backend(String),
}
