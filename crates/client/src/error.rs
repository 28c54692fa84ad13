//! Typed failures. Every error answer from a OneRoster server carries an
//! `imsx_StatusInfo` body; each status the TimeBack SDK distinguishes
//! (400/401/403/404/422/429/5xx, plus 409 for taken ids and emails) gets its
//! own variant holding that body, so callers can `match` on the kind and
//! still show the server's description.

use std::time::Duration;

use oneroster::wire::StatusInfo;
use reqwest::{Response, StatusCode};

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: a malformed body or a bad query parameter (filter, sort, fields, limit).
    #[error("400 bad request: {}", .0.description)]
    BadRequest(StatusInfo),
    /// 401: bad client credentials, or a token the server refused even after a refresh.
    #[error("401 unauthorized: {}", .0.description)]
    Unauthorized(StatusInfo),
    /// 403: the client's scopes do not permit the operation.
    #[error("403 forbidden: {}", .0.description)]
    Forbidden(StatusInfo),
    /// 404: no such record (or endpoint).
    #[error("404 not found: {}", .0.description)]
    NotFound(StatusInfo),
    /// 409: the sourcedId or a unique field (e.g. a user's email) is taken.
    #[error("409 conflict: {}", .0.description)]
    Conflict(StatusInfo),
    /// 422: well-formed JSON that breaks the model.
    #[error("422 unprocessable: {}", .0.description)]
    Unprocessable(StatusInfo),
    /// 429 after the retry budget was spent, or with a `Retry-After` longer
    /// than the policy is willing to wait (`retry_after` says how long).
    #[error("429 too many requests: {}", info.description)]
    TooManyRequests {
        info: StatusInfo,
        retry_after: Option<Duration>,
    },
    /// Any 5xx (500 internal error, 503 busy or timed out after retries, …).
    #[error("{status} server error: {}", info.description)]
    Server { status: u16, info: StatusInfo },
    /// Any other client error (405, 413 body too large, 415, …).
    #[error("{status}: {}", info.description)]
    Status { status: u16, info: StatusInfo },
    /// The request never got an answer (connection refused, timeout, …).
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// Something this SDK cannot read or send: an error answer without an
    /// imsx body, a body that does not match the model, a truncated stream,
    /// a server URL that is not http(s), a record that does not serialise.
    #[error("protocol: {0}")]
    Protocol(String),
}

impl Error {
    /// The HTTP status behind this error, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::BadRequest(_) => Some(400),
            Self::Unauthorized(_) => Some(401),
            Self::Forbidden(_) => Some(403),
            Self::NotFound(_) => Some(404),
            Self::Conflict(_) => Some(409),
            Self::Unprocessable(_) => Some(422),
            Self::TooManyRequests { .. } => Some(429),
            Self::Server { status, .. } | Self::Status { status, .. } => Some(*status),
            Self::Http(e) => e.status().map(|s| s.as_u16()),
            Self::Protocol(_) => None,
        }
    }

    /// The server's imsx body, when there is one.
    pub fn info(&self) -> Option<&StatusInfo> {
        match self {
            Self::BadRequest(i)
            | Self::Unauthorized(i)
            | Self::Forbidden(i)
            | Self::NotFound(i)
            | Self::Conflict(i)
            | Self::Unprocessable(i)
            | Self::TooManyRequests { info: i, .. }
            | Self::Server { info: i, .. }
            | Self::Status { info: i, .. } => Some(i),
            Self::Http(_) | Self::Protocol(_) => None,
        }
    }

    /// Reads a non-success response into its variant.
    pub(crate) async fn from_response(response: Response) -> Self {
        let status = response.status();
        let retry_after = crate::retry::retry_after(response.headers());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return Self::Http(e),
        };
        match serde_json::from_slice::<StatusInfo>(&bytes) {
            Ok(info) => Self::from_status(status, info, retry_after),
            Err(_) => {
                let text = String::from_utf8_lossy(&bytes);
                let snippet: String = text.chars().take(200).collect();
                Self::Protocol(format!("HTTP {status} without an imsx_StatusInfo body: {snippet}"))
            }
        }
    }

    fn from_status(status: StatusCode, info: StatusInfo, retry_after: Option<Duration>) -> Self {
        match status.as_u16() {
            400 => Self::BadRequest(info),
            401 => Self::Unauthorized(info),
            403 => Self::Forbidden(info),
            404 => Self::NotFound(info),
            409 => Self::Conflict(info),
            422 => Self::Unprocessable(info),
            429 => Self::TooManyRequests { info, retry_after },
            s if status.is_server_error() => Self::Server { status: s, info },
            s => Self::Status { status: s, info },
        }
    }

    pub(crate) fn decode(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Protocol(format!("decoding {what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::wire::CodeMinor;

    #[test]
    fn statuses_map_to_their_variants() {
        let info = || StatusInfo::failure(CodeMinor::InvalidData, "x");
        let of = |s: u16| Error::from_status(StatusCode::from_u16(s).unwrap(), info(), None);
        assert!(matches!(of(400), Error::BadRequest(_)));
        assert!(matches!(of(409), Error::Conflict(_)));
        assert!(matches!(of(413), Error::Status { status: 413, .. }));
        assert!(matches!(of(503), Error::Server { status: 503, .. }));
        for s in [400, 401, 403, 404, 409, 422, 429, 413, 500, 503] {
            assert_eq!(of(s).status(), Some(s));
            assert_eq!(of(s).info().unwrap().description, "x");
        }
    }
}
