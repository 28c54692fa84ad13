//! Route handlers, one file per concern. Handlers only adapt HTTP to the
//! service layer: extract, call, render.

pub mod audit;
pub mod bulk;
pub mod capabilities;
pub mod changes;
pub mod collection;
pub mod credentials;
pub mod embedded;
pub mod extended;
pub mod extensions;
pub mod import;
pub mod meta;
pub mod nulls;
pub mod oauth;
pub mod relations;
pub mod structure;
pub mod users;
pub mod views;
pub mod webhooks;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
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
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Self(id)),
            // The bulk route's other methods reach the record named `bulk`.
            Err(_) if parts.uri.path().ends_with(&format!("/{}", bulk::SEGMENT)) => Ok(Self(bulk::SEGMENT.into())),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// The absolute origin clients reach us at: the configured public URL, or
/// `http://` plus the request's `Host`. The `Host` is the client's to choose
/// and is copied into every `href` and the `Link` header, so only a plain
/// `host[:port]` is accepted (400 otherwise).
pub fn origin(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(url) = &state.config.public_url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let Some(host) = headers.get(header::HOST) else {
        return Ok("http://localhost".to_owned());
    };
    match host.to_str() {
        Ok(host) if is_host_and_port(host) => Ok(format!("http://{host}")),
        _ => Err(ApiError::bad_request(
            "the Host header must be a host name or address with an optional port",
        )),
    }
}

/// Checks a public base URL (`ROLLCALL_PUBLIC_URL`): `http` or `https`, a
/// plain `host[:port]`, and a path of ordinary URL characters, since it is
/// copied into every `href` and `Link` header. Returns it without a
/// trailing slash.
pub fn parse_public_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("the public URL must start with http:// or https://")?;
    let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
    if !is_host_and_port(authority) {
        return Err(format!(
            "'{authority}' is not a host name or address with an optional port"
        ));
    }
    let path_char = |c: char| c.is_ascii_alphanumeric() || "/-._~%!$&'()*+,;=:@".contains(c);
    if !path.chars().all(path_char) {
        return Err("the public URL's path may hold only URL characters (no query or fragment)".into());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// `name[:port]`, `a.b.c.d[:port]` or `[v6][:port]`, as a `Host` header
/// may hold it (no user info, no path, no spaces or delimiters).
fn is_host_and_port(authority: &str) -> bool {
    let (host, port) = split_port(authority);
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => !v6.is_empty() && v6.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.')),
        None => {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        }
    };
    host_ok && port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
}

/// Splits `host:port` at the port's colon: the last one, after any `]`.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let after_v6 = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[after_v6..].rfind(':') {
        Some(i) => (&authority[..after_v6 + i], Some(&authority[after_v6 + i + 1..])),
        None => (authority, None),
    }
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
    let api_base = api_base(state, headers)?;
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
    let api_base = api_base(state, headers)?;
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

fn api_base(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    Ok(format!("{}{API_PREFIX}", origin(state, headers)?))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_plain_names_or_addresses_with_a_port() {
        for good in [
            "localhost",
            "roster.example.org:8443",
            "10.0.0.1:80",
            "[::1]",
            "[::1]:8080",
            "a_b",
        ] {
            assert!(is_host_and_port(good), "{good}");
        }
        for bad in [
            "a>; rel=\"x\", <http://evil",
            "",
            "a b",
            "user@host",
            "host:port",
            "host:",
            "host:99999",
            "a:b:c",
            "[::1]x",
            "[]",
            "host/path",
        ] {
            assert!(!is_host_and_port(bad), "{bad}");
        }
    }

    #[test]
    fn public_urls_are_checked_and_lose_their_trailing_slash() {
        assert_eq!(
            parse_public_url("https://roster.example.org/api/").unwrap(),
            "https://roster.example.org/api"
        );
        assert_eq!(parse_public_url("http://[::1]:8080").unwrap(), "http://[::1]:8080");
        for bad in [
            "roster.example.org",
            "ftp://x",
            "https://a>b",
            "https://x/a>; rel=\"y\"",
            "https://x/?q",
            "https://x/#f",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
