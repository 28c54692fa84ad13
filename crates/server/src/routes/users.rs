//! The user relations: getUserWithDemographics and getClassesForUser.

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneroster::model::class::CLASSES;
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::user::USERS;
use oneroster::query::ListQuery;
use rollcall_service::scope::Operation;
use rollcall_store::RawPage;
use serde_json::{Value, json};

use super::collection::respond_page;
use super::{API_PREFIX, IdParam, render_all};
use crate::error::ApiError;
use crate::extract::{Authenticated, QueryPairs};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{API_PREFIX}/users/{{sourcedId}}/demographics"),
            get(user_with_demographics),
        )
        .route(
            &format!("{API_PREFIX}/users/{{sourcedId}}/classes"),
            get(classes_for_user),
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

async fn classes_for_user(
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
    pairs: QueryPairs,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    auth.require(Operation::ReadRelation, &CLASSES)?;
    let query = ListQuery::from_request(&CLASSES, pairs.iter(), &state.rollcall.cursor_key)?;
    let page = state.rollcall.engine.classes_for_user(&id, query.clone()).await?;
    let page = RawPage::from_parsed(page).map_err(|e| ApiError::Internal(e.to_string()))?;
    respond_page(&state, &headers, uri.path(), &CLASSES, &pairs, &query, page).await
}
