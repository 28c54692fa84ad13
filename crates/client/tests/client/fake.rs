//! A scripted stand-in server for what a healthy Rollcall never does (a
//! short last page, 503s, refusing a fresh token, a proxy's HTML error), and
//! for counting token requests.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use futures_util::{StreamExt, TryStreamExt};
use oneroster::wire::{CodeMinor, StatusInfo};
use rollcall_client::{Client, Error, ListParams};
use serde_json::{Value, json};

/// One scripted answer.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.to_string(),
    }
}

fn imsx(status: u16, description: &str) -> Reply {
    reply(status, json!(StatusInfo::failure(CodeMinor::ServerBusy, description)))
}

#[derive(Default)]
struct Fake {
    expires_in: u64,
    tokens: AtomicUsize,
    calls: AtomicUsize,
    script: Mutex<VecDeque<Reply>>,
}

async fn token(State(fake): State<Arc<Fake>>) -> Response {
    let n = fake.tokens.fetch_add(1, Ordering::SeqCst);
    let body = json!({"access_token": format!("t{n}"), "token_type": "Bearer", "expires_in": fake.expires_in});
    axum::Json(body).into_response()
}

/// Every API path: the next scripted reply, or an empty page once the script runs out.
async fn api(State(fake): State<Arc<Fake>>) -> Response {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    let next = fake.script.lock().unwrap().pop_front();
    let r = next.unwrap_or_else(|| reply(200, json!({"users": []})));
    let mut response = (StatusCode::from_u16(r.status).unwrap(), r.body).into_response();
    for (name, value) in r.headers {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), value.parse().unwrap());
    }
    response
}

async fn spawn(expires_in: u64, script: Vec<Reply>) -> (Client, Arc<Fake>) {
    let fake = Arc::new(Fake {
        expires_in,
        script: Mutex::new(script.into()),
        ..Fake::default()
    });
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .fallback(any(api))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (Client::new(&base, "id", "secret").unwrap(), fake)
}

fn user(id: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "Ann", "familyName": "Lee",
           "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "s"}}]})
}

#[tokio::test]
async fn a_stream_shorter_than_x_total_count_ends_in_an_error() {
    let mut short = reply(200, json!({"users": [user("a"), user("b")]}));
    short.headers.push(("x-total-count", "3".into()));
    let (client, _) = spawn(3600, vec![short]).await;
    let got: Vec<_> = client.users_stream(&ListParams::new()).collect().await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].as_ref().unwrap().base.sourced_id.as_str(), "b");
    let Err(Error::Protocol(message)) = &got[2] else {
        panic!("{:?}", got[2])
    };
    assert!(message.contains("2 of 3"), "{message}");
}

#[tokio::test]
async fn a_link_to_another_host_is_followed_on_the_configured_server() {
    let mut first = reply(200, json!({"users": [user("a")]}));
    first.headers.push(("x-total-count", "2".into()));
    first.headers.push((
        "link",
        "<http://elsewhere.invalid/ims/oneroster/rostering/v1p2/users?limit=1&offset=1>; rel=\"next\"".into(),
    ));
    let mut second = reply(200, json!({"users": [user("b")]}));
    second.headers.push(("x-total-count", "2".into()));
    let (client, fake) = spawn(3600, vec![first, second]).await;
    let users: Vec<_> = client.users_stream(&ListParams::new()).try_collect().await.unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_503_is_retried_for_reads_but_not_for_creates() {
    let (client, fake) = spawn(3600, vec![imsx(503, "busy"), imsx(503, "busy")]).await;
    assert!(client.get_all_users(&ListParams::new()).await.is_ok());
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);

    fake.script.lock().unwrap().push_back(imsx(503, "timed out"));
    let e = client.create_user(&user("a")).await.unwrap_err();
    assert!(matches!(e, Error::Server { status: 503, .. }), "{e:?}");
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        4,
        "a POST that may have landed is not repeated"
    );
}

#[tokio::test]
async fn retries_stop_after_the_budget() {
    let script = (0..5).map(|_| imsx(503, "busy")).collect();
    let (client, fake) = spawn(3600, script).await;
    let e = client.get_user("a").await.unwrap_err();
    assert!(matches!(e, Error::Server { status: 503, .. }), "{e:?}");
    assert_eq!(fake.calls.load(Ordering::SeqCst), 4, "one try and three retries");
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_then_reported() {
    let refused = || imsx(401, "the access token is invalid");
    let (client, fake) = spawn(3600, vec![refused()]).await;
    assert!(client.get_all_users(&ListParams::new()).await.is_ok());
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 2);

    fake.script.lock().unwrap().extend([refused(), refused()]);
    let e = client.get_all_users(&ListParams::new()).await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 3, "one refresh per call, no loop");
}

#[tokio::test]
async fn a_token_is_shared_then_refreshed_before_it_expires() {
    let (client, fake) = spawn(1, vec![]).await;
    let calls = (0..4).map(|_| {
        let client = client.clone();
        async move { client.get_all_users(&ListParams::new()).await }
    });
    let results: Vec<_> = futures_util::stream::iter(calls).buffer_unordered(4).collect().await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        fake.tokens.load(Ordering::SeqCst),
        1,
        "concurrent calls share one token"
    );
    // A one-second token is replaced after half its life.
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.get_all_users(&ListParams::new()).await.unwrap();
    assert_eq!(fake.tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_error_without_an_imsx_body_is_a_protocol_error() {
    let html = Reply {
        status: 502,
        headers: vec![("content-type", "text/html".into())],
        body: "<html>Bad Gateway</html>".into(),
    };
    let (client, _) = spawn(3600, vec![html]).await;
    let e = client.get_user("a").await.unwrap_err();
    let Error::Protocol(message) = &e else { panic!("{e:?}") };
    assert!(message.contains("502") && message.contains("Bad Gateway"), "{message}");
}
