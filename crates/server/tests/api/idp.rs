//! Tokens from an external identity provider, verified against a JWKS the
//! test itself serves: accepted with the right issuer, audience and scope;
//! refused otherwise; and keys rolled by the issuer are picked up.

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

fn mint(kid: &str, key: (&str, &str), claims: Value) -> String {
    let der = base64::engine::general_purpose::STANDARD.decode(key.0).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap()
}

fn claims(audience: &str, scope: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
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
    let read = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly";

    let good = mint("k1", KEY_1, claims(AUDIENCE, read));
    assert_eq!(users_with(&app, &good).await.status, 200);

    // Scopes still apply; Entra-style `scp` arrays are read too.
    let no_scope = mint("k1", KEY_1, claims(AUDIENCE, "profile"));
    users_with(&app, &no_scope).await.assert_imsx(403, "forbidden");
    let mut scp = claims(AUDIENCE, "");
    scp.as_object_mut().unwrap().remove("scope");
    scp["scp"] = json!(["roster.readonly"]);
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
    let read = "roster-core.readonly";
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
