//! The HTTP edge: connections a client opens and never finishes, the
//! `Host` a client names, and the server's shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use rollcall_server::{ConnectionLimits, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{API, TestApp};

fn limits(header_read_timeout: Duration, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_read_timeout,
        max_connections,
    }
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://")).await.unwrap()
}

/// Everything the server sends until it closes the connection, and how
/// long that took; panics if it is still open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut bytes)).await;
    assert!(read.is_ok(), "the server still holds the connection after {within:?}");
    (String::from_utf8_lossy(&bytes).into_owned(), start.elapsed())
}

/// Sends a raw request on a new connection and returns the whole answer.
pub async fn raw(base: &str, request: &str) -> String {
    let mut stream = connect(base).await;
    stream.write_all(request.as_bytes()).await.unwrap();
    read_until_closed(&mut stream, Duration::from_secs(10)).await.0
}

#[tokio::test]
async fn a_half_sent_request_head_is_cut_off() {
    let app = TestApp::spawn_limited(limits(Duration::from_millis(500), 64)).await;
    let mut stream = connect(&app.base).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (_, took) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = TestApp::spawn_limited(limits(Duration::from_millis(500), 64)).await;
    let mut stream = connect(&app.base).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, took) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let app = TestApp::spawn_limited(limits(Duration::from_secs(2), 2)).await;
    let _held = [connect(&app.base).await, connect(&app.base).await];
    let url = app.url("/healthz");
    let probe = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!probe.is_finished(), "served past the connection cap");
    let status = tokio::time::timeout(Duration::from_secs(10), probe).await;
    assert_eq!(status.unwrap().unwrap().unwrap(), 200, "served once a slot freed");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_handlers_see_the_peer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let handler_started = started.clone();
    let router = Router::new()
        .route(
            "/slow",
            get(|| async move {
                handler_started.notify_one();
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let server = tokio::spawn(rollcall_server::serve_with(
        listener,
        router,
        shutdown,
        ConnectionLimits::default(),
    ));
    let peer = reqwest::get(format!("{base}/peer")).await.unwrap();
    assert_eq!(peer.status(), 200);
    assert_eq!(peer.text().await.unwrap(), "127.0.0.1");
    let slow = tokio::spawn(reqwest::get(format!("{base}/slow")));
    started.notified().await;
    stop.send(()).unwrap();
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(slow.text().await.unwrap(), "done");
    let stopped = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(stopped.is_ok(), "serve returns once drained");
    assert!(TcpStream::connect(base.trim_start_matches("http://")).await.is_err());
}

fn list_request(host: &str, token: &str) -> String {
    format!(
        "GET {API}/users?limit=1 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn a_malformed_host_is_refused_and_never_reaches_a_header() {
    let app = TestApp::spawn().await;
    let evil = "a>; rel=\"x\", <http://evil";
    let answer = raw(&app.base, &list_request(evil, &app.token)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invaliddata"), "{answer}");
    assert!(!answer.to_lowercase().contains("link:"), "{answer}");
    let fine = raw(&app.base, &list_request("roster.local:8080", &app.token)).await;
    assert!(fine.starts_with("HTTP/1.1 200"), "{fine}");
    assert!(
        fine.contains(&format!("<http://roster.local:8080{API}/users?")),
        "{fine}"
    );
}

#[tokio::test]
async fn the_public_url_replaces_whatever_host_is_sent() {
    let app = TestApp::spawn_config(ServerConfig {
        public_url: Some("https://roster.example.org/".into()),
        ..ServerConfig::default()
    })
    .await;
    let answer = raw(&app.base, &list_request("a>; rel=\"x\", <http://evil", &app.token)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(&format!("<https://roster.example.org{API}/users?")),
        "{answer}"
    );
    assert!(!answer.contains("evil"), "{answer}");
}
