//! TimeBack's credential operations: registerStudentCredentials and
//! decryptCredential. The password is sealed by the service layer and
//! given back in clear only by decryptCredential, under its own scope.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use oneroster::model::user::USERS;
use rollcall_service::credentials::Registration;
use rollcall_service::scope::{self, Operation};
use serde_json::{Map, Value, json};

use super::API_PREFIX;
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::state::AppState;

/// The scope decryptCredential requires, and no other scope implies.
fn decrypt_scope() -> &'static str {
    scope::permitting(Operation::DecryptCredential, false)[0]
}

/// The path parameter is named as on every other `users/{…}` route: the
/// router refuses two names at one position.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(&format!("{API_PREFIX}/users/{{sourcedId}}/credentials"), post(register))
        .route(
            &format!("{API_PREFIX}/users/{{sourcedId}}/credentials/{{credentialId}}/decrypt"),
            post(decrypt),
        )
}

/// 201 for a new credential, 200 when it replaced the user's credential
/// for the same application.
#[tracing::instrument(skip_all, err)]
async fn register(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(user_id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, &USERS)?;
    let registration = Registration::from_json(&body)?;
    let registered = state.rollcall.credentials.register(&user_id, registration).await?;
    let (status, message) = if registered.created {
        (StatusCode::CREATED, "Student credentials created successfully")
    } else {
        (StatusCode::OK, "Student credentials updated successfully")
    };
    let body = json!({
        "userProfileId": registered.user_profile_id,
        "credentialId": registered.credential_id,
        "message": message,
    });
    Ok((status, axum::Json(body)).into_response())
}

#[tracing::instrument(skip_all, err)]
async fn decrypt(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((user_id, credential_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.claims.require(Operation::DecryptCredential, false)?;
    let password = state.rollcall.credentials.decrypt(&user_id, &credential_id).await?;
    Ok(axum::Json(json!({ "password": password.expose() })).into_response())
}

/// The two operations as TimeBack documents them, with the scopes each needs.
pub fn openapi_paths(paths: &mut Map<String, Value>, errors: fn(Value) -> Value) {
    let user = json!({ "name": "userId", "in": "path", "required": true,
        "description": "The sourcedId of the user", "schema": { "type": "string" } });
    let answer = json!({ "type": "object", "required": ["userProfileId", "credentialId", "message"],
        "properties": { "userProfileId": {"type": "string"}, "credentialId": {"type": "string"},
            "message": {"type": "string"} } });
    let write = scope::uri("roster.createput");
    paths.insert(
        format!("{API_PREFIX}/users/{{userId}}/credentials"),
        json!({ "post": {
            "operationId": "registerStudentCredentials", "tags": ["Users Management"],
            "summary": "Register student credentials for third-party applications",
            "description": "Stores the user's credentials for an application, the password encrypted \
                (XChaCha20-Poly1305 under the server's credentials key); one credential per user and \
                applicationName: registering again replaces its username and password (200) and keeps \
                its ids. The password is never returned by any read nor exported; only \
                decryptCredential gives it back. Requires roster.createput (or admin).",
            "security": [{ "OAuth2CC": [write] }, { "OAuth2CC": [scope::uri("admin")] }],
            "parameters": [user],
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "required": ["applicationName", "credentials"], "properties": {
                    "applicationName": { "type": "string", "minLength": 1 },
                    "credentials": { "type": "object", "required": ["username", "password"], "properties": {
                        "username": {"type": "string"}, "password": {"type": "string"} } } } } } } },
            "responses": errors(json!({
                "200": { "description": "Student credentials updated successfully",
                    "content": { "application/json": { "schema": answer } } },
                "201": { "description": "Student credentials created successfully",
                    "content": { "application/json": { "schema": answer } } } })),
        } }),
    );
    paths.insert(
        format!("{API_PREFIX}/users/{{userId}}/credentials/{{credentialId}}/decrypt"),
        json!({ "post": {
            "operationId": "decryptCredential", "tags": ["Users Management"],
            "summary": "Decrypt a user credential",
            "description": format!("Decrypt and return the password for a specific user credential. \
                Requires the {} scope, which no other scope (not even admin) implies: \
                grant it only to the clients that sign students in to the third-party application. \
                A credential of another user is 404, as an unknown one.", decrypt_scope()),
            "security": [{ "OAuth2CC": [scope::uri(decrypt_scope())] }],
            "parameters": [user, { "name": "credentialId", "in": "path", "required": true,
                "description": "The sourcedId of the credential to decrypt", "schema": { "type": "string" } }],
            "responses": errors(json!({ "200": { "description": "Successfully decrypted credential",
                "content": { "application/json": { "schema": { "type": "object", "required": ["password"],
                    "properties": { "password": {"type": "string"} } } } } } })),
        } }),
    );
}
