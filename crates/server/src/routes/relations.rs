//! Routes for every declared relation and roster write
//! (`oneroster::relation`): one generic handler for the reads, one per
//! kind of write, the paths and parameters as the declarations give them.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use oneroster::model::enrollment::ENROLLMENTS;
use oneroster::model::user::USERS;
use oneroster::query::{ListQuery, MAX_LIMIT};
use oneroster::relation::{PathValues, RELATIONS, RelationDecl, WRITES, WriteDecl, WriteKind};
use rollcall_service::scope::Operation;
use serde_json::{Value, json};

use super::API_PREFIX;
use super::collection::{respond_page_as, single};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, QueryPairs, unwrap_body};
use crate::render::Profile;
use crate::state::AppState;

/// A relation's or write's path parameters, by name.
struct Params(Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        let Path(pairs) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        Ok(Self(pairs))
    }
}

pub fn routes() -> Router<AppState> {
    let mut by_path: BTreeMap<String, MethodRouter<AppState>> = BTreeMap::new();
    for relation in RELATIONS {
        let route = get(move |s, a, p, q, h, u| list(relation, s, a, p, q, h, u));
        add(&mut by_path, relation.path, route);
    }
    for write in WRITES {
        let route = match write.kind {
            WriteKind::Enroll(role) => post(move |s, a, p, h, b| enroll(write, role, s, a, p, h, b)),
            WriteKind::AddAgent => post(add_agent),
            WriteKind::RemoveAgent => delete(remove_agent),
        };
        add(&mut by_path, write.path, route);
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, route)| router.route(&path, route))
}

/// Joins the methods served at one path (a relation's GET, a write's POST).
fn add(by_path: &mut BTreeMap<String, MethodRouter<AppState>>, path: &str, route: MethodRouter<AppState>) {
    let path = format!("{API_PREFIX}{path}");
    let joined = match by_path.remove(&path) {
        Some(existing) => existing.merge(route),
        None => route,
    };
    by_path.insert(path, joined);
}

async fn list(
    relation: &'static RelationDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    Params(params): Params,
    pairs: QueryPairs,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    auth.require(Operation::ReadRelation, relation.target)?;
    // Without the collection parameters the answer is the whole relation.
    let pairs = if relation.paged {
        pairs
    } else {
        QueryPairs(vec![("limit".into(), MAX_LIMIT.to_string())])
    };
    let declared = state.rollcall.engine.extensions().current().await?;
    let declared = declared.field_decls(relation.target.collection);
    let key = &state.rollcall.cursor_key;
    let query = ListQuery::from_request_with(relation.target, &declared, pairs.iter(), key)?;
    let page = state
        .rollcall
        .engine
        .list_relation(relation, &PathValues(&params), query.clone())
        .await?;
    let wrapper = relation.wrapper_for(state.config.profile != Profile::OneRoster);
    let target = (relation.target, wrapper);
    respond_page_as(&state, &headers, uri.path(), target, &pairs, &query, page).await
}

async fn enroll(
    write: &'static WriteDecl,
    role: &'static str,
    State(state): State<AppState>,
    auth: Authenticated,
    Params(params): Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, &ENROLLMENTS)?;
    let engine = &super::collection::writer(&state, &auth, &headers)?;
    let class = engine
        .parents(write.parents, &PathValues(&params))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("an enrollment write without its class".into()))?;
    let mut enrollment = unwrap_body(body, "enrollment")?;
    super::extended::fold(&state, &ENROLLMENTS, &mut enrollment).await?;
    let pair = engine.enroll(&class, role, enrollment).await?;
    let pair = json!({
        "suppliedSourcedId": pair.supplied.unwrap_or_else(|| pair.allocated.clone()),
        "allocatedSourcedId": pair.allocated,
    });
    // As createEnrollment answers: 1.2 an array of pairs, TimeBack one.
    let body = match state.config.profile {
        Profile::OneRoster => json!({ "sourcedIdPairs": [pair] }),
        _ => json!({ "sourcedIdPairs": pair }),
    };
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

async fn add_agent(
    State(state): State<AppState>,
    auth: Authenticated,
    Params(params): Params,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, &USERS)?;
    let agent = match body.get("agentSourcedId") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => {
            return Err(ApiError::Unprocessable(
                "the body must be an object with an 'agentSourcedId' string".into(),
            ));
        }
    };
    let user = PathValues(&params).get("userId").to_owned();
    let doc = state.rollcall.engine.add_agent(&user, &agent).await?;
    single(&state, &headers, &USERS, doc, None).await
}

async fn remove_agent(
    State(state): State<AppState>,
    auth: Authenticated,
    Params(params): Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, &USERS)?;
    let params = PathValues(&params);
    let doc = state
        .rollcall
        .engine
        .remove_agent(params.get("userId"), params.get("agentSourcedId"))
        .await?;
    single(&state, &headers, &USERS, doc, None).await
}
