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

/// The document, with the extension fields declared when it is asked for.
pub async fn openapi(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut doc = crate::openapi::document();
    let set = state.rollcall.engine.extensions().current().await?;
    crate::openapi::extensions::declared(&mut doc, &set);
    Ok(Json(doc))
}
