//! `rollcall import` killed in the middle of a bulk load that bypasses the
//! WAL (see `rollcall_store_sqlite::open_alone`): the file stays intact, the
//! interrupted resource keeps nothing, the next open returns it to WAL
//! mode, and the same import then runs to completion. New users load first,
//! while the rest of the package is still being checked, so the orgs (written
//! after the users commit) are not there either.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use oneroster::model::{org::ORGS, user::USERS};
use oneroster::query::ListQuery;
use rollcall_csv::FileKind;
use rollcall_store::ResourceStore;

/// Enough users that a debug build spends seconds loading them.
const USERS_IN_PACKAGE: u32 = 40_000;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn package(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut manifest = String::from("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n");
    for file in rollcall_csv::ALL_FILES {
        let mode = if ["orgs", "users", "roles"].contains(&file) {
            "bulk"
        } else {
            "absent"
        };
        writeln!(manifest, "file.{file},{mode}").unwrap();
    }
    let orgs = FileKind::Orgs.header() + "school,,,School,school,S,\n";
    let mut users = FileKind::Users.header();
    let mut roles = FileKind::Roles.header();
    for i in 0..USERS_IN_PACKAGE {
        writeln!(users, "u{i},,,true,user{i},,Given,Family,,,u{i}@x.org,,,,,,,,,,school,").unwrap();
        writeln!(roles, "r{i},,,u{i},primary,student,,,school,").unwrap();
    }
    for (name, text) in [
        ("manifest.csv", manifest.as_str()),
        ("orgs.csv", orgs.as_str()),
        ("users.csv", &users),
        ("roles.csv", &roles),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn import(db: &Path, package: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    command
        .args(["import", &package.display().to_string(), "--create"])
        .env("ROLLCALL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("RUST_LOG", "warn");
    command
}

async fn count(db: &Path, decl: &'static oneroster::ResourceDecl) -> u64 {
    let store = rollcall_store_sqlite::open(db).unwrap();
    let query = ListQuery::from_pairs(decl, [("limit", "1")]).unwrap();
    store.list(decl, &query).await.unwrap().total
}

#[tokio::test]
async fn an_import_killed_while_loading_past_the_wal_leaves_an_intact_file() {
    let dir = Dir(std::env::temp_dir().join(format!("rollcall-killed-{}", uuid::Uuid::new_v4())));
    let (db, pkg) = (dir.0.join("rollcall.db"), dir.0.join("package"));
    package(&pkg);
    let journal = db.with_extension("db-journal");

    let mut child = import(&db, &pkg).spawn().unwrap();
    // A journal still there a while later belongs to the users' load.
    let started = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be interrupted"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no load past the WAL was seen"
        );
        if journal.exists() {
            std::thread::sleep(Duration::from_millis(300));
            if journal.exists() {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    assert_eq!(count(&db, &USERS).await, 0, "the interrupted load kept nothing");
    assert_eq!(
        count(&db, &ORGS).await,
        0,
        "nothing is written before the users' load commits"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal", "opening the file returned it to WAL mode");
    drop(conn);

    let rerun = import(&db, &pkg).output().unwrap();
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert_eq!(count(&db, &USERS).await, u64::from(USERS_IN_PACKAGE));
}
