//! `GET …/{resource}/{sourcedId}/audit` for every declared resource: the
//! record's field-level history, newest first, read from the change log.
//! Read-only: the log is written by the writes themselves and nothing
//! else, so there is no route that edits or removes an entry. Also `asOf`,
//! the parameter a single-record GET takes to show the record as it was.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneroster::{ResourceDecl, Timestamp};
use rollcall_service::history::{AuditEntry, AuditQuery};
use rollcall_service::scope::Operation;
use serde_json::{Value, json};

use super::changes::{DEFAULT_LIMIT, field, parse_limit};
use super::{API_PREFIX, IdParam};
use crate::error::ApiError;
use crate::extract::{Authenticated, QueryPairs};
use crate::state::AppState;

/// The audit route of one resource.
pub fn routes(decl: &'static ResourceDecl) -> Router<AppState> {
    let path = format!("{API_PREFIX}/{}/{{sourcedId}}/audit", decl.path());
    Router::new().route(&path, get(move |s, a, i, q| audit(decl, s, a, i, q)))
}

/// Needs the scope that reads the record.
async fn audit(
    decl: &'static ResourceDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
    pairs: QueryPairs,
) -> Result<Response, ApiError> {
    auth.require(Operation::Read, decl)?;
    let query = audit_query(decl, &pairs)?;
    let engine = &state.rollcall.engine;
    // `/users/{username}/audit` as `/users/{username}` (the log is kept by sourcedId).
    let id = engine
        .resolve(decl, &id, super::collection::key_by(decl, &pairs)?)
        .await?;
    let page = engine.audit(decl, &id, &query).await?;
    let entries: Vec<Value> = page.entries.iter().map(entry).collect();
    let mut response = axum::Json(json!({ "audit": entries })).into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(page.total));
    Ok(response)
}

fn audit_query(decl: &ResourceDecl, pairs: &QueryPairs) -> Result<AuditQuery, ApiError> {
    let mut q = AuditQuery {
        limit: DEFAULT_LIMIT,
        ..AuditQuery::default()
    };
    for (name, value) in pairs.iter() {
        match name {
            "limit" => q.limit = parse_limit(value)?,
            "offset" => {
                q.offset = value
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("offset must be a whole number, not '{value}'")))?;
            }
            "since" => q.since = Some(time(name, value)?),
            "until" => q.until = Some(time(name, value)?),
            "field" => q.field = Some(field_name(decl, value)?),
            _ => {}
        }
    }
    Ok(q)
}

/// A dotted path whose first segment is one of the record's fields.
fn field_name(decl: &ResourceDecl, value: &str) -> Result<String, ApiError> {
    let top = value.split('.').next().unwrap_or_default();
    if decl.selectable.contains(&top) || decl.write_only.contains(&value) {
        return Ok(value.to_owned());
    }
    Err(ApiError::BadRequest {
        code: oneroster::wire::CodeMinor::InvalidSelectionField,
        message: format!("'{value}' is not a field of {}", decl.singular),
    })
}

/// A `since`, `until` or `asOf` value: an ISO-8601 date-time (or date).
pub fn time(name: &str, value: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(value).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

/// The `asOf` parameter of a single-record GET, if given.
pub fn as_of(pairs: &QueryPairs) -> Result<Option<Timestamp>, ApiError> {
    pairs
        .iter()
        .find(|(name, _)| *name == "asOf")
        .map(|(name, value)| time(name, value))
        .transpose()
}

fn entry(e: &AuditEntry) -> Value {
    let mut v = field(&e.field);
    let c = &e.change;
    for (key, value) in [
        ("dateTime", Value::from(c.at.clone())),
        ("operation", c.operation.as_str().into()),
        ("origin", c.origin.as_str().into()),
        ("client", c.actor.clone().into()),
        ("requestId", c.request_id.clone().into()),
    ] {
        v[key] = value;
    }
    v
}
