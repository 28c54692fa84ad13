//! TimeBack's user reads and updates answer with the user's demographics
//! record embedded (seed 000), `null` when there is none, for clients
//! allowed to read demographics. The strict profile and field selections
//! answer with the user alone, as 1.2 defines it.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::user::USERS;
use rollcall_service::scope::Operation;
use rollcall_service::{ServiceError, rules};
use serde_json::{Value, json};

use super::collection::{single, with_etag};
use super::render_all;
use crate::error::ApiError;
use crate::extract::Authenticated;
use crate::render::Profile;
use crate::state::AppState;

/// `{"user": {…, "demographics": {…} | null}}`, or the user alone where
/// nothing is embedded.
pub async fn single_user(
    state: &AppState,
    headers: &HeaderMap,
    auth: &Authenticated,
    doc: Value,
    fields: Option<&[String]>,
) -> Result<Response, ApiError> {
    let embeds = state.config.profile != Profile::OneRoster
        && fields.is_none()
        && auth.require(Operation::Read, &DEMOGRAPHICS).is_ok();
    let id = doc.get("sourcedId").and_then(Value::as_str).map(str::to_owned);
    let (true, Some(id)) = (embeds, id) else {
        return single(state, headers, &USERS, doc, fields).await;
    };
    let demographics = match state.rollcall.engine.get(&DEMOGRAPHICS, &id).await {
        Ok(d) => render_all(state, headers, &DEMOGRAPHICS, vec![d], None)
            .await?
            .remove(0),
        Err(ServiceError::NotFound(_)) => Value::Null,
        Err(e) => return Err(e.into()),
    };
    let etag = rules::etag(&doc);
    let mut user = render_all(state, headers, &USERS, vec![doc], None).await?.remove(0);
    user["demographics"] = demographics;
    Ok(with_etag(axum::Json(json!({ "user": user })).into_response(), etag))
}
