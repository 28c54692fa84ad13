//! getUserWithDemographics (the user relations that list records are
//! declared in `oneroster::relation`).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::user::USERS;
use rollcall_service::scope::Operation;
use serde_json::{Value, json};

use super::{API_PREFIX, IdParam, render_all};
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        &format!("{API_PREFIX}/users/{{sourcedId}}/demographics"),
        get(user_with_demographics),
    )
}

/// `{"user": {…, "demographics": {…} | null}}`.
async fn user_with_demographics(
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The user is roster data; the embedded record is demographics.
    auth.require(Operation::Read, &USERS)?;
    auth.require(Operation::Read, &DEMOGRAPHICS)?;
    let (user, demographics) = state.rollcall.engine.user_with_demographics(&id).await?;
    let mut user = render_all(&state, &headers, &USERS, vec![user], None).await?.remove(0);
    let demographics = match demographics {
        Some(d) => render_all(&state, &headers, &DEMOGRAPHICS, vec![d], None)
            .await?
            .remove(0),
        None => Value::Null,
    };
    user["demographics"] = demographics;
    Ok(axum::Json(json!({ "user": user })).into_response())
}
