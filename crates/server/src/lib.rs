//! The HTTP face of Rollcall.
//!
//! # Layout
//! - [`app`] builds the router from the resource declarations; [`serve`]
//!   runs it on an already-bound listener until a shutdown future resolves
//!   (tests bind port 0; the binary binds the configured address), within
//!   [`ConnectionLimits`].
//! - `routes/`: handlers, one file per concern; they only adapt HTTP to the
//!   service layer.
//! - [`error`]: `ApiError`, the one mapping to the imsx error body.
//! - [`extract`]: bearer auth, query pairs, JSON bodies (failures as imsx).
//! - [`render`]: stored record to response, per response [`render::Profile`];
//!   [`render_raw`]: the same from stored JSON text, edited as text by [`raw_json`]
//!   (split by `json_text`).
//! - [`paging`]: body totals and the `Link` header.
//! - [`jobs`]: remote imports that outlive their request.
//! - [`metrics`]: Prometheus `/metrics`, recorded lock-free by a layer.
//! - [`openapi`], [`docs`]: the generated contract and its interactive reference (vendored Swagger UI).
//! - [`testing`]: a real server on a random port, for tests here and in other crates.

pub mod docs;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod jobs;
mod json_text;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod raw_json;
pub mod render;
pub mod render_raw;
pub mod routes;
pub mod state;
pub mod testing;
pub mod write_context;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use oneroster::resource::{self, VIEWS};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use limits::RateLimits;
pub use render::Profile;
pub use state::{AppState, ServerConfig};

/// The header carrying each request's id, accepted from the client (or a
/// proxy) or else generated, and returned on the response.
const REQUEST_ID: &str = "x-request-id";

/// How long one request may take before it is answered with an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The complete application.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(routes::meta::healthz))
        .route("/readyz", get(routes::meta::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/openapi.json", get(routes::meta::openapi))
        .merge(docs::routes())
        .route("/oauth2/token", post(routes::oauth::token))
        .route(
            &format!("{}/capabilities", routes::API_PREFIX),
            get(routes::capabilities::capabilities),
        )
        .route(
            "/admin/import",
            post(routes::import::import).layer(axum::Extension(routes::import::ImportGate::default())),
        )
        .route("/admin/import/jobs/{id}", get(routes::import::job))
        .merge(routes::extensions::routes())
        .merge(routes::users::routes())
        .merge(routes::relations::routes())
        .merge(routes::credentials::routes())
        .merge(routes::webhooks::routes())
        .merge(routes::structure::routes())
        .merge(routes::changes::routes());
    for decl in resource::all() {
        router = router
            .merge(routes::collection::routes(decl))
            .merge(routes::audit::routes(decl));
    }
    for view in VIEWS {
        router = router.merge(routes::views::routes(view));
    }
    with_layers(router, state)
}

/// The cross-cutting layers every route runs inside, and the imsx 404 for
/// unknown routes.
fn with_layers(router: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID);
    router
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(axum::middleware::from_fn(write_context::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::map_response(ensure_imsx))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Every request's span, at info level so that its fields reach info logs:
/// the request id (set or accepted by the outer layer) ties each line to the
/// response's `X-Request-Id`; the route template, never the path or query,
/// which may hold personal data.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(metrics::UNMATCHED, MatchedPath::as_str);
    tracing::info_span!("request", request_id = %id, method = %request.method(), route)
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

/// Bounds on the server's connections, all clients together: without these
/// a client that opens connections and sends its request heads a byte at a
/// time (slowloris) holds a descriptor and a task each, indefinitely. With
/// them it holds at most the cap, each for at most the header timeout (the
/// cap is not per address: a proxy in front should limit per client).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// How long a connection may take to deliver a request head, counted
    /// from when it is ready for one: just opened, or idle after a response
    /// (hyper's header-read timer), so it also closes idle keep-alive
    /// connections.
    pub header_read_timeout: Duration,
    /// Most connections served at once; further ones wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            max_connections: 512,
        }
    }
}

/// Serves `app` on `listener` within the default [`ConnectionLimits`]
/// until `shutdown` resolves, then drains (see [`serve_with`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, shutdown, ConnectionLimits::default()).await
}

/// Serves `app` on `listener` until `shutdown` resolves: then stops
/// accepting, lets in-flight requests finish, closes idle connections and
/// returns once every connection is closed. Each request carries the
/// peer's [`ConnectInfo<SocketAddr>`].
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (slot, (stream, peer)) = tokio::select! {
            () = &mut shutdown => break,
            next = accept(&listener, &slots) => next,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The next connection, once a slot is free for it. Errors from `accept`
/// (a peer gone before it was accepted, or out of descriptors) are logged
/// and waited out, never fatal.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (tokio::sync::OwnedSemaphorePermit, (TcpStream, SocketAddr)) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                return (slot, (stream, peer));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;

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
