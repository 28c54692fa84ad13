//! What an operator watches: `/readyz` for load balancers, `/metrics` for
//! Prometheus.

use std::sync::Arc;
use std::time::Duration;

use oneroster::SystemClock;
use rollcall_server::{AppState, RateLimits, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use rollcall_store::Store;
use serde_json::json;

use crate::helpers::{API, TestApp, user};
use crate::import::{post as post_import, start_upload, zip_case};

/// The value of the sample `name{labels}` in `text`, when present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn readyz_answers_ready_while_the_database_does() {
    let app = TestApp::spawn().await;
    let r = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"status": "ready"})));
}

/// A server over `store` whose state the test keeps, to drain it.
async fn serve(store: Arc<dyn Store>) -> (AppState, rollcall_server::testing::RunningServer) {
    let key = SigningKey::new(crate::helpers::SIGNING_KEY).unwrap();
    let rollcall = Rollcall::new(store, Arc::new(SystemClock), &key);
    let state = AppState::new(rollcall, ServerConfig::default());
    let server = rollcall_server::testing::start(state.clone()).await;
    (state, server)
}

async fn readyz(base: &str) -> crate::helpers::Reply {
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap();
    crate::helpers::Reply { status, headers, body }
}

#[tokio::test]
async fn readyz_is_503_once_the_instance_drains() {
    let dir = std::env::temp_dir().join(format!("rollcall-ready-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(rollcall_store_sqlite::open(&dir.join("db")).unwrap());
    let (state, server) = serve(store).await;
    assert_eq!(readyz(&server.base).await.status, 200);
    state.readiness.drain();
    let r = readyz(&server.base).await;
    r.assert_imsx(503, "server_busy");
    assert!(r.body["imsx_description"].as_str().unwrap().contains("shutting down"));
    let health = reqwest::get(format!("{}/healthz", server.base)).await.unwrap();
    assert_eq!(health.status(), 200, "a draining instance is still alive");
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL's database dropped under a running server (connections
/// terminated, reconnecting fails): not ready, with the reason.
#[tokio::test]
async fn readyz_is_503_when_the_postgres_database_is_gone() {
    let Some(db) = rollcall_store_postgres::testing::TestDb::create().await else {
        return;
    };
    let (_state, server) = serve(Arc::new(db.open().await)).await;
    assert_eq!(readyz(&server.base).await.status, 200);
    drop(db);
    let mut r = readyz(&server.base).await;
    for _ in 0..50 {
        if r.status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        r = readyz(&server.base).await;
    }
    r.assert_imsx(503, "server_busy");
    let reason = r.body["imsx_description"].as_str().unwrap();
    assert!(reason.contains("database unavailable"), "{reason}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("users", "user", user("private-id-7", "Ann", "Lee")).await;
    for _ in 0..3 {
        assert_eq!(app.get("users/private-id-7").await.status, 200);
    }
    assert_eq!(app.get("users/nobody-here").await.status, 404);
    assert_eq!(app.get("users?filter=familyName%3D%27Lee%27").await.status, 200);
    assert_eq!(app.get("/no/such/route-42").await.status, 404);
    let text = scrape(&app).await;

    let item = format!("route=\"{API}/users/{{sourcedId}}\"");
    let count = |labels: &str| sample(&text, &format!("rollcall_http_requests_total{{{labels}}}"));
    assert_eq!(
        count(&format!("method=\"GET\",{item},status=\"200\"")),
        Some(3.0),
        "{text}"
    );
    assert_eq!(count(&format!("method=\"GET\",{item},status=\"404\"")), Some(1.0));
    assert_eq!(
        count(&format!("method=\"POST\",route=\"{API}/users\",status=\"201\"")),
        Some(1.0)
    );
    assert_eq!(
        count(&format!("method=\"GET\",route=\"{API}/users\",status=\"200\"")),
        Some(1.0)
    );
    assert_eq!(count("method=\"GET\",route=\"unmatched\",status=\"404\""), Some(1.0));
    for raw in ["private-id-7", "nobody-here", "route-42", "familyName", "Lee"] {
        assert!(
            !text.contains(raw),
            "a raw path or query reached a label ({raw}):\n{text}"
        );
    }
    let latency = format!("rollcall_http_request_duration_seconds_bucket{{method=\"GET\",{item},status=\"200\"");
    let buckets: Vec<&str> = text.lines().filter(|l| l.starts_with(&latency)).collect();
    assert!(buckets.len() > 10, "{text}");
    assert!(buckets.last().unwrap().contains("le=\"+Inf\"} 3"), "{buckets:?}");
    assert!(text.contains("# TYPE rollcall_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn metrics_report_the_store_queues_and_commit_groups() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.get("users/anyone").await;
    let text = scrape(&app).await;
    let waited = |queue: &str| {
        sample(
            &text,
            &format!("rollcall_store_wait_seconds_count{{queue=\"{queue}\"}}"),
        )
    };
    if std::env::var("ROLLCALL_TEST_BACKEND").as_deref() == Ok("postgres") {
        assert!(waited("pool").is_some_and(|n| n > 0.0), "{text}");
        assert_eq!(sample(&text, "rollcall_store_connections_max"), Some(4.0), "{text}");
    } else {
        assert!(waited("lookup").is_some_and(|n| n > 0.0), "{text}");
        assert!(waited("writer").is_some_and(|n| n > 0.0), "{text}");
        let groups = sample(&text, "rollcall_store_commit_group_writes_count").unwrap();
        let writes = sample(&text, "rollcall_store_commit_group_writes_sum").unwrap();
        assert!(groups >= 1.0 && writes >= 4.0, "the seeded records: {text}");
    }
}

#[tokio::test]
async fn metrics_count_rate_limit_rejections() {
    let app = TestApp::spawn_config(ServerConfig {
        rate_limits: RateLimits {
            api_per_second: 1,
            ..RateLimits::OFF
        },
        ..ServerConfig::default()
    })
    .await;
    let mut refused = 0;
    for _ in 0..6 {
        let r = app.get("users").await;
        if r.status == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "the limit never refused a request");
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "rollcall_http_rejections_total{reason=\"rate_limited\"}"),
        Some(f64::from(refused)),
        "{text}"
    );
    let route = format!("method=\"GET\",route=\"{API}/users\",status=\"429\"");
    assert_eq!(
        sample(&text, &format!("rollcall_http_requests_total{{{route}}}")),
        Some(f64::from(refused))
    );
}

#[tokio::test]
async fn metrics_count_busy_rejections_and_import_jobs() {
    let app = TestApp::spawn().await;
    let admin = app.fetch_token(Some("admin")).await;
    let upload = start_upload(&app, &admin, 10 << 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = post_import(&app, &admin, "?dryRun=true", zip_case("V01"), "application/zip").await;
    busy.assert_imsx(503, "server_busy");
    drop(upload);
    let mut done = busy;
    for _ in 0..50 {
        done = post_import(&app, &admin, "", zip_case("V01"), "application/zip").await;
        if done.status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done.status, 200, "{}", done.body);
    let text = scrape(&app).await;
    let busy = sample(&text, "rollcall_http_rejections_total{reason=\"busy\"}").unwrap();
    let refused = sample(
        &text,
        "rollcall_http_requests_total{method=\"POST\",route=\"/admin/import\",status=\"503\"}",
    );
    assert!(busy >= 1.0 && refused == Some(busy), "{text}");
    assert!(
        sample(&text, "rollcall_import_jobs_total{outcome=\"succeeded\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "rollcall_import_jobs_running"), Some(0.0), "{text}");
}

#[tokio::test]
async fn a_metrics_token_closes_metrics_to_everyone_else() {
    let app = TestApp::spawn_config(ServerConfig {
        metrics_token: Some("scrape-secret-1".into()),
        ..ServerConfig::default()
    })
    .await;
    let url = app.url("/metrics");
    let bare = app.send(app.http.get(&url)).await;
    bare.assert_imsx(401, "unauthorisedrequest");
    let wrong = app.send(app.http.get(&url).bearer_auth("scrape-secret-2")).await;
    wrong.assert_imsx(401, "unauthorisedrequest");
    let api_token = app.send(app.http.get(&url).bearer_auth(&app.token)).await;
    assert_eq!(api_token.status, 401, "an API token is not the metrics token");
    let r = app.http.get(&url).bearer_auth("scrape-secret-1").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("rollcall_http_requests_total"));
}
