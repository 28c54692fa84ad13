//! `ROLLCALL_QUERY_TIMEOUT` end to end: a real `rollcall serve` stops a list
//! whose filter reads every document once it has run that long, and answers
//! 400 saying so and how to narrow it; other requests carry on.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use oneroster::model::user::USERS;
use rollcall_store::ResourceStore;
use serde_json::{Value, json};

const API: &str = "/ims/oneroster/rostering/v1p2";

/// A `rollcall serve` child process, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str, query_timeout: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .arg("serve")
            .env("ROLLCALL_LISTEN", "127.0.0.1:0")
            .env("ROLLCALL_DATABASE_URL", database_url)
            .env("ROLLCALL_QUERY_TIMEOUT", query_timeout)
            .env("ROLLCALL_BOOTSTRAP_CLIENT_ID", "ops")
            .env("ROLLCALL_BOOTSTRAP_CLIENT_SECRET", "ops-secret")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rollcall");
        let stdout = child.stdout.take().expect("stdout");
        let base = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("address=")
                    .nth(1)
                    .map(|a| a.split_whitespace().next().unwrap_or("").to_owned())
            })
            .map(|addr| format!("http://{addr}"))
            .expect("the server logs the address it listens on");
        Self { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn user(i: usize) -> Value {
    json!({"sourcedId": format!("u{i}"), "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "G", "familyName": format!("F{i}"), "email": format!("u{i}@x.org"),
           "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "o1"}}],
           "metadata": {"k": "none"}})
}

#[tokio::test]
async fn a_list_past_the_query_timeout_is_a_400_and_lookups_carry_on() {
    let dir = std::env::temp_dir().join(format!("rollcall-budget-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rollcall.db");
    let store = rollcall_store_sqlite::open(&path).unwrap();
    store.insert_many(&USERS, (0..3_000).map(user).collect()).await.unwrap();
    drop(store);
    let server = Server::start(&format!("sqlite://{}", path.display()), "0.005");
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth2/token", server.base))
        .basic_auth("ops", Some("ops-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("a token");
    let filter = (0..100)
        .map(|i| format!("metadata.k='x{i}'"))
        .collect::<Vec<_>>()
        .join(" OR ");

    let url = reqwest::Url::parse_with_params(&format!("{}{API}/users", server.base), [("filter", &filter)]).unwrap();
    let heavy = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(heavy.status(), 400);
    let body: Value = heavy.json().await.unwrap();
    assert_eq!(
        body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"],
        "invaliddata"
    );
    let description = body["imsx_description"].as_str().unwrap();
    assert!(description.contains("longer than the 5ms"), "{description}");

    let get = http
        .get(format!("{}{API}/users/u7", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_query_timeout_that_is_not_a_positive_number_is_refused() {
    for bad in ["0", "-1", "ten", "1e300"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(["serve", &format!("--query-timeout={bad}")])
            .env("ROLLCALL_DATABASE_URL", "sqlite:///nonexistent/never-opened.db")
            .output()
            .unwrap();
        assert!(!out.status.success(), "--query-timeout {bad} was accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("positive number of seconds"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
