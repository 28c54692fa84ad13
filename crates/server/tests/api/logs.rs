//! Logs never carry a password, a client secret or a token, at any level;
//! at info level they carry no personal data either.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::helpers::{CLIENT_SECRET, TestApp, user};

/// Everything the tracing subscriber writes, kept for inspection.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn exercise(app: &TestApp) {
    app.seed_school().await;
    let mut u = user("u1", "Ann", "Leeward");
    u["password"] = json!("hunter2-plain");
    u["email"] = json!("ann.private@example.org");
    app.create("users", "user", u).await;
    app.get("users?filter=email%3D%27ann.private%40example.org%27").await;
    app.patch("users/u1", json!({"user": {"password": "hunter3-plain"}}))
        .await;
    app.get("users/nobody").await;
    // A failed token request with a wrong secret must not log it either.
    let wrong = app
        .http
        .post(app.url("/oauth2/token"))
        .basic_auth("test-client", Some("wrong-secret-xyz"));
    app.send(wrong.form(&[("grant_type", "client_credentials")])).await;
}

/// Runs `exercise` with a subscriber at `level` (one test per process under nextest).
async fn logs_at(level: tracing::Level) -> (String, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn().await;
    exercise(&app).await;
    (captured.text(), app.token.clone())
}

fn assert_no_secrets(logs: &str, token: &str) {
    for secret in [
        "hunter2-plain",
        "hunter3-plain",
        CLIENT_SECRET,
        "wrong-secret-xyz",
        token,
        "$argon2",
    ] {
        assert!(!logs.contains(secret), "the logs contain a secret ({secret}):\n{logs}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn trace_logs_hold_no_secrets() {
    let (logs, token) = logs_at(tracing::Level::TRACE).await;
    assert!(
        !logs.is_empty(),
        "nothing was captured, so this test would prove nothing"
    );
    assert_no_secrets(&logs, &token);
}

#[tokio::test(flavor = "current_thread")]
async fn info_logs_hold_no_personal_data() {
    let (logs, token) = logs_at(tracing::Level::INFO).await;
    assert_no_secrets(&logs, &token);
    for pii in ["ann.private", "Leeward"] {
        assert!(!logs.contains(pii), "info logs contain personal data ({pii}):\n{logs}");
    }
}

/// Every line logged inside a request carries its id, whether the client
/// sent one (`X-Request-Id`) or the server made it (and returned it), so a
/// response can be matched to its log lines.
#[tokio::test(flavor = "current_thread")]
async fn every_line_logged_in_a_request_carries_its_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::spawn().await;
    let given = app
        .send(
            app.http
                .get(app.url("users/someone"))
                .bearer_auth(&app.token)
                .header("x-request-id", "req-given-4711"),
        )
        .await;
    assert_eq!(given.header("x-request-id"), Some("req-given-4711"));
    let made = app.get("users").await;
    let made_id = made.header("x-request-id").expect("a generated id").to_owned();
    let logs = captured.text();
    for id in ["req-given-4711", made_id.as_str()] {
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains(id)).collect();
        assert!(
            lines.iter().any(|l| l.contains("finished processing request")),
            "no line inside the request names its id {id}:\n{logs}"
        );
    }
    let in_requests: Vec<&str> = logs.lines().filter(|l| l.contains("processing request")).collect();
    assert!(in_requests.len() >= 4, "{logs}");
    for line in in_requests {
        assert!(
            line.contains("request_id="),
            "a line inside a request without its id: {line}"
        );
    }
}
