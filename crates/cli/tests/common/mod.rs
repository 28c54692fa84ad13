//! A real `rollcall serve` process, for tests that talk to it over HTTP and
//! kill, stop and restart it.

#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

pub const API: &str = "/ims/oneroster/rostering/v1p2";

/// A temporary folder, removed on drop.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rollcall-{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `rollcall serve` child process, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
}

impl Server {
    /// On the SQLite file `db`, with the request limits off (these tests are
    /// about durability, not about limits).
    pub fn start(db: &Path) -> Self {
        let url = format!("sqlite://{}", db.display());
        Self::start_with(
            &url,
            &[("ROLLCALL_RATE_LIMIT", "0"), ("ROLLCALL_CLIENT_IN_FLIGHT", "0")],
        )
    }

    /// On `database_url`, with a bootstrap admin client `ops` and `env` set.
    pub fn start_with(database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .arg("serve")
            .env("ROLLCALL_LISTEN", "127.0.0.1:0")
            .env("ROLLCALL_DATABASE_URL", database_url)
            .env("ROLLCALL_BOOTSTRAP_CLIENT_ID", "ops")
            .env("ROLLCALL_BOOTSTRAP_CLIENT_SECRET", "ops-secret")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rollcall");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("address=")
                    .nth(1)
                    .map(|a| a.split_whitespace().next().unwrap_or("").to_owned())
            })
            .map(|addr| format!("http://{addr}"))
            .expect("the server logs the address it listens on");
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn token(&self) -> String {
        let r: Value = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .basic_auth("ops", Some("ops-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["access_token"].as_str().expect("a token").to_owned()
    }

    /// Sends SIGKILL (no chance to flush or clean up) and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates the org `school-1` that [`create_user`]'s users belong to
/// (writes refuse references to records that do not exist), unless it
/// exists already (a restarted server on the same database).
pub async fn create_school(http: &reqwest::Client, base: &str, token: &str) {
    let body = json!({"org": {"sourcedId": "school-1", "name": "North High", "type": "school", "identifier": "NH"}});
    let r = http
        .post(format!("{base}{API}/orgs"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    assert!(
        matches!(r.status().as_u16(), 201 | 409),
        "creating school-1: {}",
        r.status()
    );
}

/// Creates one user; `true` once the server acknowledged it (201).
pub async fn create_user(http: &reqwest::Client, base: &str, token: &str, id: &str) -> bool {
    let body = json!({"user": {"sourcedId": id, "enabledUser": true, "givenName": "Ann", "familyName": id,
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}]}});
    let sent = http
        .post(format!("{base}{API}/users"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await;
    matches!(sent, Ok(r) if r.status() == 201)
}

/// Every user's sourcedId in the SQLite file `db`, read without a server.
pub fn user_ids(db: &Path) -> std::collections::HashSet<String> {
    ids(db, "users")
}

/// Every sourcedId of the collection `table` in the SQLite file `db`.
pub fn ids(db: &Path, table: &str) -> std::collections::HashSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT sourced_id FROM \"{table}\"")).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// `PRAGMA integrity_check` of the SQLite file `db`.
pub fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

/// Runs the `rollcall` binary with `args` on the SQLite file `db`.
pub fn rollcall(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .env("ROLLCALL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rollcall")
}
