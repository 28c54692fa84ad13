//! The HTTP face of Rollcall.
//!
//! # Layout
//! - [`app`] builds the router from the resource declarations; [`serve`]
//!   runs it on an already-bound listener until a shutdown future resolves
//!   (tests bind port 0; the binary binds the configured address).
//! - `routes/`: handlers, one file per concern; they only adapt HTTP to the
//!   service layer.
//! - [`error`]: `ApiError`, the one mapping to the imsx error body.
//! - [`extract`]: bearer auth, query pairs, JSON bodies (failures as imsx).
//! - [`render`]: stored record to response, per response [`render::Profile`];
//!   [`render_raw`]: the same from stored JSON text, edited as text by [`raw_json`]
//!   (split by `json_text`).
//! - [`paging`]: body totals and the `Link` header.
//! - [`openapi`], [`docs`]: the generated contract and its HTML reference.
//! - [`testing`]: a real server on a random port, for tests here and in other crates.

pub mod docs;
pub mod error;
pub mod extract;
mod json_text;
pub mod limits;
pub mod openapi;
pub mod paging;
pub mod raw_json;
pub mod render;
pub mod render_raw;
pub mod routes;
pub mod state;
pub mod testing;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use oneroster::resource::{self, VIEWS};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use limits::RateLimits;
pub use render::Profile;
pub use state::{AppState, ServerConfig};

/// How long one request may take before it is answered with an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The complete application.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(routes::meta::healthz))
        .route("/openapi.json", get(routes::meta::openapi))
        .route("/docs", get(docs::page))
        .route("/oauth2/token", post(routes::oauth::token))
        .route(
            &format!("{}/capabilities", routes::API_PREFIX),
            get(routes::capabilities::capabilities),
        )
        .route(
            "/admin/import",
            post(routes::import::import).layer(DefaultBodyLimit::max(routes::import::MAX_PACKAGE_BYTES)),
        )
        .merge(routes::users::routes());
    for decl in resource::all() {
        router = router.merge(routes::collection::routes(decl));
    }
    for view in VIEWS {
        router = router.merge(routes::collection::view_routes(view));
    }
    with_layers(router, state)
}

/// The cross-cutting layers every route runs inside, and the imsx 404 for
/// unknown routes.
fn with_layers(router: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    router
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::map_response(ensure_imsx))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Errors produced below the handlers (405 from routing, 413 from the body
/// limit, timeouts) carry no imsx body; give them one, keeping headers such
/// as `Allow`.
async fn ensure_imsx(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return response;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this endpoint".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "request body too large".to_owned(),
        StatusCode::SERVICE_UNAVAILABLE => "the request took too long".to_owned(),
        s => s.canonical_reason().unwrap_or("error").to_owned(),
    };
    let (parts, _) = response.into_parts();
    let mut fixed = ApiError::Status { status, message }.into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            fixed.headers_mut().insert(name, v.clone());
        }
    }
    fixed
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains.
/// Handlers can see each connection's peer address (`ConnectInfo`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    /// A panic anywhere in a handler still answers with the imsx 500 body.
    #[tokio::test]
    async fn a_panicking_handler_gets_an_imsx_500() {
        let dir = std::env::temp_dir().join(format!("rollcall-panic-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(rollcall_store_sqlite::open(&dir.join("db")).unwrap());
        let rollcall = rollcall_service::Rollcall::new(
            store,
            Arc::new(oneroster::SystemClock),
            &rollcall_service::SigningKey::generate(),
        );
        let state = AppState::new(rollcall, ServerConfig::default());
        async fn boom() -> StatusCode {
            panic!("boom")
        }
        let router = Router::new().route("/boom", get(boom));
        let response = with_layers(router, state)
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["imsx_codeMajor"], "failure");
        assert_eq!(
            body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"],
            "internal_server_error"
        );
        assert!(
            !body["imsx_description"].as_str().unwrap().contains("boom"),
            "the cause must not leak"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
