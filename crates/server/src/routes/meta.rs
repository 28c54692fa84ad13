//! Health, the OpenAPI document and the browsable reference.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// 200 once the server accepts requests and its database answers.
pub async fn healthz(State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    state
        .rollcall
        .engine
        .store()
        .ping()
        .await
        .map_err(|e| ApiError::Status {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("database unavailable: {e}"),
        })?;
    Ok((StatusCode::OK, Json(json!({"status": "ok"}))))
}

/// 200 while this instance wants traffic: its database answers (opening the
/// store migrated it, before the server listened) and it is not shutting
/// down; 503 with the reason otherwise. For load balancers; `/healthz` is
/// the liveness check.
pub async fn readyz(State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let not_ready = |reason: String| ApiError::Status {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: format!("not ready: {reason}"),
    };
    if state.readiness.is_draining() {
        return Err(not_ready("shutting down".into()));
    }
    let store = state.rollcall.engine.store();
    store
        .ping()
        .await
        .map_err(|e| not_ready(format!("database unavailable: {e}")))?;
    Ok((StatusCode::OK, Json(json!({"status": "ready"}))))
}

/// The document, with the extension fields declared when it is asked for.
pub async fn openapi(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut doc = crate::openapi::document();
    let set = state.rollcall.engine.extensions().current().await?;
    crate::openapi::extensions::declared(&mut doc, &set);
    Ok(Json(doc))
}
