//! Views: a declared subset of a collection under its own path (`/schools`
//! = orgs of type `school`), served by the collection handlers narrowed to
//! the view. A writable view also creates, replaces and soft-deletes, and
//! keeps what it writes inside itself (`ViewDecl::confine`); a record
//! outside the view is not found through it. Deleting a school is the soft
//! delete of that org alone: its classes, courses and users keep their
//! references, as a delta consumer sees the school go and decides.
//!
//! `createGradingPeriodForTerm` lives here too: a grading period written
//! through the `gradingPeriods` view with the term as its parent.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use oneroster::resource::{KeyBy, ViewDecl, view};
use rollcall_service::scope::Operation;
use serde_json::{Value, json};

use super::collection::{created, get_one, in_view, list, single_as, wrappers, writer};
use super::{API_PREFIX, IdParam};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::state::AppState;

/// Routes for a view: reads, and writes when the view is writable.
pub fn routes(view: &'static ViewDecl) -> Router<AppState> {
    let collection = format!("{API_PREFIX}/{}", view.path);
    let decl = view.base;
    let mut list_route = get(move |s, a, q, h, u| list(decl, Some(view), s, a, q, h, u));
    let mut item = get(move |s, a, i, q, h| get_one(decl, Some(view), s, a, i, q, h));
    if view.writable {
        list_route = list_route.post(move |s, a, h, b| create(view, s, a, h, b));
        item = item
            .put(move |s, a, i, h, b| replace(view, s, a, i, h, b))
            .delete(move |s, a, i| delete(view, s, a, i));
    }
    let router = Router::new()
        .route(&collection, list_route.clone())
        .route(&format!("{collection}/"), list_route)
        .route(&format!("{collection}/{{sourcedId}}"), item);
    if view.path == "terms" {
        router.route(
            &format!("{collection}/{{termSourcedId}}/gradingPeriods"),
            post(grading_period_for_term),
        )
    } else {
        router
    }
}

/// The record in a write body: under the base's wrapper (`org`,
/// `academicSession`, as the documents send it) or the view's
/// (`gradingPeriod`), kept inside the view.
fn confined_body(view: &'static ViewDecl, body: Value) -> Result<Value, ApiError> {
    let (decl, one) = (view.base, view.wrappers.1);
    let mut object = match body {
        Value::Object(mut m) => m.remove(decl.singular).or_else(|| m.remove(one)),
        _ => None,
    }
    .ok_or_else(|| ApiError::Unprocessable(format!("the body must be an object with a '{}' member", decl.singular)))?;
    if !object.is_object() {
        return Err(ApiError::Unprocessable(format!(
            "{}: expected an object",
            decl.singular
        )));
    }
    view.confine(&mut object)
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    Ok(object)
}

async fn create(
    view: &'static ViewDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, view.base)?;
    let engine = writer(&state, &auth, &headers)?;
    let mut object = confined_body(view, body)?;
    super::extended::fold(&state, view.base, &mut object).await?;
    let pair = engine.create(view.base, object).await?;
    Ok(created(&state, pair))
}

async fn replace(
    view: &'static ViewDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, view.base)?;
    let mut object = confined_body(view, body)?;
    super::extended::fold(&state, view.base, &mut object).await?;
    in_view(&state, view.base, Some(view), &id, KeyBy::SourcedId).await?;
    let doc = writer(&state, &auth, &headers)?.replace(view.base, &id, object).await?;
    let wrapper = wrappers(&state, view.base, Some(view)).1;
    single_as(&state, &headers, view.base, wrapper, doc, None).await
}

async fn delete(
    view: &'static ViewDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
) -> Result<StatusCode, ApiError> {
    auth.require(Operation::Delete, view.base)?;
    in_view(&state, view.base, Some(view), &id, KeyBy::SourcedId).await?;
    state.rollcall.engine.delete(view.base, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// createGradingPeriodForTerm: a grading period whose parent is the term
/// in the path (404 when there is no such term); answers 201 with the
/// stored record under `academicSession`, as TimeBack documents.
async fn grading_period_for_term(
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(term_id): IdParam,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let (terms, periods) = (
        view("terms").expect("declared"),
        view("gradingPeriods").expect("declared"),
    );
    auth.require(Operation::Write, periods.base)?;
    in_view(&state, terms.base, Some(terms), &term_id, KeyBy::SourcedId).await?;
    let mut object = confined_body(periods, body)?;
    super::extended::fold(&state, periods.base, &mut object).await?;
    let parent = json!({ "sourcedId": term_id });
    match object.get("parent") {
        None | Some(Value::Null) => {}
        Some(given) if given.get("sourcedId") == parent.get("sourcedId") => {}
        Some(given) => {
            return Err(ApiError::Unprocessable(format!(
                "parent: must be the term in the path ('{term_id}'), found {given}"
            )));
        }
    }
    object["parent"] = parent;
    let engine = &writer(&state, &auth, &headers)?;
    let pair = engine.create(periods.base, object).await?;
    let doc = engine.get(periods.base, &pair.allocated).await?;
    let response = single_as(&state, &headers, periods.base, periods.base.singular, doc, None).await?;
    Ok((StatusCode::CREATED, response).into_response())
}
