//! `rollcall serve` runs the webhook worker: a real server process posts to
//! a receiver on loopback, and one killed (SIGKILL) while a delivery is
//! being retried is replaced by another that delivers what was pending and
//! nothing twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;

/// The bodies a receiver accepted, and whether it accepts now.
#[derive(Clone, Default)]
struct Receiver {
    accepted: Arc<Mutex<Vec<Value>>>,
    refusing: Arc<Mutex<bool>>,
}

impl Receiver {
    /// A minimal HTTP/1.1 receiver: one request per connection.
    async fn start() -> (Self, String) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let receiver = serving.clone();
                tokio::spawn(async move {
                    let body = read_request(&mut stream).await;
                    let refusing = *receiver.refusing.lock().unwrap();
                    let status = if refusing {
                        "500 Internal Server Error"
                    } else {
                        "204 No Content"
                    };
                    if !refusing {
                        receiver
                            .accepted
                            .lock()
                            .unwrap()
                            .push(serde_json::from_slice(&body).unwrap());
                    }
                    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    let _ = stream.write_all(answer.as_bytes()).await;
                });
            }
        });
        (receiver, url)
    }

    fn ids(&self) -> Vec<String> {
        let accepted = self.accepted.lock().unwrap();
        accepted
            .iter()
            .map(|b| b["change"]["sourcedId"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// The body of one request (by its Content-Length).
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            return Vec::new();
        }
        data.extend_from_slice(&buf[..n]);
        let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if data.len() >= end + 4 + length {
            return data[end + 4..end + 4 + length].to_vec();
        }
    }
}

async fn until(what: &str, seconds: u64, done: impl Fn() -> bool) {
    for _ in 0..seconds * 20 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn serve_delivers_and_a_replacement_carries_on_after_a_kill() {
    let dir = common::Dir::new("webhooks-serve");
    let url = format!("sqlite://{}", dir.0.join("rollcall.db").display());
    let env = [
        ("ROLLCALL_RATE_LIMIT", "0"),
        ("ROLLCALL_CLIENT_IN_FLIGHT", "0"),
        ("ROLLCALL_WEBHOOK_BACKOFF", "0.1"),
        ("ROLLCALL_WEBHOOK_MAX_ATTEMPTS", "1000"),
    ];
    let (receiver, hook) = Receiver::start().await;
    let mut first = common::Server::start_with(&url, &env);
    let token = first.token().await;
    common::create_school(&first.http, &first.base, &token).await;
    let created = first
        .http
        .post(format!("{}/admin/webhooks", first.base))
        .bearer_auth(&token)
        .json(&json!({"url": hook, "resources": ["users"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    for id in ["u1", "u2"] {
        assert!(common::create_user(&first.http, &first.base, &token, id).await);
    }
    until("the first two arrive", 30, || receiver.ids().len() == 2).await;

    *receiver.refusing.lock().unwrap() = true;
    for id in ["u3", "u4"] {
        assert!(common::create_user(&first.http, &first.base, &token, id).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    first.kill();
    *receiver.refusing.lock().unwrap() = false;

    // A lease the killed server held runs out within a minute.
    let second = common::Server::start_with(&url, &env);
    until("the pending two arrive", 90, || receiver.ids().len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.ids(),
        ["u1", "u2", "u3", "u4"],
        "in order, none lost, none twice"
    );
    drop(second);
}
