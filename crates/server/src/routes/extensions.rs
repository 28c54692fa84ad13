//! `/admin/extensions`: an administrator's typed extension fields (scope
//! `admin`): `GET /admin/extensions[/{resource}]` lists them,
//! `POST /admin/extensions/{resource}` declares one (`{"name", "type",
//! "values", "unique", "indexed", "required"}`), `DELETE
//! /admin/extensions/{resource}/{name}` removes one. Values live in records
//! at `metadata.ext.<name>` (see `oneroster::extension`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use oneroster::extension::ExtensionField;
use oneroster::model::user::USERS;
use oneroster::resource;
use rollcall_service::scope::Operation;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::state::AppState;

pub const PREFIX: &str = "/admin/extensions";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(list_all))
        .route(&format!("{PREFIX}/{{resource}}"), get(list_one).post(declare))
        .route(&format!("{PREFIX}/{{resource}}/{{name}}"), delete(remove))
}

async fn list_all(State(state): State<AppState>, auth: Authenticated) -> Result<Response, ApiError> {
    auth.require(Operation::Admin, &USERS)?;
    let set = state.rollcall.engine.extensions().reload().await?;
    Ok(listing(set.all().iter()))
}

async fn list_one(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(collection): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(Operation::Admin, &USERS)?;
    known(&collection)?;
    let set = state.rollcall.engine.extensions().reload().await?;
    Ok(listing(set.of(&collection)))
}

async fn declare(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(collection): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Admin, &USERS)?;
    known(&collection)?;
    let Value::Object(mut object) = body else {
        return Err(ApiError::Unprocessable(
            "the body must be an extension field object".into(),
        ));
    };
    match object.insert("resource".into(), Value::String(collection.clone())) {
        Some(Value::String(named)) if named != collection => {
            return Err(ApiError::Unprocessable(format!(
                "resource: the body names '{named}' but the path '{collection}'"
            )));
        }
        _ => {}
    }
    let field: ExtensionField = serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::Unprocessable(format!("not an extension field declaration: {e}")))?;
    let field = state.rollcall.engine.extensions().declare(field).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "extensionField": field }))).into_response())
}

async fn remove(
    State(state): State<AppState>,
    auth: Authenticated,
    Path((collection, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(Operation::Admin, &USERS)?;
    known(&collection)?;
    state.rollcall.engine.extensions().remove(&collection, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn known(collection: &str) -> Result<(), ApiError> {
    match resource::by_collection(collection) {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(format!("'{collection}' is not a resource"))),
    }
}

fn listing<'a>(fields: impl Iterator<Item = &'a ExtensionField>) -> Response {
    axum::Json(json!({ "extensionFields": fields.collect::<Vec<_>>() })).into_response()
}
