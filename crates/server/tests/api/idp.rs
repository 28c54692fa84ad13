//! Tokens from an external identity provider, verified against a JWKS the
//! test itself serves: accepted with the right issuer, audience and scope;
//! refused otherwise (no audience, not valid yet, scopes that are not
//! OneRoster URIs); keys rolled by the issuer are picked up; and tokens
//! naming unknown keys cannot make the server fetch keys more often.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::routing::get;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rollcall_service::idp::IdpConfig;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

/// Two Ed25519 test keys: PKCS#8 private key, public `x` (base64url).
const KEY_1: (&str, &str) = (
    "MC4CAQAwBQYDK2VwBCIEINL8V6CfQoqyZ7tDuXTRBDbqQuHv0RsJrOt1PpjAwuGK",
    "HCzJ8JYiL5utQ9692LitQwVtCeQrbGprBgKUq1IxvX0",
);
const KEY_2: (&str, &str) = (
    "MC4CAQAwBQYDK2VwBCIEICUfz5JOVfSdgVAnzRfTsmCC9CtvtrNQp+TN6ylgSRdi",
    "9UmbAbKMlI40MWrtiMdGRleF0q0OJxC9kxGtFg9t4VA",
);
const ISSUER: &str = "https://idp.example.test/realms/district";
const AUDIENCE: &str = "rollcall";
const READ: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly";

fn jwk(kid: &str, key: (&str, &str)) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": key.1, "kid": kid, "alg": "EdDSA", "use": "sig"})
}

/// Serves `keys` as a JWKS on a random port; returns its URL.
async fn serve_jwks(keys: Arc<Mutex<Value>>) -> String {
    let app = axum::Router::new().route("/jwks", get(move || async move { Json(keys.lock().unwrap().clone()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A JWKS endpoint that is down (503), counting the requests it gets.
async fn serve_failing_jwks(hits: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().route(
        "/jwks",
        get(move || async move {
            hits.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn mint(kid: &str, key: (&str, &str), claims: Value) -> String {
    let der = base64::engine::general_purpose::STANDARD.decode(key.0).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(audience: &str, scope: &str) -> Value {
    let now = now();
    json!({"iss": ISSUER, "aud": audience, "sub": "svc-lms", "scope": scope, "iat": now, "exp": now + 600})
}

/// A server trusting the test issuer, whose key set starts as key 1 alone.
async fn spawn_trusting_key_1() -> (TestApp, Arc<Mutex<Value>>) {
    let keys = Arc::new(Mutex::new(json!({"keys": [jwk("k1", KEY_1)]})));
    let jwks_url = serve_jwks(keys.clone()).await;
    let idp = IdpConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url,
    };
    (TestApp::spawn_with_idp(idp).await, keys)
}

async fn users_with(app: &TestApp, token: &str) -> Reply {
    app.send(app.http.get(app.url("users")).bearer_auth(token)).await
}

#[tokio::test]
async fn external_tokens_are_checked_against_the_issuers_keys() {
    let (app, _) = spawn_trusting_key_1().await;
    let read = READ;

    let good = mint("k1", KEY_1, claims(AUDIENCE, read));
    assert_eq!(users_with(&app, &good).await.status, 200);

    // Scopes still apply; Entra-style `scp` arrays are read too.
    let no_scope = mint("k1", KEY_1, claims(AUDIENCE, "profile"));
    users_with(&app, &no_scope).await.assert_imsx(403, "forbidden");
    let mut scp = claims(AUDIENCE, "");
    scp.as_object_mut().unwrap().remove("scope");
    scp["scp"] = json!(["https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly"]);
    assert_eq!(users_with(&app, &mint("k1", KEY_1, scp)).await.status, 200);

    // Wrong audience, a key the issuer never published, and a forged
    // signature are all refused.
    users_with(&app, &mint("k1", KEY_1, claims("another-api", read)))
        .await
        .assert_imsx(401, "unauthorisedrequest");
    users_with(&app, &mint("k1", KEY_2, claims(AUDIENCE, read)))
        .await
        .assert_imsx(401, "unauthorisedrequest");
    users_with(&app, &mint("k9", KEY_2, claims(AUDIENCE, read)))
        .await
        .assert_imsx(401, "unauthorisedrequest");
    let mut expired = claims(AUDIENCE, read);
    expired["exp"] = json!(1_000_000_000);
    users_with(&app, &mint("k1", KEY_1, expired))
        .await
        .assert_imsx(401, "unauthorisedrequest");

    // Our own tokens keep working beside the external ones.
    assert_eq!(app.get("users").await.status, 200);
}

#[tokio::test]
async fn rolled_keys_are_fetched_when_first_seen() {
    let (app, keys) = spawn_trusting_key_1().await;
    let read = READ;
    assert_eq!(
        users_with(&app, &mint("k1", KEY_1, claims(AUDIENCE, read)))
            .await
            .status,
        200
    );
    // The issuer rolls to k2; the cached set does not have it yet.
    *keys.lock().unwrap() = json!({"keys": [jwk("k1", KEY_1), jwk("k2", KEY_2)]});
    let rolled = mint("k2", KEY_2, claims(AUDIENCE, read));
    // The cache is fresh, so the first unknown-key miss waits for the
    // refetch interval; poll until the refetch has happened.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = users_with(&app, &rolled).await;
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rolled key was never fetched: {}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn tokens_without_audience_or_not_yet_valid_are_refused() {
    let (app, _) = spawn_trusting_key_1().await;
    let mut no_audience = claims(AUDIENCE, READ);
    no_audience.as_object_mut().unwrap().remove("aud");
    users_with(&app, &mint("k1", KEY_1, no_audience))
        .await
        .assert_imsx(401, "unauthorisedrequest");

    let mut later = claims(AUDIENCE, READ);
    later["nbf"] = json!(now() + 3600);
    let r = users_with(&app, &mint("k1", KEY_1, later)).await;
    r.assert_imsx(401, "unauthorisedrequest");
    assert!(
        r.body["imsx_description"].as_str().unwrap().contains("nbf"),
        "{}",
        r.body
    );

    // A few seconds of clock difference with the issuer is tolerated.
    let mut skewed = claims(AUDIENCE, READ);
    skewed["nbf"] = json!(now() + 5);
    assert_eq!(users_with(&app, &mint("k1", KEY_1, skewed)).await.status, 200);
}

#[tokio::test]
async fn only_oneroster_scope_uris_grant_anything() {
    let (app, _) = spawn_trusting_key_1().await;
    // A generic `admin` (or bare OneRoster name) from another system's
    // vocabulary grants nothing here.
    for scope in ["admin", "roster-core.readonly", "roster.readonly admin"] {
        users_with(&app, &mint("k1", KEY_1, claims(AUDIENCE, scope)))
            .await
            .assert_imsx(403, "forbidden");
    }
    let mut entra = claims(AUDIENCE, "");
    entra.as_object_mut().unwrap().remove("scope");
    entra["scp"] = json!(["admin"]);
    users_with(&app, &mint("k1", KEY_1, entra))
        .await
        .assert_imsx(403, "forbidden");
    let admin = "https://purl.imsglobal.org/spec/or/v1p2/scope/admin";
    assert_eq!(
        users_with(&app, &mint("k1", KEY_1, claims(AUDIENCE, admin)))
            .await
            .status,
        200
    );
}

/// An issuer whose key endpoint is down, and tokens naming it with a new
/// key id each: the server fetches at most once for all of them, not once
/// per token.
#[tokio::test]
async fn an_unreachable_jwks_is_fetched_at_most_once_per_interval() {
    let hits = Arc::new(AtomicUsize::new(0));
    let jwks_url = serve_failing_jwks(hits.clone()).await;
    let app = TestApp::spawn_with_idp(IdpConfig {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        jwks_url,
    })
    .await;
    let tokens: Vec<String> = (0..40)
        .map(|i| mint(&format!("junk-{i}"), KEY_2, claims(AUDIENCE, READ)))
        .collect();
    let mut at_once = tokio::task::JoinSet::new();
    for token in tokens.clone() {
        let request = app.http.get(app.url("users")).bearer_auth(token);
        at_once.spawn(async move { request.send().await.unwrap().status().as_u16() });
    }
    while let Some(status) = at_once.join_next().await {
        assert_eq!(status.unwrap(), 401);
    }
    for t in &tokens[..10] {
        users_with(&app, t).await.assert_imsx(401, "unauthorisedrequest");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one fetch for 50 tokens");
    // Our own tokens are unaffected.
    assert_eq!(app.get("users").await.status, 200);
}
