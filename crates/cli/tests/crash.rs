//! SIGKILL under load: eight clients writing and an import in flight, the
//! server killed without warning, five times over one database, on SQLite
//! and on PostgreSQL. After each kill every acknowledged write is there, the
//! import is there entirely or not at all (entirely if it was acknowledged),
//! and a SQLite file passes its integrity check.
//!
//! The PostgreSQL round needs PostgreSQL: it fails without it, unless
//! `ROLLCALL_SKIP_POSTGRES=1` skips it (loudly).

mod common;

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{Dir, Server, create_school, create_user, ids, integrity, user_ids};
use rollcall_store_postgres::testing::TestDb;
use tokio::sync::Mutex;

const ROUNDS: usize = 5;
const WRITERS: usize = 8;
const IMPORTED: usize = 600;
/// When each round's kill comes: at these points of the import (on
/// PostgreSQL the import is over sooner, so its points are earlier), and in
/// the last round right after the import is acknowledged.
const KILL_AFTER_MS: [u64; ROUNDS - 1] = [200, 900, 1_800, 2_700];
const KILL_AFTER_MS_POSTGRES: [u64; ROUNDS - 1] = [120, 240, 360, 450];

/// A bulk-free package: one school and `IMPORTED` new users with a role
/// each, as a zip, their ids prefixed with `prefix`.
fn package(prefix: &str) -> Vec<u8> {
    use rollcall_csv::FileKind;
    let mut manifest = String::from("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n");
    for file in rollcall_csv::ALL_FILES {
        let mode = if ["orgs", "users", "roles"].contains(&file) {
            "delta"
        } else {
            "absent"
        };
        manifest.push_str(&format!("file.{file},{mode}\n"));
    }
    let stamp = "2026-03-01T00:00:00.000Z";
    let orgs = FileKind::Orgs.header() + &format!("{prefix}school,active,{stamp},School,school,S,\n");
    let (mut users, mut roles) = (FileKind::Users.header(), FileKind::Roles.header());
    for i in 0..IMPORTED {
        users.push_str(&format!(
            "{prefix}{i},active,{stamp},true,{prefix}user{i},,Given,Family,,,{prefix}{i}@x.org,,,,,,,,,,{prefix}school,\n"
        ));
        roles.push_str(&format!(
            "{prefix}r{i},active,{stamp},{prefix}{i},primary,student,,,{prefix}school,\n"
        ));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in [
        ("manifest.csv", manifest),
        ("orgs.csv", orgs),
        ("users.csv", users),
        ("roles.csv", roles),
    ] {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The database the killed servers share.
enum Backend {
    Sqlite(PathBuf),
    Postgres(TestDb),
}

impl Backend {
    fn kill_after_ms(&self) -> [u64; ROUNDS - 1] {
        match self {
            Self::Sqlite(_) => KILL_AFTER_MS,
            Self::Postgres(_) => KILL_AFTER_MS_POSTGRES,
        }
    }

    fn start(&self) -> Server {
        match self {
            Self::Sqlite(db) => Server::start(db),
            Self::Postgres(db) => Server::start_with(
                &db.url,
                &[("ROLLCALL_RATE_LIMIT", "0"), ("ROLLCALL_CLIENT_IN_FLIGHT", "0")],
            ),
        }
    }

    async fn ids(&self, table: &str) -> HashSet<String> {
        match self {
            Self::Sqlite(db) if table == "users" => user_ids(db),
            Self::Sqlite(db) => ids(db, table),
            Self::Postgres(db) => {
                let rows = db
                    .sql()
                    .await
                    .query(&format!("SELECT sourced_id FROM \"{table}\""), &[])
                    .await
                    .unwrap();
                rows.iter().map(|r| r.get::<_, String>(0)).collect()
            }
        }
    }

    /// SQLite's own check of the file; PostgreSQL keeps its files itself.
    fn assert_intact(&self, round: usize) {
        if let Self::Sqlite(db) = self {
            assert_eq!(integrity(db), "ok", "round {round}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_writers_and_an_import_loses_no_acknowledged_write() {
    let dir = Dir::new("crash");
    kill_rounds(&Backend::Sqlite(dir.0.join("rollcall.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_on_postgres_loses_no_acknowledged_write() {
    let Some(db) = TestDb::create().await else { return };
    kill_rounds(&Backend::Postgres(db)).await;
}

async fn kill_rounds(backend: &Backend) {
    let mut acknowledged = Vec::new();
    for round in 0..ROUNDS {
        let mut server = backend.start();
        let token = server.token().await;
        create_school(&server.http, &server.base, &token).await;
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        for w in 0..WRITERS {
            let (http, base, token, acked) = (server.http.clone(), server.base.clone(), token.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("r{round}-w{w}-{i}");
                    if create_user(&http, &base, &token, &id).await {
                        acked.lock().await.push(id);
                    }
                }
            });
        }
        let prefix = format!("imp{round}-");
        let import = {
            let (http, base, token, body) = (
                server.http.clone(),
                server.base.clone(),
                token.clone(),
                package(&prefix),
            );
            tokio::spawn(async move {
                let sent = http
                    .post(format!("{base}/admin/import"))
                    .bearer_auth(token)
                    .header("content-type", "application/zip")
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => true,
                    Ok(r) => panic!(
                        "the import was refused: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    ),
                    Err(_) => false,
                }
            })
        };
        // Kill at a different point of the import each round.
        let started = std::time::Instant::now();
        let import_acknowledged = match backend.kill_after_ms().get(round) {
            Some(ms) => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                server.kill();
                import.await.unwrap_or(false)
            }
            None => {
                let done = import.await.unwrap_or(false);
                server.kill();
                done
            }
        };
        eprintln!("round {round}: killed after {:?}", started.elapsed());
        acknowledged.extend(acked.lock().await.drain(..));

        backend.assert_intact(round);
        let stored = backend.ids("users").await;
        let lost: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
        assert!(lost.is_empty(), "round {round}: acknowledged, then lost: {lost:?}");
        let imported = stored.iter().filter(|id| id.starts_with(&prefix)).count();
        assert!(
            imported == 0 || imported == IMPORTED,
            "round {round}: the import was cut in half: {imported} of {IMPORTED} users"
        );
        eprintln!(
            "round {round}: {} writes acknowledged so far; import acknowledged: {import_acknowledged}, stored: {imported}",
            acknowledged.len()
        );
        let org_there = backend.ids("orgs").await.contains(&format!("{prefix}school"));
        assert_eq!(
            org_there,
            imported > 0,
            "round {round}: the import's org and users landed apart"
        );
        if import_acknowledged {
            assert_eq!(imported, IMPORTED, "round {round}: an acknowledged import is missing");
        }
    }
    assert!(
        acknowledged.len() > WRITERS * ROUNDS,
        "the writers made too little progress"
    );
}

/// SIGTERM while an import is in flight: the server stops accepting new
/// connections, answers the import, and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_in_flight_requests_then_exits_zero() {
    let dir = Dir::new("sigterm");
    let db = dir.0.join("rollcall.db");
    let mut server = Server::start(&db);
    let token = server.token().await;
    let import = {
        let (http, base, token, body) = (
            server.http.clone(),
            server.base.clone(),
            token.clone(),
            package("term-"),
        );
        tokio::spawn(async move {
            http.post(format!("{base}/admin/import"))
                .bearer_auth(token)
                .header("content-type", "application/zip")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = reqwest::Client::new()
        .get(format!("{}/healthz", server.base))
        .send()
        .await;
    assert!(fresh.is_err(), "a new connection was accepted after SIGTERM: {fresh:?}");
    assert_eq!(import.await.unwrap().unwrap(), 200, "the in-flight import was cut off");
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (status, server)
    })
    .await
    .unwrap()
    .0;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let imported = user_ids(&db).iter().filter(|id| id.starts_with("term-")).count();
    assert_eq!(imported, IMPORTED);
}
