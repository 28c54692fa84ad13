//! The `Idempotency-Key` header on POST, PUT, PATCH and DELETE (see
//! `rollcall_service::idempotency`): the first request with a key runs and
//! its response is kept; a retry with the same key and the same request gets
//! that response again (`Idempotent-Replayed: true`), without running; the
//! same key with another request is 422; while the first still runs, 409.
//! Responses worth retrying (5xx, 429) are not kept: the key is freed. A
//! request without a valid token passes through to be refused as usual.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header, request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rollcall_service::idempotency::{Claim, StoredResponse};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::extract::bearer;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// Largest response kept for replays: a bulk write's report of every
/// record may be as large as the bulk body it answers.
const MAX_KEPT_BYTES: usize = crate::routes::bulk::BODY_LIMIT;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let writes = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    match request.headers().get(HEADER) {
        Some(key) if writes => {
            let key = key.clone();
            keyed(state, key, request, next)
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        _ => next.run(request).await,
    }
}

async fn keyed(state: AppState, key: HeaderValue, request: Request, next: Next) -> Result<Response, ApiError> {
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ApiError::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters"))?
        .to_owned();
    let client = match bearer(request.headers()) {
        Ok(token) => state.rollcall.auth.verify(token).await.ok(),
        Err(_) => None,
    };
    let Some(claims) = client else {
        return Ok(next.run(request).await);
    };
    let client = format!("{}|{}", claims.iss, claims.sub);
    let (parts, body) = request.into_parts();
    // A bulk write's body may be larger than other requests' (see `routes::bulk`).
    let limit = if parts
        .uri
        .path()
        .ends_with(&format!("/{}", crate::routes::bulk::SEGMENT))
    {
        state.config.body_limit.max(crate::routes::bulk::BODY_LIMIT)
    } else {
        state.config.body_limit
    };
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::Status {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: "request body too large".into(),
    })?;
    let idempotency = &state.rollcall.idempotency;
    match idempotency.claim(&client, &key, &fingerprint(&parts, &body)).await? {
        Claim::Run => {}
        Claim::Replay(stored) => return Ok(replay(stored)),
        Claim::InProgress => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still running; retry it in a moment".into(),
            ));
        }
        Claim::Mismatch => {
            return Err(ApiError::Unprocessable(
                "this Idempotency-Key was used for a different request in the last 24 hours; \
                 send a new key with a new request"
                    .into(),
            ));
        }
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    // An answer too large to keep (or of unknown size) goes out as it is and
    // frees the key: a retry runs again rather than replaying nothing.
    if body.size_hint().upper().is_none_or(|n| n > MAX_KEPT_BYTES as u64) {
        if let Err(e) = idempotency.release(&client, &key).await {
            tracing::warn!(error = %e, "could not free an Idempotency-Key");
        }
        return Ok(Response::from_parts(parts, body));
    }
    let body = axum::body::to_bytes(body, MAX_KEPT_BYTES)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let kept = match keepable(parts.status) {
        true => idempotency.finish(&client, &key, &stored(&parts, &body)).await,
        false => idempotency.release(&client, &key).await,
    };
    if let Err(e) = kept {
        tracing::warn!(error = %e, "could not record an Idempotency-Key's outcome");
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// The request a key stands for: method, path and query, and body.
fn fingerprint(parts: &request::Parts, body: &Bytes) -> String {
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update([0]);
    hash.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    hash.update([0]);
    hash.update(body);
    format!("{:x}", hash.finalize())
}

/// Whether a response is final (kept and replayed) rather than worth a
/// retry that runs again.
fn keepable(status: StatusCode) -> bool {
    !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
}

fn stored(parts: &axum::http::response::Parts, body: &Bytes) -> StoredResponse {
    let text = |name| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    StoredResponse {
        status: parts.status.as_u16(),
        content_type: text(header::CONTENT_TYPE),
        location: text(header::LOCATION),
        body: String::from_utf8_lossy(body).into_owned(),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, stored.content_type),
        (header::LOCATION, stored.location),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}
