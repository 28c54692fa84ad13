//! `rollcall webhooks`: add shows the secret once, list and show the state
//! (as a table and as JSON), pause/resume/remove change it, and a bad
//! filter is refused with its reason and stores nothing.

use std::process::{Command, Output};

use serde_json::Value;

mod common;

fn rollcall(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("webhooks")
        .args(args)
        .env("ROLLCALL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("ROLLCALL_CREDENTIALS_KEY")
        .env("NO_COLOR", "1")
        .output()
        .expect("run rollcall")
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn webhooks_are_added_listed_paused_resumed_and_removed() {
    let dir = common::Dir::new("webhooks");
    let db = dir.0.join("rollcall.db");
    let refused = rollcall(
        &db,
        &[
            "--create",
            "add",
            "http://127.0.0.1:9/hook",
            "--filter",
            "status='active'",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("exactly one resource type"));

    let added: Value = serde_json::from_str(&ok(&rollcall(
        &db,
        &[
            "--create",
            "add",
            "http://127.0.0.1:9/hook",
            "--resources",
            "users",
            "--operations",
            "create,update",
            "--json",
        ],
    )))
    .unwrap();
    let id = added["id"].as_str().unwrap().to_owned();
    let secret = added["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(added["operations"], serde_json::json!(["create", "update"]));

    let listed: Value = serde_json::from_str(&ok(&rollcall(&db, &["list", "--json"]))).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["status"], "active");
    let table = ok(&rollcall(&db, &["list"]));
    assert!(
        table.starts_with("ID") && table.contains("STATUS") && table.contains("LAST_ERROR"),
        "{table}"
    );
    assert!(table.contains(&id) && table.contains("active"), "{table}");
    assert!(!table.contains(&secret) && !ok(&rollcall(&db, &["show", &id])).contains(&secret));

    assert_eq!(ok(&rollcall(&db, &["pause", &id])).trim(), "paused");
    let shown: Value = serde_json::from_str(&ok(&rollcall(&db, &["show", &id, "--json"]))).unwrap();
    assert_eq!(shown["status"], "paused");
    assert_eq!(ok(&rollcall(&db, &["resume", &id])).trim(), "active");
    ok(&rollcall(&db, &["remove", &id]));
    let gone = rollcall(&db, &["show", &id]);
    assert!(!gone.status.success() && String::from_utf8_lossy(&gone.stderr).contains("not found"));
    assert_eq!(ok(&rollcall(&db, &["list", "--json"])).trim(), "[]");
}
