//! Token refresh and rate limiting against the real server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use oneroster::FixedClock;
use rollcall_client::{Error, ListParams, RetryPolicy};
use rollcall_server::{RateLimits, ServerConfig};

use crate::harness::{CLIENT_ID, CLIENT_SECRET, Server, user};

/// The server's clock jumps past the token's expiry: the server refuses the
/// cached token with 401, and the client fetches a new one and carries on.
#[tokio::test]
async fn an_expired_token_is_replaced_after_a_401() {
    let clock = Arc::new(FixedClock::new(Utc::now()));
    let server = Server::spawn_with(ServerConfig::default(), clock.clone()).await;
    let client = server.client();
    assert!(client.get_all_users(&ListParams::new()).await.is_ok());

    let http = reqwest::Client::new();
    let old: oneroster::wire::TokenResponse = http
        .post(format!("{}/oauth2/token", server.base))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    clock.advance(chrono::Duration::hours(2));
    let refused = http
        .get(format!("{}/ims/oneroster/rostering/v1p2/users", server.base))
        .bearer_auth(&old.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "tokens from before the jump are expired");

    assert!(client.get_all_users(&ListParams::new()).await.is_ok());
    assert!(matches!(client.get_user("ghost").await, Err(Error::NotFound(_))));
}

fn one_per_second() -> ServerConfig {
    ServerConfig {
        rate_limits: RateLimits {
            api_per_second: 1,
            ..RateLimits::OFF
        },
        ..ServerConfig::default()
    }
}

/// One request a second with bursts of two: the client waits out each
/// `Retry-After` and every call, the POSTs included, succeeds.
#[tokio::test]
async fn rate_limited_calls_wait_for_retry_after_and_succeed() {
    let server = Server::spawn_with(one_per_second(), Arc::new(oneroster::SystemClock)).await;
    let client = server.client();
    let started = Instant::now();
    let org =
        serde_json::json!({"sourcedId": "school-1", "name": "North High", "type": "school", "identifier": "NH-1"});
    client.create("orgs", "org", &org).await.unwrap();
    for i in 0..3 {
        client.create_user(&user(&format!("u{i}"), "Ann", "Lee")).await.unwrap();
    }
    let page = client.get_all_users(&ListParams::new()).await.unwrap();
    assert_eq!(page.total, Some(3));
    // Five calls at one a second after a burst of two take at least ~3 s.
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

/// Without retries, the 429 reaches the caller with the server's wait.
#[tokio::test]
async fn without_retries_the_429_carries_retry_after() {
    let server = Server::spawn_with(one_per_second(), Arc::new(oneroster::SystemClock)).await;
    let client = server.client().with_retry(RetryPolicy::none());
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(client.get_all_users(&ListParams::new()).await);
    }
    let limited = outcomes
        .into_iter()
        .find_map(Result::err)
        .expect("a 429 within four calls");
    let Error::TooManyRequests { info, retry_after } = &limited else {
        panic!("{limited:?}")
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(1)));
    assert!(info.description.contains("too many requests"), "{}", info.description);

    // A policy that will not wait that long hands the 429 over at once.
    let impatient = server.client().with_retry(RetryPolicy {
        max_wait: Duration::from_millis(100),
        ..RetryPolicy::default()
    });
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        outcomes.push(impatient.get_all_users(&ListParams::new()).await);
    }
    assert!(outcomes.iter().any(|o| matches!(o, Err(Error::TooManyRequests { .. }))));
}
