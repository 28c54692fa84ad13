//! OAuth 2.0 client credentials: the token endpoint (Basic and form
//! authentication, grant types, scopes), bearer checks on the API (missing,
//! garbage, forged and expired tokens), hashed client secrets, and tokens
//! shared by instances over one database and signing key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oneroster::{Clock, FixedClock, SystemClock, Timestamp};
use rollcall_server::{AppState, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use serde_json::Value;

use crate::helpers::{API, CLIENT_ID, CLIENT_SECRET, Reply, TestApp};

const READONLY: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly";
const KEY: &[u8] = crate::helpers::SIGNING_KEY;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("rollcall-auth-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("rollcall.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server of our own: chosen database file, signing key and clock.
struct Instance {
    base: String,
    rollcall: Rollcall,
    _server: rollcall_server::testing::RunningServer,
}

impl Instance {
    async fn start(db: &Path, key: &[u8], clock: Arc<dyn Clock>) -> Self {
        let store = Arc::new(rollcall_store_sqlite::open(db).unwrap());
        let rollcall = Rollcall::new(store, clock, &SigningKey::new(key).unwrap());
        let server = rollcall_server::testing::start(AppState::new(rollcall.clone(), ServerConfig::default())).await;
        Self {
            base: server.base.clone(),
            rollcall,
            _server: server,
        }
    }

    async fn add_test_client(&self) {
        self.rollcall
            .auth
            .put_admin_client(CLIENT_ID, "tests", CLIENT_SECRET)
            .await
            .unwrap();
    }

    async fn token(&self) -> String {
        let r = token_request(&self.base, &[("grant_type", "client_credentials")], true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    async fn get_users(&self, token: &str) -> Reply {
        call(
            reqwest::Client::new()
                .get(format!("{}{API}/users", self.base))
                .bearer_auth(token),
        )
        .await
    }
}

async fn call(req: reqwest::RequestBuilder) -> Reply {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    Reply { status, headers, body }
}

/// POSTs `form` to the token endpoint, with the test client's Basic
/// credentials when `basic`.
async fn token_request(base: &str, form: &[(&str, &str)], basic: bool) -> Reply {
    let mut req = reqwest::Client::new().post(format!("{base}/oauth2/token")).form(form);
    if basic {
        req = req.basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
    }
    call(req).await
}

#[track_caller]
fn assert_oauth_error(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    assert_eq!(r.body["imsx_codeMajor"], "failure", "{}", r.body);
    assert!(r.body.get("access_token").is_none(), "{}", r.body);
}

#[tokio::test]
async fn basic_auth_gets_a_bearer_token() {
    let app = TestApp::spawn().await;
    let r = token_request(&app.base, &[("grant_type", "client_credentials")], true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_u64().is_some_and(|s| s > 0), "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = r.body["access_token"].as_str().unwrap();
    let list = call(app.http.get(app.url("users")).bearer_auth(token)).await;
    assert_eq!(list.status, 200, "{}", list.body);
}

#[tokio::test]
async fn form_credentials_get_a_token() {
    let app = TestApp::spawn().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    let r = token_request(&app.base, &form, false).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
}

#[tokio::test]
async fn bad_client_credentials_are_401_invalid_client() {
    let app = TestApp::spawn().await;
    let wrong_secret = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", "not-the-secret"),
    ];
    let unknown = [
        ("grant_type", "client_credentials"),
        ("client_id", "nobody"),
        ("client_secret", CLIENT_SECRET),
    ];
    for form in [&wrong_secret[..], &unknown[..]] {
        let r = token_request(&app.base, form, false).await;
        r.assert_imsx(401, "unauthorisedrequest");
        assert_oauth_error(&r, 401, "invalid_client");
    }
    let basic = app
        .http
        .post(format!("{}/oauth2/token", app.base))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")]);
    assert_oauth_error(&call(basic).await, 401, "invalid_client");
}

#[tokio::test]
async fn only_the_client_credentials_grant_is_supported() {
    let app = TestApp::spawn().await;
    let missing = token_request(&app.base, &[("scope", READONLY)], true).await;
    assert_oauth_error(&missing, 400, "unsupported_grant_type");
    let password = token_request(&app.base, &[("grant_type", "password")], true).await;
    assert_oauth_error(&password, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn a_scope_subset_is_granted_in_either_prefix() {
    let app = TestApp::spawn().await;
    let v1p1 = "https://purl.imsglobal.org/spec/or/v1p1/scope/roster.readonly";
    for asked in [READONLY, v1p1] {
        let r = token_request(
            &app.base,
            &[("grant_type", "client_credentials"), ("scope", asked)],
            true,
        )
        .await;
        assert_eq!(r.status, 200, "{asked}: {}", r.body);
        assert_eq!(r.body["scope"], READONLY, "{asked}");
    }
    let unknown = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.everything";
    let r = token_request(
        &app.base,
        &[("grant_type", "client_credentials"), ("scope", unknown)],
        true,
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_scope");
}

#[tokio::test]
async fn the_api_requires_a_bearer_token() {
    let app = TestApp::spawn().await;
    let r = call(app.http.get(app.url("users"))).await;
    r.assert_imsx(401, "unauthorisedrequest");
    assert!(
        r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")),
        "{:?}",
        r.headers
    );
    assert!(r.body.get("users").is_none());

    for token in ["garbage", "a.b.c", ""] {
        let r = call(app.http.get(app.url("users")).bearer_auth(token)).await;
        r.assert_imsx(401, "unauthorisedrequest");
        assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
    }
    let basic = call(
        app.http
            .get(app.url("users"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET)),
    )
    .await;
    basic.assert_imsx(401, "unauthorisedrequest");
}

#[tokio::test]
async fn a_token_with_a_tampered_signature_is_rejected() {
    let app = TestApp::spawn().await;
    let (head, signature) = app.token.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = signature.chars().collect();
    sig[0] = if sig[0] == 'A' { 'B' } else { 'A' };
    let forged = format!("{head}.{}", sig.into_iter().collect::<String>());
    let r = call(app.http.get(app.url("users")).bearer_auth(&forged)).await;
    r.assert_imsx(401, "unauthorisedrequest");
    let ok = call(app.http.get(app.url("users")).bearer_auth(&app.token)).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected() {
    let app = TestApp::spawn().await;
    let dir = TempDir::new();
    let other = Instance::start(
        &dir.db(),
        b"some-other-key-also-long-enough-to-sign",
        Arc::new(SystemClock),
    )
    .await;
    other.add_test_client().await;
    let foreign = other.token().await;
    assert_eq!(other.get_users(&foreign).await.status, 200);
    let r = call(app.http.get(app.url("users")).bearer_auth(&foreign)).await;
    r.assert_imsx(401, "unauthorisedrequest");
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let dir = TempDir::new();
    let start = Timestamp::parse("2026-01-05T08:00:00Z").unwrap().instant();
    let clock = Arc::new(FixedClock::new(start));
    let server = Instance::start(&dir.db(), KEY, clock.clone()).await;
    server.add_test_client().await;
    let token = server.token().await;
    assert_eq!(server.get_users(&token).await.status, 200);

    let later = Timestamp::parse("2026-01-05T10:00:00Z").unwrap().instant();
    clock.advance(later - start);
    let r = server.get_users(&token).await;
    r.assert_imsx(401, "unauthorisedrequest");
    let description = r.body["imsx_description"].as_str().unwrap();
    assert!(description.contains("expired"), "{description}");
    let fresh = server.token().await;
    assert_eq!(server.get_users(&fresh).await.status, 200);
}

#[tokio::test]
async fn client_secrets_are_stored_hashed() {
    let app = TestApp::spawn().await;
    let client = app.rollcall.engine.store().client(CLIENT_ID).await.unwrap().unwrap();
    assert!(client.secret_hash.starts_with("$argon2"), "{}", client.secret_hash);
    assert!(!client.secret_hash.contains(CLIENT_SECRET));
}

#[tokio::test]
async fn instances_sharing_database_and_key_accept_each_others_tokens() {
    let dir = TempDir::new();
    let first = Instance::start(&dir.db(), KEY, Arc::new(SystemClock)).await;
    first.add_test_client().await;
    let second = Instance::start(&dir.db(), KEY, Arc::new(SystemClock)).await;
    let token = first.token().await;
    let r = second.get_users(&token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let back = second.token().await;
    assert_eq!(first.get_users(&back).await.status, 200);
}
