//! `ROLLCALL_QUERY_TIMEOUT` end to end: a real `rollcall serve` stops a list
//! whose filter reads every document once it has run that long, and answers
//! 400 saying so and how to narrow it; other requests carry on.

mod common;

use std::process::Command;

use common::{API, Server};
use oneroster::model::user::USERS;
use rollcall_store::ResourceStore;
use serde_json::{Value, json};

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
    let server = Server::start_with(
        &format!("sqlite://{}", path.display()),
        &[("ROLLCALL_QUERY_TIMEOUT", "0.005")],
    );
    let http = server.http.clone();
    let token = server.token().await;
    let token = token.as_str();
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
