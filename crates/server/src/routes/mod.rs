//! Route handlers, one file per concern. Handlers only adapt HTTP to the
//! service layer: extract, call, render.

pub mod capabilities;
pub mod collection;
pub mod import;
pub mod meta;
pub mod oauth;
pub mod users;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use oneroster::ResourceDecl;
use serde_json::Value;

use crate::error::ApiError;
use crate::render::{self, Profile, RenderContext};
use crate::render_raw::{self, Split};
use crate::state::AppState;

/// Every OneRoster rostering path starts here.
pub const API_PREFIX: &str = "/ims/oneroster/rostering/v1p2";

/// The `{sourcedId}` path segment.
pub struct IdParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        Ok(Self(id))
    }
}

/// The absolute origin clients reach us at: the configured public URL, or
/// `http://` plus the request's `Host`.
pub fn origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

/// Renders stored records for the response, resolving referenced names in
/// one batched lookup when the profile shows them.
pub async fn render_all(
    state: &AppState,
    headers: &HeaderMap,
    decl: &'static ResourceDecl,
    docs: Vec<Value>,
    fields: Option<&[String]>,
) -> Result<Vec<Value>, ApiError> {
    let names = names(state, decl, render::named_ref_ids(decl, &docs)).await?;
    let api_base = api_base(state, headers);
    let ctx = context(state, &api_base, &names, fields);
    Ok(docs.into_iter().map(|d| render::render(decl, d, &ctx)).collect())
}

/// As [`render_all`], from stored JSON text to JSON text (see `render_raw`):
/// appends the rendered records to `out`, separated by commas.
pub async fn render_page(
    state: &AppState,
    headers: &HeaderMap,
    decl: &'static ResourceDecl,
    items: &[String],
    fields: Option<&[String]>,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let text_path = render_raw::serves(state.config.profile);
    let mut ids = Vec::new();
    let mut parts = Vec::with_capacity(items.len());
    for raw in items {
        let split =
            (text_path.then(|| render_raw::split(raw)).flatten()).filter(|s| s.named_ids(decl, &mut ids).is_some());
        parts.push(match split {
            Some(split) => Part::Copied(raw, split),
            None => {
                let doc = parse(raw)?;
                ids.extend(render::named_ref_ids(decl, [&doc]));
                Part::Full(doc)
            }
        });
    }
    let names = names(state, decl, ids).await?;
    let api_base = api_base(state, headers);
    let ctx = context(state, &api_base, &names, fields);
    let plan = render_raw::Plan::new(decl, &ctx);
    // Rendering adds `href` and `type` to references: room for that up
    // front, so a 1,000-record page is not copied while it grows.
    out.reserve(items.iter().map(|raw| raw.len() + 256).sum());
    for (n, part) in parts.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let start = out.len();
        let written = match (&part, &plan) {
            (Part::Copied(_, split), Some(plan)) => plan.render(split, out),
            _ => None,
        };
        if written.is_none() {
            out.truncate(start);
            let doc = match part {
                Part::Copied(raw, _) => parse(raw)?,
                Part::Full(doc) => doc,
            };
            serde_json::to_writer(&mut *out, &render::render(decl, doc, &ctx)).expect("writing to a Vec");
        }
    }
    Ok(())
}

/// A record on its way to the response: split for editing as text, or
/// parsed whole.
enum Part<'a> {
    Copied(&'a str, Split<'a>),
    Full(Value),
}

fn parse(raw: &str) -> Result<Value, ApiError> {
    serde_json::from_str(raw).map_err(|e| ApiError::Internal(format!("corrupt stored record: {e}")))
}

/// Names of the records `ids` name, when the profile shows them: one
/// batched lookup per collection that references with a name point into.
async fn names(
    state: &AppState,
    decl: &'static ResourceDecl,
    mut ids: Vec<String>,
) -> Result<HashMap<String, String>, ApiError> {
    let mut names = HashMap::new();
    if state.config.profile == Profile::OneRoster || ids.is_empty() {
        return Ok(names);
    }
    ids.sort();
    ids.dedup();
    let mut targets: Vec<&str> = decl.refs.iter().filter(|r| r.with_name).map(|r| r.collection).collect();
    targets.sort_unstable();
    targets.dedup();
    for collection in targets {
        let target = oneroster::resource::by_collection(collection).expect("declared target");
        names.extend(state.rollcall.engine.names(target, ids.clone()).await?);
    }
    Ok(names)
}

fn api_base(state: &AppState, headers: &HeaderMap) -> String {
    format!("{}{API_PREFIX}", origin(state, headers))
}

fn context<'a>(
    state: &AppState,
    api_base: &'a str,
    names: &'a HashMap<String, String>,
    fields: Option<&'a [String]>,
) -> RenderContext<'a> {
    RenderContext {
        profile: state.config.profile,
        api_base,
        names,
        fields,
    }
}
