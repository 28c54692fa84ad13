//! Prometheus metrics: requests by route template and status with their
//! latency, rejections, the store's queue waits and commit grouping, import
//! jobs. Recording is lock-free (atomics in a fixed table), so scraping every
//! second under full load costs the request path nothing; a scrape reads the
//! atomics and writes the text exposition format ([`text`]).
//!
//! Hand-rolled rather than a client crate: the few metric families here need
//! counters and fixed-bucket histograms only, and the table below keeps
//! route labels bounded by construction.

mod series;
mod text;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rollcall_store::stats::Histogram;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;
use series::Table;

/// Why a request was turned away before its work was done, marked on the
/// response by whoever refused it, so `/metrics` counts refusals by cause
/// rather than guessing from status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 429: a client over its request rate, requests in flight or token
    /// rate, or the token endpoint's secret checks all taken.
    RateLimited,
    /// 503 `server_busy`: the database held by another writer, or the
    /// import slot taken.
    Busy,
}

/// This instance's request metrics.
pub struct Metrics {
    requests: Table,
    rate_limited: std::sync::atomic::AtomicU64,
    busy: std::sync::atomic::AtomicU64,
    /// How long each scrape took to render, in microseconds.
    scrapes: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Table::default(),
            rate_limited: Default::default(),
            busy: Default::default(),
            scrapes: Histogram::durations(),
        }
    }
}

impl Metrics {
    fn record(&self, method: &Method, route: &str, response: &Response, started: Instant) {
        use std::sync::atomic::Ordering::Relaxed;
        self.requests
            .latency(method_label(method), route, response.status().as_u16())
            .observe_duration(started.elapsed());
        match response.extensions().get::<Rejection>() {
            Some(Rejection::RateLimited) => self.rate_limited.fetch_add(1, Relaxed),
            Some(Rejection::Busy) => self.busy.fetch_add(1, Relaxed),
            None => 0,
        };
    }
}

/// A method as a label: the standard ones by name, any other as `OTHER`,
/// so invented methods cannot add series.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("OTHER")
}

/// The label of a request that matched no route: the raw path would let
/// any client add series.
pub(crate) const UNMATCHED: &str = "unmatched";

/// Middleware: records every request under the route template it matched.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    metrics.record(&method, route, &response, started);
    response
}

/// `GET /metrics`: the text exposition format. Open unless
/// `ServerConfig::metrics_token` is set, then only with that bearer token.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.config.metrics_token
        && !bearer_matches(&headers, expected)
    {
        return ApiError::Unauthorized("GET /metrics needs the metrics token as a bearer token".into()).into_response();
    }
    let started = Instant::now();
    let body = text::render(&state);
    state.metrics.scrapes.observe_duration(started.elapsed());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Compares digests, so the comparison's time says nothing about how much
/// of the token a guess got right.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}
