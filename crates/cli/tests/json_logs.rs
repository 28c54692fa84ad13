//! `ROLLCALL_LOG_FORMAT=json`: the real `rollcall serve` logs one JSON
//! object per line, and a line logged inside a request carries the id the
//! response returned; an unknown format stops the start.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Dir;
use serde_json::Value;

/// `rollcall serve` with `ROLLCALL_LOG_FORMAT=json`, its stdout lines sent
/// to the returned channel.
fn serve_json(dir: &Dir) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&dir.0)
        .env_remove("ROLLCALL_DATABASE_URL")
        .env("ROLLCALL_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (child, received)
}

/// The next logged line that `wanted` accepts, each line parsed as JSON
/// (a line that is not JSON fails the test).
fn next_matching(lines: &mpsc::Receiver<String>, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("the awaited line was never logged");
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if wanted(&value) {
            return value;
        }
    }
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = Dir::new("json-logs");
    let (mut child, lines) = serve_json(&dir);
    let listening = next_matching(&lines, |v| v["fields"]["message"] == "rollcall listening");
    let address = listening["fields"]["address"].as_str().unwrap().to_owned();
    assert_eq!(listening["level"], "INFO");

    let response = reqwest::Client::new()
        .get(format!("http://{address}/healthz"))
        .header("x-request-id", "json-log-id-31")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "json-log-id-31");
    let inside = next_matching(&lines, |v| v["span"]["request_id"] == "json-log-id-31");
    assert_eq!(inside["span"]["route"], "/healthz", "{inside}");
    assert_eq!(inside["span"]["method"], "GET", "{inside}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn an_unknown_log_format_is_refused() {
    let dir = Dir::new("log-format");
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&dir.0)
        .env_remove("ROLLCALL_DATABASE_URL")
        .env("ROLLCALL_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("ROLLCALL_LOG_FORMAT must be `text` or `json`"), "{said}");
}
