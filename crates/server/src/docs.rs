//! `/docs`: the interactive API reference. Swagger UI renders `/openapi.json`
//! with a try-it console whose Authorize button takes a token. Its assets are
//! vendored (crates/server/assets, with their licence) and compiled into the
//! binary: no CDN, so the page works offline and needs no set-up.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

use crate::AppState;

/// The vendored Swagger UI's folder, and the versioned URL prefix it is
/// served under: a new version is a new URL, so browsers may cache for a year.
const SWAGGER_UI: &str = "swagger-ui-5.35.0";

const PAGE: &str = include_str!("../assets/docs.html");
const START: &str = include_str!("../assets/docs.js");
const BUNDLE: &str = include_str!("../assets/swagger-ui-5.35.0/swagger-ui-bundle.js");
const CSS: &str = include_str!("../assets/swagger-ui-5.35.0/swagger-ui.css");
const LICENSE: &str = include_str!("../assets/swagger-ui-5.35.0/LICENSE");
const NOTICE: &str = include_str!("../assets/swagger-ui-5.35.0/NOTICE");
const BUNDLE_LICENSES: &str = include_str!("../assets/swagger-ui-5.35.0/swagger-ui-bundle.js.LICENSE.txt");

const JS: &str = "text/javascript; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";
/// For files whose URL carries the Swagger UI version.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For the page and its start script, which change with Rollcall itself.
const REVALIDATE: &str = "no-cache";

/// `/docs` and its assets.
pub fn routes() -> Router<AppState> {
    let assets = format!("/docs/{SWAGGER_UI}");
    Router::new()
        .route("/docs", get(page))
        .route("/docs/rollcall-docs.js", get(|| asset(JS, REVALIDATE, START)))
        .route(
            &format!("{assets}/swagger-ui-bundle.js"),
            get(|| asset(JS, IMMUTABLE, BUNDLE)),
        )
        .route(
            &format!("{assets}/swagger-ui.css"),
            get(|| asset("text/css; charset=utf-8", IMMUTABLE, CSS)),
        )
        .route(&format!("{assets}/LICENSE"), get(|| asset(TEXT, IMMUTABLE, LICENSE)))
        .route(&format!("{assets}/NOTICE"), get(|| asset(TEXT, IMMUTABLE, NOTICE)))
        .route(
            &format!("{assets}/swagger-ui-bundle.js.LICENSE.txt"),
            get(|| asset(TEXT, IMMUTABLE, BUNDLE_LICENSES)),
        )
}

async fn page() -> impl IntoResponse {
    let html = PAGE.replace("{{assets}}", &format!("/docs/{SWAGGER_UI}"));
    ([(header::CACHE_CONTROL, REVALIDATE)], Html(html))
}

async fn asset(content_type: &'static str, cache: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)],
        body,
    )
}
