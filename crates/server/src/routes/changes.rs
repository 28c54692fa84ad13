//! `GET …/changes`: the change feed, every create, update and soft delete
//! across resources in commit order, read from the change log (see
//! `rollcall_store::changes`). A consumer keeps `next` and asks again
//! with `after=<next>`; a cursor the log no longer covers is a 410.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::user::USERS;
use rollcall_service::scope::Operation;
use rollcall_store::{Change, ChangePosition, FieldChange};
use serde_json::{Map, Value, json};

use super::API_PREFIX;
use crate::error::ApiError;
use crate::extract::{Authenticated, QueryPairs};
use crate::state::AppState;

/// Entries per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 100;
/// Most entries per page.
pub const MAX_LIMIT: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{API_PREFIX}/changes"), get(feed))
}

/// Needs `roster.readonly` (or `admin`): the feed carries every resource
/// and relationship. Demographics changes are left out unless the token
/// may also read demographics; the cursor moves past them either way.
async fn feed(State(state): State<AppState>, auth: Authenticated, pairs: QueryPairs) -> Result<Response, ApiError> {
    auth.require(Operation::ReadRelation, &USERS)?;
    let (after, limit) = params(&pairs)?;
    let page = state.rollcall.engine.changes(after.as_ref(), limit).await?;
    let demographics = auth.require(Operation::Read, &DEMOGRAPHICS).is_ok();
    let changes: Vec<Value> = page
        .changes
        .iter()
        .filter(|c| demographics || c.resource != DEMOGRAPHICS.path())
        .map(entry)
        .collect();
    Ok(axum::Json(json!({ "changes": changes, "next": page.next.as_str() })).into_response())
}

fn params(pairs: &QueryPairs) -> Result<(Option<ChangePosition>, usize), ApiError> {
    let (mut after, mut limit) = (None, DEFAULT_LIMIT);
    for (name, value) in pairs.iter() {
        match name {
            "after" => {
                let position = ChangePosition::parse(value).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "'{value}' is not a change feed cursor: pass the `next` of a previous page, or no `after` \
                         to start from the oldest change kept"
                    ))
                })?;
                after = Some(position);
            }
            "limit" => limit = parse_limit(value)?,
            _ => {}
        }
    }
    Ok((after, limit))
}

/// A page size between 1 and [`MAX_LIMIT`].
pub fn parse_limit(value: &str) -> Result<usize, ApiError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}, not '{value}'"
            ))
        })
}

/// One change as the feed shows it: the record for a create, the changed
/// fields otherwise.
fn entry(change: &Change) -> Value {
    let mut m = Map::new();
    m.insert("cursor".into(), change.position.as_str().into());
    m.insert("type".into(), change.resource.clone().into());
    m.insert("sourcedId".into(), change.sourced_id.clone().into());
    m.insert("operation".into(), change.operation.as_str().into());
    m.insert("dateTime".into(), change.at.clone().into());
    m.insert("origin".into(), change.origin.as_str().into());
    m.insert("client".into(), change.actor.clone().into());
    m.insert("requestId".into(), change.request_id.clone().into());
    if let Some(record) = &change.record {
        m.insert("record".into(), record.clone());
    }
    if change.record.is_none() || !change.fields.is_empty() {
        m.insert("fields".into(), change.fields.iter().map(field).collect());
    }
    Value::Object(m)
}

/// `{field, before, after}`, or `{field, changed: true}` for a write-only
/// field, whose values are never shown.
pub fn field(f: &FieldChange) -> Value {
    if f.write_only {
        return json!({ "field": f.path, "changed": true });
    }
    json!({ "field": f.path, "before": f.before, "after": f.after })
}
