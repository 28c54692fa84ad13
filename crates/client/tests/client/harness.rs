//! A real Rollcall server for one test: fresh database, a client holding
//! every scope, and the SDK pointed at it.

use std::path::PathBuf;
use std::sync::Arc;

use oneroster::{Clock, SystemClock};
use rollcall_client::Client;
use rollcall_server::{AppState, Profile, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "sdk-tests";
pub const CLIENT_SECRET: &str = "sdk-test-secret";

pub struct Server {
    pub base: String,
    pub rollcall: Rollcall,
    dir: PathBuf,
    _server: rollcall_server::testing::RunningServer,
}

impl Server {
    pub async fn spawn() -> Self {
        Self::spawn_with(ServerConfig::default(), Arc::new(SystemClock)).await
    }

    pub async fn with_profile(profile: Profile) -> Self {
        Self::spawn_with(
            ServerConfig {
                profile,
                ..ServerConfig::default()
            },
            Arc::new(SystemClock),
        )
        .await
    }

    pub async fn spawn_with(config: ServerConfig, clock: Arc<dyn Clock>) -> Self {
        let dir = std::env::temp_dir().join(format!("rollcall-client-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(rollcall_store_sqlite::open(&dir.join("rollcall.db")).unwrap());
        let rollcall = Rollcall::new(store, clock, &SigningKey::generate());
        rollcall
            .auth
            .put_admin_client(CLIENT_ID, "sdk tests", CLIENT_SECRET)
            .await
            .unwrap();
        let server = rollcall_server::testing::start(AppState::new(rollcall.clone(), config)).await;
        Self {
            base: server.base.clone(),
            rollcall,
            dir,
            _server: server,
        }
    }

    /// The SDK as the all-scopes client.
    pub fn client(&self) -> Client {
        Client::new(&self.base, CLIENT_ID, CLIENT_SECRET).unwrap()
    }

    /// An org, a term, a course and a class, created through the generic operations.
    pub async fn seed_school(&self, client: &Client) {
        let org = json!({"sourcedId": "school-1", "name": "North High", "type": "school", "identifier": "NH-1"});
        client.create("orgs", "org", &org).await.unwrap();
        let term = json!({"sourcedId": "term-1", "title": "Fall", "type": "term",
                          "startDate": "2026-08-15", "endDate": "2026-12-20", "schoolYear": "2027"});
        client
            .create("academicSessions", "academicSession", &term)
            .await
            .unwrap();
        let course = json!({"sourcedId": "course-1", "title": "Algebra", "courseCode": "ALG1",
                            "org": {"sourcedId": "school-1"}});
        client.create("courses", "course", &course).await.unwrap();
        client
            .create("classes", "class", &class("class-1", "Algebra 1A"))
            .await
            .unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub use rollcall_server::testing::fixtures::class;

/// The shared fixture user, with a primary org.
pub fn user(id: &str, given: &str, family: &str) -> Value {
    let mut user = rollcall_server::testing::fixtures::user(id, given, family);
    user["primaryOrg"] = json!({"sourcedId": "school-1"});
    user
}
