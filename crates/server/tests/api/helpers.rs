//! `TestApp`: a real server on 127.0.0.1:0 over a fresh database, with a
//! seeded OAuth client and typed request helpers.
//!
//! The backend is SQLite (a file in a temporary folder) unless
//! `ROLLCALL_TEST_BACKEND=postgres`, which gives every test its own new
//! PostgreSQL database (`rollcall_store_postgres::testing`), dropped after.

use std::path::PathBuf;
use std::sync::Arc;

use oneroster::SystemClock;
use rollcall_server::{AppState, ConnectionLimits, Profile, RateLimits, ServerConfig};
use rollcall_service::idp::IdpConfig;
use rollcall_service::{Rollcall, SigningKey};
use rollcall_store::Store;
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret-value";
pub const API: &str = "/ims/oneroster/rostering/v1p2";
pub const SIGNING_KEY: &[u8] = b"test-signing-key-for-rollcall-tests";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub rollcall: Rollcall,
    _db: TestDatabase,
    _server: rollcall_server::testing::RunningServer,
}

/// Whatever must outlive the server: the temporary folder or database.
enum TestDatabase {
    Sqlite(PathBuf),
    /// Held for its `Drop`, which drops the database.
    Postgres {
        _db: rollcall_store_postgres::testing::TestDb,
    },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Self::Sqlite(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh store on the backend the environment selects.
async fn fresh_store() -> (Arc<dyn Store>, TestDatabase) {
    if std::env::var("ROLLCALL_TEST_BACKEND").as_deref() == Ok("postgres") {
        let db = rollcall_store_postgres::testing::TestDb::create()
            .await
            .expect("ROLLCALL_TEST_BACKEND=postgres asks for PostgreSQL, but ROLLCALL_SKIP_POSTGRES is set");
        let store = Arc::new(db.open().await);
        return (store, TestDatabase::Postgres { _db: db });
    }
    let dir = std::env::temp_dir().join(format!("rollcall-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(rollcall_store_sqlite::open(&dir.join("rollcall.db")).unwrap());
    (store, TestDatabase::Sqlite(dir))
}

/// A response with its status, headers and JSON body (Null when empty).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The sourcedIds of a list answer's records under `wrapper`, in order.
    #[track_caller]
    pub fn ids(&self, wrapper: &str) -> Vec<String> {
        let items = self.body[wrapper]
            .as_array()
            .unwrap_or_else(|| panic!("no '{wrapper}' in {}", self.body));
        items
            .iter()
            .map(|x| x["sourcedId"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts an imsx error body with the given status and code minor.
    #[track_caller]
    pub fn assert_imsx(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["imsx_codeMajor"], "failure", "body: {}", self.body);
        assert_eq!(self.body["imsx_severity"], "error");
        assert_eq!(
            self.body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldName"],
            "TargetEndSystem"
        );
        assert_eq!(
            self.body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"], code,
            "body: {}",
            self.body
        );
        assert!(self.body["imsx_description"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Profile::Timeback).await
    }

    pub async fn spawn_with(profile: Profile) -> Self {
        Self::spawn_config(ServerConfig {
            profile,
            body_limit: 64 * 1024,
            // Tests fetch many tokens; the limits get their own tests.
            rate_limits: RateLimits {
                api_per_second: 1000,
                token_per_minute: 1000,
                ..RateLimits::OFF
            },
            ..ServerConfig::default()
        })
        .await
    }

    pub async fn spawn_config(config: ServerConfig) -> Self {
        Self::spawn_full(config, None, ConnectionLimits::default()).await
    }

    /// A server within the given connection limits.
    pub async fn spawn_limited(limits: ConnectionLimits) -> Self {
        Self::spawn_full(ServerConfig::default(), None, limits).await
    }

    /// A server that also trusts tokens from an external identity provider.
    pub async fn spawn_with_idp(idp: IdpConfig) -> Self {
        Self::spawn_full(ServerConfig::default(), Some(idp), ConnectionLimits::default()).await
    }

    async fn spawn_full(config: ServerConfig, idp: Option<IdpConfig>, limits: ConnectionLimits) -> Self {
        let (store, db) = fresh_store().await;
        let key = SigningKey::new(SIGNING_KEY).unwrap();
        let mut rollcall = Rollcall::new(store, Arc::new(SystemClock), &key);
        if let Some(idp) = idp {
            rollcall.auth = rollcall.auth.with_external_idp(idp);
        }
        rollcall
            .auth
            .put_admin_client(CLIENT_ID, "tests", CLIENT_SECRET)
            .await
            .unwrap();
        let server = rollcall_server::testing::start_with(AppState::new(rollcall.clone(), config), limits).await;
        let mut app = Self {
            base: server.base.clone(),
            http: reqwest::Client::new(),
            token: String::new(),
            rollcall,
            _db: db,
            _server: server,
        };
        app.token = app.fetch_token(None).await;
        app
    }

    /// A new OAuth client with `scopes`, and a token for it from the real
    /// token endpoint.
    pub async fn client_token(&self, name: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let client = self.rollcall.auth.create_client(name, &scopes).await.unwrap();
        let request = self
            .http
            .post(self.url("/oauth2/token"))
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .form(&[("grant_type", "client_credentials")]);
        self.send(request).await.body["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A token from the real token endpoint (HTTP Basic).
    pub async fn fetch_token(&self, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            format!("{}{API}/{path}", self.base)
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply { status, headers, body }
    }

    /// `path` relative to the OneRoster base (`users?limit=1`) or absolute (`/healthz`).
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.url(path)).bearer_auth(&self.token).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.put(self.url(path)).bearer_auth(&self.token).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.patch(self.url(path)).bearer_auth(&self.token).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(self.url(path)).bearer_auth(&self.token))
            .await
    }

    /// Creates a record through the API and returns its sourcedId.
    pub async fn create(&self, collection: &str, wrapper: &str, record: Value) -> String {
        let r = self.post(collection, json!({ wrapper: record })).await;
        assert_eq!(r.status, 201, "creating {collection}: {}", r.body);
        r.body["sourcedIdPairs"]["allocatedSourcedId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The org `school-1`, which the `user`, `class` and `enrollment`
    /// fixtures refer to (writes refuse references to nothing).
    pub async fn add_school(&self) {
        self.create("orgs", "org", org("school-1", "North High")).await;
    }

    /// A small district: an org, a term, a course, a class, and users.
    pub async fn seed_school(&self) {
        self.add_school().await;
        self.create(
            "academicSessions",
            "academicSession",
            json!({"sourcedId": "term-1", "title": "Fall",
            "type": "term", "startDate": "2026-08-15", "endDate": "2026-12-20", "schoolYear": "2027"}),
        )
        .await;
        self.create(
            "courses",
            "course",
            json!({"sourcedId": "course-1", "title": "Algebra", "courseCode": "ALG1",
            "org": {"sourcedId": "school-1"}}),
        )
        .await;
        self.create("classes", "class", class("class-1", "Algebra 1A")).await;
    }
}

pub use rollcall_server::testing::fixtures::{class, enrollment, org, user};
