//! Request extractors whose failures come out in the imsx envelope.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use oneroster::ResourceDecl;
use oneroster::model::demographics::DEMOGRAPHICS;
use rollcall_service::Claims;
use rollcall_service::scope::Operation;
use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;

use crate::error::ApiError;
use crate::state::AppState;

/// A caller holding a valid bearer token, and one of its client's places
/// among requests in flight: handlers keep this value until they have
/// produced their response, which is when the place is given back.
pub struct Authenticated {
    pub claims: Claims,
    _place: Option<OwnedSemaphorePermit>,
}

impl Authenticated {
    /// 403 unless the token permits `op` on `decl`.
    pub fn require(&self, op: Operation, decl: &ResourceDecl) -> Result<(), ApiError> {
        Ok(self.claims.require(op, decl == &DEMOGRAPHICS)?)
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let claims = state.rollcall.auth.verify(bearer(&parts.headers)?).await?;
        state.limiters.check_api(&claims.sub)?;
        let place = state.limiters.enter(&claims.sub)?;
        rollcall_store::WriteContext::set_actor(&claims.sub);
        Ok(Self { claims, _place: place })
    }
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("an Authorization: Bearer token is required".into()))?;
    header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into()))
}

/// The decoded query string as `(name, value)` pairs, in order.
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        Ok(Self(form_urlencoded::parse(raw.as_bytes()).into_owned().collect()))
    }
}

/// A JSON request body: 415 unless declared as JSON, 413 past the size
/// limit, 400 when it does not parse.
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
    }
}

/// A request body declared as JSON, not yet parsed (for bodies parsed
/// their own way, such as a bulk write's): 415 and 413 as [`JsonBody`].
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || m.ends_with("+json"));
        if !is_json {
            return Err(ApiError::Status {
                status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "the request body must be JSON (Content-Type: application/json)".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| ApiError::Status {
            status: e.status(),
            message: e.body_text(),
        })?;
        Ok(Self(bytes))
    }
}

/// Takes the resource object out of its wrapper (`{"user": {…}}`).
/// An update's record: wrapped as `{"<singular>": {…}}`, or bare, as some
/// of TimeBack's update examples send it (its documents disagree).
pub fn unwrap_update_body(body: Value, wrapper: &str) -> Result<Value, ApiError> {
    match body {
        Value::Object(m) if m.contains_key(wrapper) => unwrap_body(Value::Object(m), wrapper),
        bare => Ok(bare),
    }
}

pub fn unwrap_body(body: Value, wrapper: &str) -> Result<Value, ApiError> {
    match body {
        Value::Object(mut m) => m
            .remove(wrapper)
            .ok_or_else(|| ApiError::Unprocessable(format!("the body must be an object with a '{wrapper}' member"))),
        _ => Err(ApiError::Unprocessable(format!(
            "the body must be an object with a '{wrapper}' member"
        ))),
    }
}
