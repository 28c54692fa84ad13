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
    let profile = state.config.profile;
    let mut names = HashMap::new();
    if profile != Profile::OneRoster {
        for r in decl.refs.iter().filter(|r| r.with_name) {
            let target = oneroster::resource::by_collection(r.collection).expect("declared target");
            let ids = render::named_ref_ids(decl, &docs);
            if !ids.is_empty() {
                names.extend(state.rollcall.engine.names(target, ids).await?);
            }
        }
    }
    let api_base = format!("{}{API_PREFIX}", origin(state, headers));
    let ctx = RenderContext {
        profile,
        api_base: &api_base,
        names: &names,
        fields,
    };
    Ok(docs.into_iter().map(|d| render::render(decl, d, &ctx)).collect())
}
