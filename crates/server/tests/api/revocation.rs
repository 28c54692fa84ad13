//! Tokens end with their client: deleting, disabling or rotating a client
//! (on one instance, or from a third process such as `rollcall clients`)
//! revokes its tokens on every instance sharing the database within 5 s,
//! while a client created or rotated elsewhere a moment ago is accepted at
//! once. Each story runs on SQLite and, when reachable, on PostgreSQL, with
//! two real servers over one database.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oneroster::SystemClock;
use rollcall_server::{AppState, RateLimits, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use rollcall_store::Store;
use serde_json::{Value, json};

use crate::helpers::{API, SIGNING_KEY};

/// The promised bound on how long a revoked token keeps working elsewhere.
const REVOKED_WITHIN: Duration = Duration::from_secs(5);

/// One database, opened as many times as instances need.
enum Database {
    Sqlite(PathBuf),
    Postgres(rollcall_store_postgres::testing::TestDb),
}

impl Database {
    fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("rollcall-revocation-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self::Sqlite(dir)
    }

    /// Every backend reachable here: SQLite always, PostgreSQL when up.
    async fn all() -> Vec<Self> {
        let mut all = vec![Self::sqlite()];
        match rollcall_store_postgres::testing::TestDb::create().await {
            Some(db) => all.push(Self::Postgres(db)),
            None => eprintln!("PostgreSQL is not reachable: revocation tested on SQLite only"),
        }
        all
    }

    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(dir) => Arc::new(rollcall_store_sqlite::open(&dir.join("rollcall.db")).unwrap()),
            Self::Postgres(db) => Arc::new(db.open().await),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Self::Sqlite(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A server over its own handle on the shared database.
struct Instance {
    base: String,
    rollcall: Rollcall,
    http: reqwest::Client,
    _server: rollcall_server::testing::RunningServer,
}

impl Instance {
    async fn start(db: &Database) -> Self {
        let rollcall = service(db).await;
        let config = ServerConfig {
            rate_limits: RateLimits {
                token_per_minute: 0,
                token_per_minute_per_address: 0,
                ..RateLimits::default()
            },
            ..ServerConfig::default()
        };
        let server = rollcall_server::testing::start(AppState::new(rollcall.clone(), config)).await;
        Self {
            base: server.base.clone(),
            rollcall,
            http: reqwest::Client::new(),
            _server: server,
        }
    }

    async fn token(&self, id: &str, secret: &str) -> String {
        let r = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "token for {id} from {}", self.base);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The status of `GET …/orgs` with `token`.
    async fn status(&self, token: &str) -> u16 {
        self.http
            .get(format!("{}{API}/orgs", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Polls until `token` is refused; returns how long that took.
    async fn refused_within(&self, token: &str, bound: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let status = self.status(token).await;
            if status == 401 {
                return start.elapsed();
            }
            assert_eq!(status, 200);
            assert!(
                start.elapsed() < bound,
                "{} still accepts a revoked token after {bound:?}",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The service alone over the database: what `rollcall clients` runs.
async fn service(db: &Database) -> Rollcall {
    Rollcall::new(
        db.open().await,
        Arc::new(SystemClock),
        &SigningKey::new(SIGNING_KEY).unwrap(),
    )
}

async fn new_client(rollcall: &Rollcall) -> (String, String) {
    let scopes = ["roster-core.readonly".to_owned()];
    let c = rollcall.auth.create_client("app", &scopes).await.unwrap();
    (c.client_id, c.client_secret)
}

#[tokio::test]
async fn deleting_a_client_revokes_its_tokens_everywhere() {
    for db in Database::all().await {
        let (a, b) = (Instance::start(&db).await, Instance::start(&db).await);
        let (id, secret) = new_client(&a.rollcall).await;
        let token = a.token(&id, &secret).await;
        assert_eq!(
            (a.status(&token).await, b.status(&token).await),
            (200, 200),
            "{}",
            db.name()
        );

        a.rollcall.auth.delete_client(&id).await.unwrap();
        assert_eq!(
            a.status(&token).await,
            401,
            "{}: at once where it was deleted",
            db.name()
        );
        let took = b.refused_within(&token, REVOKED_WITHIN).await;
        eprintln!("{}: refused by the other instance after {took:?}", db.name());
    }
}

#[tokio::test]
async fn rotating_or_disabling_from_the_cli_revokes_tokens_on_every_instance() {
    for db in Database::all().await {
        let (a, b) = (Instance::start(&db).await, Instance::start(&db).await);
        let cli = service(&db).await;
        let (id, secret) = new_client(&a.rollcall).await;
        let old = a.token(&id, &secret).await;
        assert_eq!(b.status(&old).await, 200);

        let rotated = cli.auth.rotate_secret(&id).await.unwrap();
        for instance in [&a, &b] {
            instance.refused_within(&old, REVOKED_WITHIN).await;
        }
        // The new secret's tokens work at once on both, though neither
        // instance made the change.
        let new = b.token(&id, &rotated.client_secret).await;
        assert_eq!(
            (a.status(&new).await, b.status(&new).await),
            (200, 200),
            "{}",
            db.name()
        );

        cli.auth.set_disabled(&id, true).await.unwrap();
        for instance in [&a, &b] {
            instance.refused_within(&new, REVOKED_WITHIN).await;
        }
        // Enabling again issues tokens again; the ones from before stay revoked.
        cli.auth.set_disabled(&id, false).await.unwrap();
        let after = a.token(&id, &rotated.client_secret).await;
        assert_eq!(b.status(&after).await, 200, "{}", db.name());
        assert_eq!(
            (a.status(&new).await, b.status(&new).await),
            (401, 401),
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn a_client_created_elsewhere_a_moment_ago_is_accepted_at_once() {
    for db in Database::all().await {
        let (a, b) = (Instance::start(&db).await, Instance::start(&db).await);
        let (seed, seed_secret) = new_client(&a.rollcall).await;
        // Both instances have just read the clients.
        let seed_token = a.token(&seed, &seed_secret).await;
        assert_eq!((a.status(&seed_token).await, b.status(&seed_token).await), (200, 200));

        let started = Instant::now();
        let (id, secret) = new_client(&a.rollcall).await;
        let token = a.token(&id, &secret).await;
        assert_eq!(b.status(&token).await, 200, "{}", db.name());
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}

#[tokio::test]
async fn re_applying_the_bootstrap_client_keeps_its_tokens() {
    for db in Database::all().await {
        let a = Instance::start(&db).await;
        let all = ["admin".to_owned()];
        a.rollcall
            .auth
            .put_client("ops", "ops", "ops-secret", &all)
            .await
            .unwrap();
        let token = a.token("ops", "ops-secret").await;
        // Another instance starting applies the same bootstrap client.
        let b = Instance::start(&db).await;
        b.rollcall
            .auth
            .put_client("ops", "ops", "ops-secret", &all)
            .await
            .unwrap();
        assert_eq!((a.status(&token).await, b.status(&token).await), (200, 200));
        // A different secret for it is a rotation.
        b.rollcall
            .auth
            .put_client("ops", "ops", "new-secret", &all)
            .await
            .unwrap();
        a.refused_within(&token, REVOKED_WITHIN).await;
        assert_eq!(b.status(&token).await, 401, "{}", db.name());
    }
}

/// Signed with the right key, naming a client that does not exist (or an
/// old-style token without a generation): refused.
#[tokio::test]
async fn a_signed_token_for_an_unknown_client_is_refused() {
    let db = Database::sqlite();
    let a = Instance::start(&db).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let admin = "https://purl.imsglobal.org/spec/or/v1p2/scope/admin";
    let (id, secret) = new_client(&a.rollcall).await;
    let real = a.token(&id, &secret).await;
    let payload: Value = {
        use base64::Engine as _;
        let part = real.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let generation = payload["gen"].clone();
    assert!(generation.is_i64(), "{payload}");
    let key = jsonwebtoken::EncodingKey::from_secret(SIGNING_KEY);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let mint = |claims: Value| jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let ghost = mint(json!({"sub": "never-existed", "scope": admin, "iss": "rollcall",
        "iat": now, "exp": now + 600, "gen": generation}));
    let no_generation = mint(json!({"sub": id, "scope": admin, "iss": "rollcall", "iat": now, "exp": now + 600}));
    let wrong_generation = mint(json!({"sub": id, "scope": admin, "iss": "rollcall",
        "iat": now, "exp": now + 600, "gen": generation.as_i64().unwrap() ^ 1}));
    for token in [ghost, no_generation, wrong_generation] {
        assert_eq!(a.status(&token).await, 401, "{token}");
    }
    assert_eq!(a.status(&real).await, 200);
}
