//! The generic collection routes every declared resource gets: list,
//! create, get, replace (PUT), patch, soft delete. Views (`/schools`) are
//! served by the same handlers (see `views`).

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oneroster::ResourceDecl;
use oneroster::model::user::USERS;
use oneroster::query::{self, Condition, ListQuery, Scope};
use oneroster::resource::KeyBy;
use oneroster::resource::ViewDecl;
use rollcall_service::Engine;
use rollcall_service::engine::SourcedIdPair;
use rollcall_service::precondition::Precondition;
use rollcall_service::rules;
use rollcall_service::scope::Operation;
use rollcall_store::RawPage;
use serde_json::{Value, json};

use super::{API_PREFIX, IdParam, render_all, render_page};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody, QueryPairs, unwrap_body, unwrap_update_body};
use crate::paging;
use crate::render::Profile;
use crate::state::AppState;

/// Routes for one resource, under its collection path (with and without
/// the trailing slash TimeBack clients send), and its bulk write.
pub fn routes(decl: &'static ResourceDecl) -> Router<AppState> {
    let collection = format!("{API_PREFIX}/{}", decl.path());
    let list_create =
        get(move |s, a, q, h, u| list(decl, None, s, a, q, h, u)).post(move |s, a, h, b| create(decl, s, a, h, b));
    let item = get(move |s, a, i, q, h| get_one(decl, None, s, a, i, q, h))
        .put(move |s, a, i, q, h, b| update((decl, UpdateKind::Replace), s, a, i, q, h, b))
        .patch(move |s, a, i, q, h, b| update((decl, UpdateKind::Patch), s, a, i, q, h, b))
        .delete(move |s, a, i, q, h| delete(decl, s, a, i, q, h));
    let bulk = item.clone().merge(super::bulk::route(decl));
    Router::new()
        .route(&collection, list_create.clone())
        .route(&format!("{collection}/"), list_create)
        .route(&format!("{collection}/{}", super::bulk::SEGMENT), bulk)
        .route(&format!("{collection}/{{sourcedId}}"), item)
}

/// The view a request came through, if any: it narrows the collection and
/// may rename the wrappers.
pub type ViewScope = Option<&'static ViewDecl>;

/// The list and single wrappers of a response: a view's own (TimeBack's
/// `terms`/`term`) except in the strict 1.2 profile, which keeps the base's.
pub fn wrappers(state: &AppState, decl: &'static ResourceDecl, view: ViewScope) -> (&'static str, &'static str) {
    match view {
        Some(view) if state.config.profile != Profile::OneRoster => view.wrappers,
        _ => (decl.collection, decl.singular),
    }
}

pub async fn list(
    decl: &'static ResourceDecl,
    view: ViewScope,
    State(state): State<AppState>,
    auth: Authenticated,
    pairs: QueryPairs,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    auth.require(Operation::Read, decl)?;
    let declared = state
        .rollcall
        .engine
        .extensions()
        .current()
        .await?
        .field_decls(decl.collection);
    let mut query = ListQuery::from_request_with(decl, &declared, pairs.iter(), &state.rollcall.cursor_key)?;
    if let Some(field) = view.and_then(|v| decl.field(v.field)) {
        let value = view.map_or("", |v| v.value);
        query = query.with_scope(Scope::Where(Condition::equals(field, value)));
    }
    let page = state.rollcall.engine.list_raw(decl, &query).await?;
    let wrapper = wrappers(&state, decl, view).0;
    respond_page_as(&state, &headers, uri.path(), (decl, wrapper), &pairs, &query, page).await
}

/// A page of a collection: the wrapper array, TimeBack's body totals (by
/// profile), and `X-Total-Count` plus an RFC 8288 `Link` header. The body
/// is written as text around the records rendered as text.
pub async fn respond_page(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    decl: &'static ResourceDecl,
    pairs: &QueryPairs,
    query: &ListQuery,
    page: RawPage,
) -> Result<Response, ApiError> {
    respond_page_as(state, headers, path, (decl, decl.collection), pairs, query, page).await
}

/// [`respond_page`] with the records under `wrapper` (a view's, or
/// TimeBack's `agents`) instead of the collection's name.
pub async fn respond_page_as(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    (decl, wrapper): (&'static ResourceDecl, &str),
    pairs: &QueryPairs,
    query: &ListQuery,
    page: RawPage,
) -> Result<Response, ApiError> {
    let has_next = query.next_offset().is_some_and(|next| next < page.total);
    let cursor = match page.items.last().filter(|_| has_next) {
        Some(last) => serde_json::from_str::<Value>(last)
            .ok()
            .and_then(|last| query.next_cursor(&last))
            .map(|c| c.seal(&state.rollcall.cursor_key))
            .filter(|token| token.len() <= paging::MAX_CURSOR_BYTES),
        None => None,
    };
    let mut body = format!("{{{}:[", Value::from(wrapper)).into_bytes();
    render_page(state, headers, decl, &page.items, query.fields.as_deref(), &mut body).await?;
    body.push(b']');
    if state.config.profile.body_totals() {
        let totals = paging::Totals::new(page.total, query.offset, query.limit);
        let extra = json!({
            "totalCount": totals.total,
            "total": totals.total,
            "pageCount": totals.page_count,
            "pageNumber": totals.page_number,
            "offset": query.offset,
            "limit": query.limit,
        });
        for (key, value) in extra.as_object().into_iter().flatten() {
            body.extend_from_slice(format!(",{}:{value}", Value::from(key.as_str())).as_bytes());
        }
    }
    body.push(b'}');
    let origin = super::origin(state, headers)?;
    let link = paging::link_header(&format!("{origin}{path}"), pairs, query, page.total, cursor.as_deref());
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    let h = response.headers_mut();
    h.insert("x-total-count", HeaderValue::from(page.total));
    if let Ok(link) = HeaderValue::from_str(&link) {
        h.insert(header::LINK, link);
    }
    Ok(response)
}

pub async fn get_one(
    decl: &'static ResourceDecl,
    view: ViewScope,
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
    pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auth.require(Operation::Read, decl)?;
    let fields = query::fields_from_pairs(decl, pairs.iter())?;
    let as_of = super::audit::as_of(&pairs)?;
    let mut doc = in_view(&state, decl, view, &id, key_by(decl, &pairs)?).await?;
    if let Some(at) = as_of {
        // The key may be a username: the log is kept by sourcedId.
        let sourced_id = doc["sourcedId"].as_str().unwrap_or(&id).to_owned();
        doc = state.rollcall.engine.as_of(decl, &sourced_id, at).await?;
    }
    if decl == &USERS {
        return super::embedded::single_user(&state, &headers, &auth, doc, fields.as_deref()).await;
    }
    single_as(
        &state,
        &headers,
        decl,
        wrappers(&state, decl, view).1,
        doc,
        fields.as_deref(),
    )
    .await
}

/// The stored record `id` names (a sourcedId or an alternate key, see
/// [`key_by`]), which must belong to the view (if any): `/schools/{id}` is
/// not any org. Outside the view is not found.
pub async fn in_view(
    state: &AppState,
    decl: &'static ResourceDecl,
    view: ViewScope,
    id: &str,
    by: KeyBy,
) -> Result<Value, ApiError> {
    let doc = state.rollcall.engine.find(decl, id, by).await?;
    match view {
        Some(view) if !view.holds(&doc) => Err(ApiError::NotFound(format!("{} '{id}' not found", view.one))),
        _ => Ok(doc),
    }
}

/// How the path's key names the record: `?by=sourcedId|username|…` (the
/// declaration's keys), or a sourcedId and, failing that, the first key.
/// An unknown `by` is 400, listing the valid ones.
pub fn key_by(decl: &'static ResourceDecl, pairs: &QueryPairs) -> Result<KeyBy, ApiError> {
    let mut given = pairs.iter().filter(|(name, _)| *name == "by").map(|(_, value)| value);
    let by = given.next();
    if given.next().is_some() {
        return Err(ApiError::bad_request("query parameter 'by' given more than once"));
    }
    decl.key_by(by).map_err(ApiError::bad_request)
}

/// The request header with which a bulk loader that sends children
/// before their parents writes references whether or not their targets
/// exist yet: `off` (or `on`, the default). Only for the `admin` scope:
/// the check keeps a roster consistent, and lifting it is an operator's
/// decision, not any writer's.
pub const REFERENCE_CHECK: &str = "rollcall-reference-check";

/// The engine a write goes through: without the reference check when the
/// request asks (see [`REFERENCE_CHECK`]).
pub fn writer(state: &AppState, auth: &Authenticated, headers: &HeaderMap) -> Result<Engine, ApiError> {
    let engine = &state.rollcall.engine;
    let Some(value) = headers.get(REFERENCE_CHECK) else {
        return Ok(engine.clone());
    };
    match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Ok("on") => Ok(engine.clone()),
        Ok("off") => {
            auth.require(Operation::Admin, &USERS)
                .map_err(|_| ApiError::Forbidden(format!("{REFERENCE_CHECK}: off needs the admin scope")))?;
            Ok(engine.without_reference_check())
        }
        _ => Err(ApiError::bad_request(format!(
            "{REFERENCE_CHECK} must be 'on' or 'off'"
        ))),
    }
}

/// `{"<singular>": record}`.
pub async fn single(
    state: &AppState,
    headers: &HeaderMap,
    decl: &'static ResourceDecl,
    doc: Value,
    fields: Option<&[String]>,
) -> Result<Response, ApiError> {
    single_as(state, headers, decl, decl.singular, doc, fields).await
}

/// [`single`] under another wrapper (a view's), with the record version's `ETag`.
pub async fn single_as(
    state: &AppState,
    headers: &HeaderMap,
    decl: &'static ResourceDecl,
    wrapper: &str,
    doc: Value,
    fields: Option<&[String]>,
) -> Result<Response, ApiError> {
    let etag = rules::etag(&doc);
    let mut rendered = render_all(state, headers, decl, vec![doc], fields).await?;
    let response = axum::Json(json!({ wrapper: rendered.pop() })).into_response();
    Ok(with_etag(response, etag))
}

/// The record version's `ETag` (see `rules::etag`) on its response.
pub fn with_etag(mut response: Response, etag: Option<String>) -> Response {
    if let Some(etag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// The `If-Match` precondition of a write.
pub fn precondition(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    match headers.get(header::IF_MATCH).map(HeaderValue::to_str) {
        Some(Err(_)) => Err(ApiError::bad_request("If-Match must be ASCII entity tags or *")),
        Some(Ok(value)) => Ok(Precondition::if_match(Some(value))),
        None => Ok(Precondition::None),
    }
}

/// `If-None-Match: *` on PUT: create the record, never replace one.
fn create_only(headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"*")
}

async fn create(
    decl: &'static ResourceDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, decl)?;
    let engine = writer(&state, &auth, &headers)?;
    let mut object = unwrap_body(body, decl.singular)?;
    super::extended::fold(&state, decl, &mut object).await?;
    let pair = engine.create(decl, object).await?;
    Ok(created(&state, pair))
}

/// 201 with the `sourcedIdPairs` of a created record.
pub fn created(state: &AppState, pair: SourcedIdPair) -> Response {
    let pair = json!({
        "suppliedSourcedId": pair.supplied.unwrap_or_else(|| pair.allocated.clone()),
        "allocatedSourcedId": pair.allocated,
    });
    // 1.2 (gradebook) sends an array of pairs; TimeBack a single object.
    let body = match state.config.profile {
        Profile::OneRoster => json!({ "sourcedIdPairs": [pair] }),
        _ => json!({ "sourcedIdPairs": pair }),
    };
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// How an update applies the body: PUT replaces the record, PATCH merges
/// only the fields sent.
#[derive(Clone, Copy)]
enum UpdateKind {
    Replace,
    Patch,
}

async fn update(
    (decl, kind): (&'static ResourceDecl, UpdateKind),
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(key): IdParam,
    pairs: QueryPairs,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, decl)?;
    let by = key_by(decl, &pairs)?;
    let engine = &writer(&state, &auth, &headers)?;
    let to_null = super::nulls::take(decl, &mut body)?;
    let mut object = unwrap_update_body(body, decl.singular)?;
    super::extended::fold(&state, decl, &mut object).await?;
    super::nulls::apply(&mut object, &to_null, matches!(kind, UpdateKind::Patch));
    if matches!(kind, UpdateKind::Replace) && create_only(&headers) {
        if !matches!(by, KeyBy::SourcedId | KeyBy::Any) {
            return Err(ApiError::bad_request(
                "If-None-Match: * creates the record at the sourcedId in the path; by= cannot name a new record",
            ));
        }
        return create_at(&state, engine, &headers, decl, &key, object).await;
    }
    let expect = precondition(&headers)?;
    let id = engine.resolve(decl, &key, by).await?;
    let doc = match kind {
        UpdateKind::Replace => engine.replace_checked(decl, &id, object, &expect).await?,
        UpdateKind::Patch => engine.patch_checked(decl, &id, object, &expect).await?,
    };
    if decl == &USERS {
        return super::embedded::single_user(&state, &headers, &auth, doc, None).await;
    }
    single(&state, &headers, decl, doc, None).await
}

/// PUT with `If-None-Match: *`: stores the body as a new record at `id`
/// (201 with the record); 412 if one exists, even soft-deleted.
async fn create_at(
    state: &AppState,
    engine: &Engine,
    headers: &HeaderMap,
    decl: &'static ResourceDecl,
    id: &str,
    mut object: Value,
) -> Result<Response, ApiError> {
    if let Some(fields) = object.as_object_mut() {
        match fields.get("sourcedId") {
            None | Some(Value::Null) => {
                fields.insert("sourcedId".into(), id.into());
            }
            Some(v) if v == id => {}
            Some(other) => {
                return Err(ApiError::Unprocessable(format!(
                    "sourcedId in the body ({other}) does not match the sourcedId in the path ('{id}')"
                )));
            }
        }
    }
    match engine.create(decl, object).await {
        Err(rollcall_service::ServiceError::Conflict(_)) if engine.get(decl, id).await.is_ok() => {
            Err(ApiError::PreconditionFailed {
                message: format!(
                    "{} '{id}' exists, and If-None-Match: * asks to create it only",
                    decl.singular
                ),
                current: None,
            })
        }
        Err(e) => Err(e.into()),
        Ok(_) => {
            let doc = engine.get(decl, id).await?;
            let response = single(state, headers, decl, doc, None).await?;
            Ok((StatusCode::CREATED, response).into_response())
        }
    }
}

async fn delete(
    decl: &'static ResourceDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(key): IdParam,
    pairs: QueryPairs,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    auth.require(Operation::Delete, decl)?;
    let by = key_by(decl, &pairs)?;
    let expect = precondition(&headers)?;
    let engine = &state.rollcall.engine;
    let id = engine.resolve(decl, &key, by).await?;
    engine.delete_checked(decl, &id, &expect).await?;
    Ok(StatusCode::NO_CONTENT)
}
