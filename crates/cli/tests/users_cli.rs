//! `rollcall users …` end to end: the built binary against a real server
//! started in this process (on its own runtime thread, so the test can
//! block on the child processes).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;

use oneroster::SystemClock;
use rollcall_server::{AppState, ServerConfig};
use rollcall_service::{Rollcall, SigningKey};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const CLIENT_ID: &str = "cli-tests";
const CLIENT_SECRET: &str = "cli-test-secret";

struct Server {
    base: String,
    dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rollcall-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("rollcall.db");
        let (base_tx, base_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async move {
                let store = Arc::new(rollcall_store_sqlite::open(&db).unwrap());
                let rollcall = Rollcall::new(store, Arc::new(SystemClock), &SigningKey::generate());
                rollcall
                    .auth
                    .put_admin_client(CLIENT_ID, "cli", CLIENT_SECRET)
                    .await
                    .unwrap();
                // The org the test users belong to (references must point somewhere).
                let school =
                    json!({"sourcedId": "school-1", "name": "North High", "type": "school", "identifier": "NH"});
                rollcall
                    .engine
                    .create(&oneroster::model::org::ORGS, school)
                    .await
                    .unwrap();
                let app = rollcall_server::app(AppState::new(rollcall, ServerConfig::default()));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                base_tx
                    .send(format!("http://{}", listener.local_addr().unwrap()))
                    .unwrap();
                let shutdown = async {
                    let _ = stopped.await;
                };
                rollcall_server::serve(listener, app, shutdown).await.unwrap();
            });
        });
        Self {
            base: base_rx.recv().unwrap(),
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Runs `rollcall users ARGS` against this server, feeding `stdin`.
    fn users(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .arg("users")
            .args(args)
            .env("ROLLCALL_SERVER", &self.base)
            .env("ROLLCALL_CLIENT_ID", CLIENT_ID)
            .env("ROLLCALL_CLIENT_SECRET", CLIENT_SECRET)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs a command that must succeed; returns its stdout.
    #[track_caller]
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.users(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "users {args:?} failed: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args, "")).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn user(id: &str, given: &str) -> Value {
    json!({"sourcedId": id, "enabledUser": true, "givenName": given, "familyName": "Lee",
           "email": format!("{id}@example.org"),
           "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]})
}

#[test]
fn create_list_get_update_delete() {
    let server = Server::start("crud");
    for (id, given) in [("u1", "Ann"), ("u2", "Bo"), ("u3", "Cy")] {
        let created = server.ok(&["create", "--json", "-"], &user(id, given).to_string());
        assert_eq!(created.trim(), id);
    }
    // The envelope is accepted too, and a missing sourcedId is allocated.
    let file = server.dir.join("user.json");
    let mut anonymous = user("x", "Dee");
    anonymous.as_object_mut().unwrap().remove("sourcedId");
    std::fs::write(&file, json!({ "user": anonymous }).to_string()).unwrap();
    let allocated = server.ok(&["create", "--json", file.to_str().unwrap()], "");
    assert_eq!(allocated.trim().len(), 36, "a UUID: {allocated}");

    let listed = server.json(&["list", "--json", "--sort", "givenName", "--filter", "familyName='Lee'"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["givenName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann", "Bo", "Cy", "Dee"]);

    let table = server.ok(
        &[
            "list",
            "--limit",
            "1",
            "--all",
            "--order-by",
            "desc",
            "--sort",
            "givenName",
        ],
        "",
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        lines[0].starts_with("sourcedId") && lines[0].ends_with("roles"),
        "{table}"
    );
    assert!(lines[2].starts_with("u3 ") && lines[2].contains("u3@example.org") && lines[2].ends_with("student"));

    // --fields chooses the table's columns, in their order.
    let shaped = server.ok(&["list", "--fields", "givenName,sourcedId", "--sort", "givenName"], "");
    let rows: Vec<Vec<&str>> = shaped.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["givenName", "sourcedId"], "{shaped}");
    assert_eq!(rows[1], ["Ann", "u1"], "{shaped}");

    let one = server.json(&["get", "u1", "--json", "--fields", "sourcedId,givenName"]);
    assert_eq!(one, json!({"sourcedId": "u1", "givenName": "Ann"}));

    server.ok(&["update", "u1", "--patch", "--json", "-"], r#"{"givenName": "Annie"}"#);
    let replaced = server.ok(&["update", "u2", "--json", "-"], &user("u2", "Bob").to_string());
    assert!(replaced.contains("Bob"), "{replaced}");
    assert_eq!(server.json(&["get", "u1", "--json"])["givenName"], "Annie");

    server.ok(&["delete", "u3"], "");
    let shown = server.ok(&["get", "u3"], "");
    assert!(shown.lines().nth(1).unwrap().contains("tobedeleted"), "{shown}");
}

#[test]
fn failures_exit_non_zero_with_the_server_description() {
    let server = Server::start("errors");
    let missing = server.users(&["get", "ghost"], "");
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("404") && stderr.contains("not found"), "{stderr}");

    let bad = server.users(&["list", "--filter", "shoeSize='9'"], "");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("shoeSize"));

    let not_json = server.users(&["create", "--json", "-"], "[1, 2]");
    assert!(String::from_utf8_lossy(&not_json.stderr).contains("expected a JSON object"));

    let anonymous = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["users", "list", "--server", &server.base])
        .env_remove("ROLLCALL_CLIENT_ID")
        .env_remove("ROLLCALL_CLIENT_SECRET")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("ROLLCALL_CLIENT_ID"));
}
