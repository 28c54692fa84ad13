//! Webhooks against receivers the tests start on loopback: signed
//! deliveries in feed order, retries through a receiver that fails and
//! recovers, `failed` and resume, a restart that loses nothing, and the
//! admin API's refusals.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rollcall_server::testing::fixtures::user;
use rollcall_service::webhooks::sign;
use rollcall_service::webhooks::{DeliveryConfig, Worker, WorkerHandle};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// What a receiver was sent, and how it answers.
#[derive(Default)]
struct Inbox {
    /// Every request, accepted or not: (headers, body).
    requests: Vec<(HeaderMap, Value, Bytes)>,
    /// Requests still to refuse with a 500 (`u32::MAX`: all of them).
    refuse: u32,
}

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Inbox>>);

impl Receiver {
    /// Listens on loopback; the URL to subscribe.
    async fn start(refuse: u32) -> (Self, String) {
        let receiver = Self::default();
        receiver.0.lock().unwrap().refuse = refuse;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn set_refuse(&self, refuse: u32) {
        self.0.lock().unwrap().refuse = refuse;
    }

    /// The (event, sourcedId) of every delivery the receiver accepted, in order.
    fn accepted(&self) -> Vec<(String, String)> {
        let inbox = self.0.lock().unwrap();
        inbox
            .requests
            .iter()
            .filter(|(h, _, _)| h.get("x-accepted").is_some())
            .map(|(_, body, _)| {
                (
                    body["event"].as_str().unwrap().to_owned(),
                    body["change"]["sourcedId"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn requests(&self) -> usize {
        self.0.lock().unwrap().requests.len()
    }
}

async fn receive(State(receiver): State<Receiver>, mut headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut inbox = receiver.0.lock().unwrap();
    let refused = inbox.refuse > 0;
    if refused && inbox.refuse != u32::MAX {
        inbox.refuse -= 1;
    }
    if !refused {
        headers.insert("x-accepted", "1".parse().unwrap());
    }
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inbox.requests.push((headers, json, body));
    if refused {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

fn fast() -> DeliveryConfig {
    DeliveryConfig {
        poll_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(40),
        backoff_cap: Duration::from_millis(200),
        max_attempts: 4,
        lease: Duration::from_secs(1),
        batch: 2,
    }
}

fn worker(app: &TestApp, config: DeliveryConfig) -> WorkerHandle {
    Worker::new(app.rollcall.webhooks.clone(), config).unwrap().spawn()
}

/// Subscribes `url`; returns the id and the secret.
async fn subscribe(app: &TestApp, body: Value) -> (String, String) {
    let r = app.post("/admin/webhooks", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let w = &r.body["webhook"];
    (
        w["id"].as_str().unwrap().to_owned(),
        w["secret"].as_str().unwrap().to_owned(),
    )
}

async fn admin_get(app: &TestApp, path: &str) -> crate::helpers::Reply {
    app.get(&format!("/admin/webhooks{path}")).await
}

/// Waits (up to ten seconds) until `done` holds.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..500 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

fn ids(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

async fn create_users(app: &TestApp, ids: &[String]) {
    for id in ids {
        app.create("users", "user", user(id, "Ann", "Lee")).await;
    }
}

fn created(ids: &[String]) -> Vec<(String, String)> {
    ids.iter().map(|id| ("users.create".to_owned(), id.clone())).collect()
}

#[tokio::test]
async fn deliveries_are_signed_filtered_and_in_feed_order() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(0).await;
    let (id, secret) = subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let (annie, only_ann) = Receiver::start(0).await;
    subscribe(
        &app,
        json!({"url": only_ann, "resources": ["users"], "operations": ["update"],
        "filter": "givenName='Annie'"}),
    )
    .await;
    let _worker = worker(&app, fast());

    create_users(&app, &ids(3, "u")).await;
    app.create(
        "classes",
        "class",
        rollcall_server::testing::fixtures::class("c1", "Maths"),
    )
    .await;
    let r = app.patch("users/u1", json!({"user": {"givenName": "Annie"}})).await;
    assert!(r.status < 300, "{}", r.body);
    let r = app.patch("users/u2", json!({"user": {"givenName": "Bo"}})).await;
    assert!(r.status < 300, "{}", r.body);

    let mut expected = created(&ids(3, "u"));
    expected.extend([
        ("users.update".to_owned(), "u1".to_owned()),
        ("users.update".to_owned(), "u2".to_owned()),
    ]);
    until("five deliveries", async || receiver.accepted().len() >= 5).await;
    assert_eq!(receiver.accepted(), expected, "users only, in the order written");
    until("the filtered delivery", async || !annie.accepted().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        annie.accepted(),
        [("users.update".to_owned(), "u1".to_owned())],
        "Bo's update does not match"
    );

    let inbox = receiver.0.lock().unwrap();
    let mut deliveries = Vec::new();
    for (headers, body, raw) in &inbox.requests {
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        assert!(
            sign::verify(&secret, &header("rollcall-signature"), raw),
            "signed with the secret"
        );
        assert!(!sign::verify("whsec_wrong", &header("rollcall-signature"), raw));
        assert_eq!(header("rollcall-event"), body["event"]);
        assert_eq!(header("rollcall-delivery"), body["id"]);
        assert!(header("rollcall-delivery").starts_with(&id));
        deliveries.push(header("rollcall-delivery"));
    }
    assert_eq!(
        inbox.requests[0].1["change"]["record"]["sourcedId"], "u0",
        "a create carries its record"
    );
    assert!(
        inbox.requests[3].1["change"]["fields"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    deliveries.dedup();
    assert_eq!(deliveries.len(), 5, "one delivery id per change");
}

#[tokio::test]
async fn a_receiver_that_fails_and_recovers_gets_everything_in_order() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(3).await;
    let (id, _) = subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let _worker = worker(
        &app,
        DeliveryConfig {
            max_attempts: 10,
            backoff_base: Duration::from_millis(150),
            ..fast()
        },
    );
    create_users(&app, &ids(4, "r")).await;

    until("a retry shows", async || {
        admin_get(&app, &format!("/{id}")).await.body["webhook"]["status"] == "retrying"
    })
    .await;
    let shown = admin_get(&app, &format!("/{id}")).await.body["webhook"].clone();
    assert!(shown["attempts"].as_i64().unwrap() >= 1, "{shown}");
    assert!(shown["lastError"].as_str().unwrap().contains("500"), "{shown}");
    assert!(shown["nextAttemptAt"].is_string(), "{shown}");

    until("everything arrives", async || receiver.accepted().len() >= 4).await;
    assert_eq!(receiver.accepted(), created(&ids(4, "r")), "no loss, no reordering");
    assert!(receiver.requests() >= 4 + 3);
    until("the state settles", async || {
        admin_get(&app, &format!("/{id}")).await.body["webhook"]["status"] == "active"
    })
    .await;
    let shown = admin_get(&app, &format!("/{id}")).await.body["webhook"].clone();
    assert_eq!(shown["attempts"], 0);
    assert!(
        shown["lastDeliveryAt"].is_string() && shown["deliveredUpTo"].is_string(),
        "{shown}"
    );
}

#[tokio::test]
async fn a_dead_receiver_fails_visibly_and_resumes_where_it_stopped() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(u32::MAX).await;
    let (id, _) = subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let _worker = worker(&app, fast());
    create_users(&app, &ids(2, "d")).await;

    until("it fails", async || {
        admin_get(&app, &format!("/{id}")).await.body["webhook"]["status"] == "failed"
    })
    .await;
    let listed = admin_get(&app, "").await;
    let shown = &listed.body["webhooks"][0];
    assert_eq!(shown["status"], "failed");
    assert_eq!(shown["attempts"], 4, "max_attempts, then stopped");
    assert!(
        shown["lastError"]
            .as_str()
            .unwrap()
            .contains("500 Internal Server Error"),
        "{shown}"
    );
    assert!(shown.get("secret").is_none(), "never shown again");
    let tried = receiver.requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests(), tried, "a failed subscription is left alone");

    receiver.set_refuse(0);
    let resumed = app.post(&format!("/admin/webhooks/{id}/resume"), Value::Null).await;
    assert_eq!(resumed.body["webhook"]["status"], "active", "{}", resumed.body);
    until("both arrive", async || receiver.accepted().len() >= 2).await;
    assert_eq!(receiver.accepted(), created(&ids(2, "d")));
}

/// Retention that prunes past a paused subscription's position fails it,
/// saying how to recover; resuming restarts it at the feed's end.
#[tokio::test]
async fn a_subscription_behind_retention_fails_and_resumes_at_the_feeds_end() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(0).await;
    let (id, _) = subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let paused = app.post(&format!("/admin/webhooks/{id}/pause"), Value::Null).await;
    assert_eq!(paused.body["webhook"]["status"], "paused", "{}", paused.body);
    create_users(&app, &ids(2, "old")).await;
    // On PostgreSQL a change is in the feed (and prunable) once every
    // transaction older than it has ended.
    until("the old changes are in the feed", async || {
        let feed = app.get("changes?limit=1000").await;
        feed.body["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["sourcedId"] == "old1"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let removed = app.rollcall.engine.prune_changes(Duration::ZERO).await.unwrap();
    assert!(removed >= 2, "the old changes are pruned: {removed}");

    let resumed = app.post(&format!("/admin/webhooks/{id}/resume"), Value::Null).await;
    assert_eq!(resumed.body["webhook"]["status"], "active", "{}", resumed.body);
    let _worker = worker(&app, fast());
    create_users(&app, &ids(1, "new")).await;
    until("the new user arrives", async || !receiver.accepted().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.accepted(),
        created(&ids(1, "new")),
        "what was pruned is not sent"
    );
    let shown = admin_get(&app, &format!("/{id}")).await;
    assert_eq!(shown.body["webhook"]["status"], "active", "{}", shown.body);
}

#[tokio::test]
async fn deliveries_carry_on_after_a_restart_without_loss() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(0).await;
    subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let first = worker(&app, fast());
    create_users(&app, &ids(3, "a")).await;
    until("the first three", async || receiver.accepted().len() >= 3).await;
    drop(first);

    create_users(&app, &ids(3, "b")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.accepted().len(), 3, "nothing is delivered while stopped");
    // A new instance: its own lease holder, the same database.
    let _second = worker(&app, fast());
    until("the rest", async || receiver.accepted().len() >= 6).await;
    let mut expected = created(&ids(3, "a"));
    expected.extend(created(&ids(3, "b")));
    assert_eq!(receiver.accepted(), expected);
}

#[tokio::test]
async fn two_instances_deliver_each_change_once() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(0).await;
    subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let _one = worker(&app, fast());
    let _two = worker(&app, fast());
    for id in ids(8, "t") {
        create_users(&app, &[id]).await;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    until("all eight", async || receiver.accepted().len() >= 8).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.accepted(), created(&ids(8, "t")), "each once, in order");
}

#[tokio::test]
async fn a_rotated_secret_signs_the_next_deliveries() {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    let (receiver, url) = Receiver::start(0).await;
    let (id, old) = subscribe(&app, json!({"url": url, "resources": ["users"]})).await;
    let r = app.post(&format!("/admin/webhooks/{id}/secret"), Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let _worker = worker(&app, fast());
    create_users(&app, &ids(1, "s")).await;
    until("the delivery", async || receiver.accepted().len() == 1).await;
    let inbox = receiver.0.lock().unwrap();
    let (headers, _, raw) = &inbox.requests[0];
    let signature = headers.get("rollcall-signature").unwrap().to_str().unwrap();
    assert!(sign::verify(&new, signature, raw) && !sign::verify(&old, signature, raw));
}

#[tokio::test]
async fn the_admin_api_refuses_what_it_cannot_do_and_changes_nothing() {
    let app = TestApp::spawn().await;
    for (body, says) in [
        (json!({"url": "ftp://example.org/x"}), "http:// or https://"),
        (json!({"url": "not a url"}), "is not a URL"),
        (json!({}), "url is required"),
        (
            json!({"url": "http://x/", "resources": ["pupils"]}),
            "unknown resource type 'pupils'",
        ),
        (
            json!({"url": "http://x/", "operations": ["upsert"]}),
            "unknown operation",
        ),
        (
            json!({"url": "http://x/", "filter": "status='active'"}),
            "exactly one resource type",
        ),
        (
            json!({"url": "http://x/", "resources": ["users"], "filter": "shoeSize='9'"}),
            "unknown filter field",
        ),
        (json!({"url": "http://x/", "resources": "users"}), "array of strings"),
        (json!({"url": "http://x/", "secret": "mine"}), "unknown field 'secret'"),
    ] {
        let r = app.post("/admin/webhooks", body.clone()).await;
        r.assert_imsx(400, "invaliddata");
        assert!(
            r.body["imsx_description"].as_str().unwrap().contains(says),
            "{body}: {}",
            r.body
        );
    }
    assert_eq!(admin_get(&app, "").await.body, json!({"webhooks": []}));
    admin_get(&app, "/nope").await.assert_imsx(404, "unknownobject");
    app.delete("/admin/webhooks/nope")
        .await
        .assert_imsx(404, "unknownobject");

    let reader = app.client_token("reader", &["roster.readonly"]).await;
    let r = app
        .send(
            app.http
                .get(format!("{}/admin/webhooks", app.base))
                .bearer_auth(&reader),
        )
        .await;
    r.assert_imsx(403, "forbidden");
    let r = app
        .send(
            app.http
                .post(format!("{}/admin/webhooks", app.base))
                .bearer_auth(&reader)
                .json(&json!({"url": "http://x/"})),
        )
        .await;
    r.assert_imsx(403, "forbidden");

    let (id, secret) = subscribe(&app, json!({"url": "http://127.0.0.1:9/x"})).await;
    let shown = admin_get(&app, &format!("/{id}")).await;
    assert_eq!(shown.body["webhook"]["status"], "active");
    assert!(!shown.body.to_string().contains(&secret), "the secret is shown once");
    let stored = app.rollcall.engine.store().webhook(&id).await.unwrap().unwrap();
    assert!(
        !stored.sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "stored sealed"
    );
    assert!(!format!("{stored:?}").contains(&secret));
    assert_eq!(app.delete(&format!("/admin/webhooks/{id}")).await.status, 204);
    admin_get(&app, &format!("/{id}"))
        .await
        .assert_imsx(404, "unknownobject");
}

/// The lease that keeps two instances from delivering one subscription, on
/// the backend under test.
#[tokio::test]
async fn leases_are_exclusive_until_they_expire_and_saves_need_one() {
    use rollcall_store::WebhookStatus;
    let app = TestApp::spawn().await;
    let (id, _) = subscribe(&app, json!({"url": "http://127.0.0.1:9/x"})).await;
    let store = app.rollcall.engine.store().clone();
    let now = i64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_millis()).unwrap();
    assert!(store.lease_webhook(&id, "a", now, now + 1000).await.unwrap());
    assert!(
        !store.lease_webhook(&id, "b", now, now + 1000).await.unwrap(),
        "held by a"
    );
    assert!(
        store.lease_webhook(&id, "a", now + 500, now + 1500).await.unwrap(),
        "renewed"
    );
    let mut state = store.webhook(&id).await.unwrap().unwrap().state;
    state.attempts = 2;
    assert!(
        !store.save_webhook_state(&id, "b", &state, now + 1500).await.unwrap(),
        "b holds nothing"
    );
    assert!(store.save_webhook_state(&id, "a", &state, now + 1500).await.unwrap());
    assert_eq!(store.webhook(&id).await.unwrap().unwrap().state.attempts, 2);
    assert!(
        store.lease_webhook(&id, "b", now + 1501, now + 2500).await.unwrap(),
        "expired: b takes it"
    );
    assert!(
        !store.save_webhook_state(&id, "a", &state, now + 2500).await.unwrap(),
        "a lost it"
    );

    state.status = WebhookStatus::Paused;
    assert!(store.set_webhook_status(&id, &state, None).await.unwrap());
    assert!(
        !store.lease_webhook(&id, "b", now + 1600, now + 2600).await.unwrap(),
        "paused is not due"
    );
    assert!(
        !store.save_webhook_state(&id, "b", &state, now + 2600).await.unwrap(),
        "nor saved over"
    );
    let mut later = state.clone();
    later.status = WebhookStatus::Active;
    later.next_attempt_at = now + 5000;
    assert!(store.set_webhook_status(&id, &later, None).await.unwrap());
    assert!(
        !store.lease_webhook(&id, "c", now + 4000, now + 6000).await.unwrap(),
        "not due yet"
    );
    assert!(store.lease_webhook(&id, "c", now + 5000, now + 6000).await.unwrap());
}
