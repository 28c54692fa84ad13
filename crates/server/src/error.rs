//! The one place errors become HTTP responses: every failure, from a bad
//! filter to a panic, leaves as an `imsx_StatusInfo` body with its status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oneroster::problems::Problem;
use oneroster::query::{QueryError, QueryErrorKind};
use oneroster::wire::{CodeMinor, StatusInfo};
use rollcall_service::{AuthError, ServiceError};

use crate::metrics::Rejection;

/// An API failure. Each variant documents its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed JSON, a bad query parameter or filter.
    #[error("{message}")]
    BadRequest { code: CodeMinor, message: String },
    /// 401 `unauthorisedrequest`, with `WWW-Authenticate: Bearer`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `unknownobject`.
    #[error("{0}")]
    NotFound(String),
    /// 409: the sourcedId or a unique field is taken.
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed JSON that breaks the model.
    #[error("{0}")]
    Unprocessable(String),
    /// 410 `unknownobject`: no longer kept (a change feed cursor past
    /// retention); the message tells the client to resync.
    #[error("{0}")]
    Gone(String),
    /// 412: `If-Match` names another version (or `If-None-Match: *` met an
    /// existing record); `current` (the stored version's tag) goes in `ETag`.
    #[error("{message}")]
    PreconditionFailed { message: String, current: Option<String> },
    /// 429 `server_busy`, with `Retry-After`.
    #[error("too many requests")]
    TooManyRequests { retry_after: std::time::Duration },
    /// 503 `server_busy`, with `Retry-After`: the database is held by
    /// another writer (a bulk import on the same SQLite file).
    #[error("database busy")]
    Unavailable { retry_after: std::time::Duration },
    /// Any other status produced below the handlers (405, 408, 413, 415…).
    #[error("{message}")]
    Status { status: StatusCode, message: String },
    /// A failure with itemised details, sent as TimeBack's
    /// `imsx_error_details` (e.g. every problem found in a CSV package).
    #[error("{message}")]
    Detailed {
        status: StatusCode,
        message: String,
        details: Vec<serde_json::Map<String, serde_json::Value>>,
    },
    /// 422: every problem of a body at once: listed in the description, and
    /// one `imsx_codeMinorField` per problem after `TargetEndSystem`, named
    /// by its JSON path (`user.roles[0].role`), which both the 1.2 and the
    /// TimeBack schemas allow. `details` (a bulk write's per-item report)
    /// goes in TimeBack's `imsx_error_details` when there is any.
    #[error("{message}")]
    Problems {
        message: String,
        paths: Vec<String>,
        details: Vec<serde_json::Map<String, serde_json::Value>>,
    },
    /// 500. The cause is logged here and never sent to the client.
    #[error("internal error")]
    Internal(String),
    /// A token-endpoint failure: the imsx body plus RFC 6749's `error` field,
    /// so both OneRoster and generic OAuth clients understand it.
    #[error("{message}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        message: String,
    },
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: CodeMinor::InvalidData,
            message: message.into(),
        }
    }

    /// 422 for `problems` (see [`ApiError::Problems`]).
    pub fn problems(problems: &[Problem], details: Vec<serde_json::Map<String, serde_json::Value>>) -> Self {
        let shown: Vec<String> = problems.iter().take(MAX_DESCRIBED).map(Problem::to_string).collect();
        let more = problems.len().saturating_sub(MAX_DESCRIBED);
        let message = match (problems.len(), more) {
            (1, _) => shown.join(""),
            (n, 0) => format!("{n} problems: {}", shown.join("; ")),
            (n, more) => format!("{n} problems: {}; and {more} more", shown.join("; ")),
        };
        Self::Problems {
            message,
            paths: problems.iter().map(|p| p.path.clone()).collect(),
            details,
        }
    }

    fn parts(&self) -> (StatusCode, CodeMinor, String) {
        use StatusCode as S;
        match self {
            Self::BadRequest { code, message } => (S::BAD_REQUEST, *code, message.clone()),
            Self::Unauthorized(m) => (S::UNAUTHORIZED, CodeMinor::UnauthorisedRequest, m.clone()),
            Self::Forbidden(m) => (S::FORBIDDEN, CodeMinor::Forbidden, m.clone()),
            Self::NotFound(m) => (S::NOT_FOUND, CodeMinor::UnknownObject, m.clone()),
            Self::Conflict(m) => (S::CONFLICT, CodeMinor::InvalidData, m.clone()),
            Self::Unprocessable(m) => (S::UNPROCESSABLE_ENTITY, CodeMinor::InvalidData, m.clone()),
            Self::Gone(m) => (S::GONE, CodeMinor::UnknownObject, m.clone()),
            Self::PreconditionFailed { message, .. } => {
                (S::PRECONDITION_FAILED, CodeMinor::InvalidData, message.clone())
            }
            Self::Status { status, message } => (*status, code_for_status(*status), message.clone()),
            Self::TooManyRequests { retry_after } => (
                S::TOO_MANY_REQUESTS,
                CodeMinor::ServerBusy,
                format!("too many requests; retry after {} s", retry_after.as_secs()),
            ),
            Self::Unavailable { retry_after } => (
                S::SERVICE_UNAVAILABLE,
                CodeMinor::ServerBusy,
                format!(
                    "the database is busy with another writer; retry after {} s",
                    retry_after.as_secs()
                ),
            ),
            Self::Detailed { status, message, .. } => (*status, code_for_status(*status), message.clone()),
            Self::Problems { message, .. } => (S::UNPROCESSABLE_ENTITY, CodeMinor::InvalidData, message.clone()),
            Self::Internal(_) => (
                S::INTERNAL_SERVER_ERROR,
                CodeMinor::InternalServerError,
                "internal server error".into(),
            ),
            Self::OAuth { status, message, .. } => (*status, code_for_status(*status), message.clone()),
        }
    }
}

impl ApiError {
    /// The status and `imsx_StatusInfo` body this error is answered with
    /// (without its headers): also what a finished import job reports.
    pub fn status_and_body(&self) -> (StatusCode, axum::Json<serde_json::Value>) {
        let (status, code, description) = self.parts();
        let mut body = serde_json::to_value(StatusInfo::failure(code, description)).expect("imsx body serialises");
        if let Self::Detailed { details, .. } = self {
            body["imsx_error_details"] = details.clone().into();
        }
        if let Self::Problems { paths, details, .. } = self {
            let fields = &mut body["imsx_CodeMinor"]["imsx_codeMinorField"];
            if let Some(fields) = fields.as_array_mut() {
                fields.extend(paths.iter().map(
                    |path| serde_json::json!({ "imsx_codeMinorFieldName": path, "imsx_codeMinorFieldValue": code }),
                ));
            }
            if !details.is_empty() {
                body["imsx_error_details"] = details.clone().into();
            }
        }
        if let Self::OAuth { error, message, .. } = self {
            body["error"] = (*error).into();
            body["error_description"] = message.clone().into();
        }
        (status, axum::Json(body))
    }
}

/// The problems the description spells out; the codeMinor fields (and a
/// bulk write's details) name every one.
const MAX_DESCRIBED: usize = 20;

fn code_for_status(status: StatusCode) -> CodeMinor {
    match status {
        StatusCode::UNAUTHORIZED => CodeMinor::UnauthorisedRequest,
        StatusCode::FORBIDDEN => CodeMinor::Forbidden,
        StatusCode::NOT_FOUND => CodeMinor::UnknownObject,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => CodeMinor::ServerBusy,
        s if s.is_server_error() => CodeMinor::InternalServerError,
        _ => CodeMinor::InvalidData,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = self.status_and_body().into_response();
        let challenge = match &self {
            Self::Unauthorized(_) => Some("Bearer realm=\"rollcall\", error=\"invalid_token\""),
            Self::OAuth {
                status: StatusCode::UNAUTHORIZED,
                ..
            } => Some("Basic realm=\"rollcall\""),
            _ => None,
        };
        if let Self::TooManyRequests { retry_after } | Self::Unavailable { retry_after } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
            let rejection = match self {
                Self::TooManyRequests { .. } => Rejection::RateLimited,
                _ => Rejection::Busy,
            };
            response.extensions_mut().insert(rejection);
        }
        if let Self::PreconditionFailed { current: Some(tag), .. } = &self
            && let Ok(tag) = HeaderValue::from_str(tag)
        {
            response.headers_mut().insert(header::ETAG, tag);
        }
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// How long a client should wait when the database is busy: SQLite's own
/// wait for the lock (5 s) has already passed.
const BUSY_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(5);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => Self::NotFound(m),
            ServiceError::Conflict(m) => Self::Conflict(m),
            ServiceError::Invalid(m) => Self::Unprocessable(m),
            ServiceError::Problems(problems) => Self::problems(&problems, Vec::new()),
            ServiceError::PreconditionFailed { current } => Self::PreconditionFailed {
                message: format!(
                    "the record was changed by someone else; its current version is {current}: read it again, \
                     then retry with If-Match set to its ETag"
                ),
                current: Some(current),
            },
            ServiceError::Busy(cause) => {
                tracing::warn!(%cause, "database busy");
                Self::Unavailable {
                    retry_after: BUSY_RETRY_AFTER,
                }
            }
            ServiceError::TimedOut(m) => Self::bad_request(m),
            ServiceError::Gone(m) => Self::Gone(m),
            ServiceError::Internal(m) => Self::Internal(m),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let code = match e.kind {
            QueryErrorKind::InvalidFilterField => CodeMinor::InvalidFilterField,
            QueryErrorKind::InvalidSelectionField => CodeMinor::InvalidSelectionField,
            QueryErrorKind::InvalidData => CodeMinor::InvalidData,
        };
        Self::BadRequest {
            code,
            message: e.message,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidClient => Self::OAuth {
                status: StatusCode::UNAUTHORIZED,
                error: "invalid_client",
                message: e.to_string(),
            },
            AuthError::InvalidScope(m) => Self::OAuth {
                status: StatusCode::BAD_REQUEST,
                error: "invalid_scope",
                message: m,
            },
            AuthError::InvalidToken(m) => Self::Unauthorized(m),
            AuthError::Forbidden(m) => Self::Forbidden(m),
            AuthError::Overloaded => Self::TooManyRequests {
                retry_after: std::time::Duration::from_secs(1),
            },
            AuthError::Service(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_database_is_503_server_busy_with_retry_after() {
        let response = ApiError::from(ServiceError::Busy("database is locked".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let minor = &body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"];
        assert_eq!(minor, "server_busy");
        assert!(
            !body.to_string().contains("locked"),
            "the cause stays in the logs: {body}"
        );
    }

    /// A read stopped at the database's budget is the client's to narrow:
    /// 400, saying so (a 503 would have the SDK repeat the same query).
    #[tokio::test]
    async fn a_query_past_its_budget_is_400_saying_how_to_narrow_it() {
        let store = rollcall_store::StoreError::TimedOut(std::time::Duration::from_secs(10));
        let response = ApiError::from(ServiceError::from(store)).into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let minor = &body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"];
        assert_eq!(minor, "invaliddata");
        let description = body["imsx_description"].as_str().unwrap();
        assert!(description.contains("longer than the 10s"), "{description}");
        assert!(description.contains("narrow it"), "{description}");
    }
}
