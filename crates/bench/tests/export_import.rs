//! The generated district (`rollcall-bench generate`, with its soft-deleted
//! users and their enrollments) exports to a package that imports into an
//! empty database without a problem, and every record reads back identical
//! through the REST API.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oneroster::{ResourceDecl, SystemClock, resource};
use rollcall_bench::datagen::{self, Shape};
use rollcall_csv::{ImportOptions, Package};
use rollcall_server::testing::RunningServer;
use rollcall_server::{AppState, RateLimits, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use rollcall_store::Store;
use serde_json::Value;

const API: &str = "/ims/oneroster/rostering/v1p2";

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rollcall-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn generate(shape: Shape, store: &dyn Store) {
    let mut by_decl: Vec<(&'static ResourceDecl, Vec<String>)> = Vec::new();
    let users = (0..shape.users).flat_map(|i| datagen::user_records(shape, i));
    for (decl, doc) in datagen::structure(shape).into_iter().chain(users) {
        match by_decl.iter_mut().find(|(d, _)| *d == decl) {
            Some((_, docs)) => docs.push(doc.to_string()),
            None => by_decl.push((decl, vec![doc.to_string()])),
        }
    }
    for (decl, docs) in by_decl {
        store
            .insert_bulk(decl, Box::new(std::iter::once(Ok(docs))))
            .await
            .unwrap();
    }
}

/// A server over `store`, and a token for it.
async fn serve(store: Arc<dyn Store>) -> (RunningServer, String) {
    let rollcall = Rollcall::new(store, Arc::new(SystemClock), &SigningKey::generate());
    rollcall
        .auth
        .put_admin_client("admin", "tests", "secret")
        .await
        .unwrap();
    let config = ServerConfig {
        rate_limits: RateLimits::OFF,
        ..ServerConfig::default()
    };
    let server = rollcall_server::testing::start(AppState::new(rollcall, config)).await;
    let reply: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", server.base))
        .basic_auth("admin", Some("secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = reply["access_token"].as_str().unwrap().to_owned();
    (server, token)
}

/// Every record of every collection, as the API lists them.
async fn read_all(base: &str, token: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for decl in resource::all() {
        let mut offset = 0;
        loop {
            let url = format!("{base}{API}/{}?limit=3000&offset={offset}&sort=sourcedId", decl.path());
            let reply = http.get(url).bearer_auth(token).send().await.unwrap();
            if reply.status() == 404 {
                break;
            }
            assert_eq!(reply.status(), 200, "{}", decl.collection);
            // References carry the server's address in their href.
            let text = reply.text().await.unwrap().replace(base, "BASE");
            let body: Value = serde_json::from_str(&text).unwrap();
            let page = body[decl.collection].as_array().cloned().unwrap_or_default();
            offset += page.len();
            let done = page.len() < 3000;
            out.extend(page);
            if done {
                break;
            }
        }
    }
    out
}

fn open(dir: &Path, name: &str) -> Arc<dyn Store> {
    Arc::new(rollcall_store_sqlite::open(&dir.join(name)).unwrap())
}

#[tokio::test]
async fn a_generated_district_exports_and_imports_back_identical() {
    let tmp = TempDir::new("export-import");
    let shape = Shape { users: 600 };
    let original = open(&tmp.0, "a.db");
    generate(shape, original.as_ref()).await;

    let package = tmp.0.join("export.zip");
    rollcall_csv::export(original.as_ref(), &package).await.unwrap();
    let copy = open(&tmp.0, "b.db");
    let options = ImportOptions::new(chrono::Utc::now());
    let imported = rollcall_csv::import(copy.as_ref(), Package::open(&package).unwrap(), &options).await;
    let report = imported.unwrap_or_else(|e| panic!("the export does not import: {e}"));
    assert_eq!(report.resources["users"].created, shape.users);

    let ((a, token_a), (b, token_b)) = (serve(original).await, serve(copy).await);
    let (before, after) = (read_all(&a.base, &token_a).await, read_all(&b.base, &token_b).await);
    let deleted = before.iter().filter(|r| r["status"] == "tobedeleted").count();
    assert!(deleted > 0, "the district has soft-deleted users");
    assert_eq!(before.len(), after.len());
    for (x, y) in before.iter().zip(&after) {
        assert_eq!(x, y);
    }
}
