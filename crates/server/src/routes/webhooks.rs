//! `/admin/webhooks`: subscriptions to the change feed (see
//! `rollcall_service::webhooks`). Admin scope only: a subscriber receives
//! every matching record. A subscription's secret is in the answer to its
//! creation and to each rotation, and nowhere else.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use oneroster::model::user::USERS;
use rollcall_service::scope::Operation;
use rollcall_service::webhooks::{NewWebhook, to_json};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::state::AppState;

pub const PREFIX: &str = "/admin/webhooks";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PREFIX, post(create).get(list))
        .route(&format!("{PREFIX}/{{id}}"), get(show).delete(remove))
        .route(&format!("{PREFIX}/{{id}}/resume"), post(resume))
        .route(&format!("{PREFIX}/{{id}}/pause"), post(pause))
        .route(&format!("{PREFIX}/{{id}}/secret"), post(rotate_secret))
}

fn admin(auth: &Authenticated) -> Result<(), ApiError> {
    auth.require(Operation::Admin, &USERS)
}

#[tracing::instrument(skip_all, err)]
async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    admin(&auth)?;
    let new = NewWebhook::from_json(&body).map_err(ApiError::bad_request)?;
    let created = state.rollcall.webhooks.create(new).await?;
    let mut webhook = to_json(&created.webhook);
    webhook["secret"] = created.secret.into();
    Ok((StatusCode::CREATED, axum::Json(json!({ "webhook": webhook }))).into_response())
}

#[tracing::instrument(skip_all, err)]
async fn list(State(state): State<AppState>, auth: Authenticated) -> Result<Response, ApiError> {
    admin(&auth)?;
    let all: Vec<Value> = state.rollcall.webhooks.list().await?.iter().map(to_json).collect();
    Ok(axum::Json(json!({ "webhooks": all })).into_response())
}

#[tracing::instrument(skip_all, err)]
async fn show(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admin(&auth)?;
    let webhook = state.rollcall.webhooks.get(&id).await?;
    Ok(axum::Json(json!({ "webhook": to_json(&webhook) })).into_response())
}

#[tracing::instrument(skip_all, err)]
async fn remove(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin(&auth)?;
    state.rollcall.webhooks.remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[tracing::instrument(skip_all, err)]
async fn resume(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admin(&auth)?;
    let webhook = state.rollcall.webhooks.resume(&id).await?;
    Ok(axum::Json(json!({ "webhook": to_json(&webhook) })).into_response())
}

#[tracing::instrument(skip_all, err)]
async fn pause(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admin(&auth)?;
    let webhook = state.rollcall.webhooks.pause(&id).await?;
    Ok(axum::Json(json!({ "webhook": to_json(&webhook) })).into_response())
}

#[tracing::instrument(skip_all, err)]
async fn rotate_secret(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admin(&auth)?;
    let secret = state.rollcall.webhooks.rotate_secret(&id).await?;
    Ok(axum::Json(json!({ "secret": secret })).into_response())
}

/// The subscription as every answer shows it.
fn webhook_schema(with_secret: bool) -> Value {
    let text = json!({"type": "string"});
    let nullable_text = json!({"type": ["string", "null"]});
    let nullable_time = json!({"type": ["string", "null"], "format": "date-time"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let mut schema = json!({ "type": "object",
        "required": ["id", "url", "resources", "operations", "filter", "createdAt", "status", "deliveredUpTo",
            "attempts", "nextAttemptAt", "lastError", "lastDeliveryAt"],
        "properties": {
            "id": text, "url": text, "resources": strings, "operations": strings, "filter": nullable_text,
            "createdAt": {"type": "string", "format": "date-time"},
            "status": {"enum": ["active", "retrying", "failed", "paused"]},
            "deliveredUpTo": nullable_text, "attempts": {"type": "integer"},
            "nextAttemptAt": nullable_time, "lastError": nullable_text, "lastDeliveryAt": nullable_time } });
    if with_secret {
        schema["required"]
            .as_array_mut()
            .expect("an array")
            .push("secret".into());
        schema["properties"]["secret"] = text;
    }
    schema
}

fn answer(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn one(with_secret: bool) -> Value {
    json!({ "type": "object", "required": ["webhook"], "properties": { "webhook": webhook_schema(with_secret) } })
}

/// The paths, each operation passed through `admin` (which adds the scope)
/// with its error answers added by `errors`.
pub fn openapi_paths(
    paths: &mut Map<String, Value>,
    errors: &dyn Fn(Value, bool) -> Value,
    admin: &dyn Fn(Value, &str) -> Value,
) {
    let id = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let tags = json!(["webhooks"]);
    let collection = json!({
        "post": { "operationId": "createWebhook", "tags": tags,
            "description": "Subscribes a URL to the change feed: each change of the given resource types \
                (collection names; none: all) and operations (create, update, delete; none: all) whose record \
                meets the filter (OneRoster filter syntax, on exactly one resource type) is POSTed to it, \
                signed with the secret in this answer, which is shown only here. Delivery starts with the \
                changes committed after the subscription.",
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "required": ["url"], "additionalProperties": false, "properties": {
                    "url": {"type": "string", "format": "uri"}, "resources": {"type": "array", "items": {"type": "string"}},
                    "operations": {"type": "array", "items": {"enum": ["create", "update", "delete"]}},
                    "filter": {"type": ["string", "null"]} } } } } },
            "responses": errors(json!({ "201": answer("The subscription, with its secret", one(true)) }), false) },
        "get": { "operationId": "listWebhooks", "tags": tags,
            "description": "Every subscription and where its deliveries stand.",
            "responses": errors(json!({ "200": answer("The subscriptions", json!({ "type": "object",
                "required": ["webhooks"], "properties": { "webhooks": { "type": "array",
                    "items": webhook_schema(false) } } })) }), true) },
    });
    let item = json!({
        "get": { "operationId": "getWebhook", "tags": tags, "parameters": id,
            "description": "One subscription and where its deliveries stand.",
            "responses": errors(json!({ "200": answer("The subscription", one(false)) }), true) },
        "delete": { "operationId": "deleteWebhook", "tags": tags, "parameters": id,
            "description": "Removes the subscription; nothing more is delivered to it.",
            "responses": errors(json!({ "204": { "description": "Removed" } }), true) },
    });
    let action = |operation: &str, description: &str, ok: Value| {
        json!({ "post": { "operationId": operation, "tags": tags, "parameters": id, "description": description,
            "responses": errors(json!({ "200": ok }), true) } })
    };
    let resume = action(
        "resumeWebhook",
        "Delivers again (a failed or paused subscription) from where it stopped, at once, with a fresh count \
         of attempts.",
        answer("The subscription", one(false)),
    );
    let pause = action(
        "pauseWebhook",
        "Stops deliveries until resumed; changes meanwhile wait.",
        answer("The subscription", one(false)),
    );
    let secret = action(
        "rotateWebhookSecret",
        "Replaces the signing secret; deliveries from now on are signed with the new one, shown only here.",
        answer(
            "The new secret",
            json!({ "type": "object", "required": ["secret"],
            "properties": { "secret": {"type": "string"} } }),
        ),
    );
    for (path, item, methods) in [
        (PREFIX.to_owned(), collection, &["post", "get"][..]),
        (format!("{PREFIX}/{{id}}"), item, &["get", "delete"][..]),
        (format!("{PREFIX}/{{id}}/resume"), resume, &["post"][..]),
        (format!("{PREFIX}/{{id}}/pause"), pause, &["post"][..]),
        (format!("{PREFIX}/{{id}}/secret"), secret, &["post"][..]),
    ] {
        let item = methods.iter().fold(item, |item, method| admin(item, method));
        paths.insert(path, item);
    }
}
