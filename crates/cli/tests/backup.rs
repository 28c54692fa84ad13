//! `rollcall backup` while the server takes writes, and `rollcall restore`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Dir, Server, create_school, create_user, integrity, rollcall, user_ids};
use tokio::sync::Mutex;

const WRITERS: usize = 8;

/// Eight writers create users through the server; a backup starts while
/// they run. Every user acknowledged before the backup started is in it,
/// and the restored database holds exactly the backup's users.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_concurrent_writes_holds_every_write_acknowledged_before_it() {
    let dir = Dir::new("backup");
    let (db, copy, restored) = (dir.0.join("live.db"), dir.0.join("copy.db"), dir.0.join("restored.db"));
    let server = Server::start(&db);
    let token = server.token().await;
    create_school(&server.http, &server.base, &token).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (http, base, token) = (server.http.clone(), server.base.clone(), token.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let id = format!("w{w}-{i}");
                if create_user(&http, &base, &token, &id).await {
                    acknowledged.lock().await.push(id);
                }
            }
        }));
    }
    let acknowledged_count = || async { acknowledged.lock().await.len() };
    wait_until(|| async { acknowledged_count().await >= 40 }).await;
    let before: Vec<String> = acknowledged.lock().await.clone();
    let (db2, copy2) = (db.clone(), copy.clone());
    let out = tokio::task::spawn_blocking(move || rollcall(&db2, &["backup", copy2.to_str().unwrap()]))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    wait_until(|| async { acknowledged_count().await > before.len() + 8 }).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    let in_backup = user_ids(&copy);
    let missing: Vec<_> = before.iter().filter(|id| !in_backup.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, missing from it: {missing:?}"
    );
    assert_eq!(integrity(&copy), "ok");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds secrets: owner-only");
    }

    let out = rollcall(&restored, &["restore", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(user_ids(&restored), in_backup);
}

/// Polls `done` until it holds, for at most a minute.
async fn wait_until<F: Future<Output = bool>>(done: impl Fn() -> F) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the writers made no progress in a minute");
}

/// A backup never overwrites, a restore refuses a database a server has
/// open and a file that is not a Rollcall database, and a restore keeps the
/// database it replaced.
#[tokio::test]
async fn restore_checks_what_it_installs_and_keeps_what_it_replaces() {
    let dir = Dir::new("restore");
    let (db, copy) = (dir.0.join("live.db"), dir.0.join("copy.db"));
    let mut server = Server::start(&db);
    let token = server.token().await;
    create_school(&server.http, &server.base, &token).await;
    assert!(create_user(&server.http, &server.base, &token, "kept").await);
    assert!(rollcall(&db, &["backup", copy.to_str().unwrap()]).status.success());
    let again = rollcall(&db, &["backup", copy.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "a second backup to the same name must not overwrite it"
    );

    assert!(create_user(&server.http, &server.base, &token, "after-backup").await);
    let busy = rollcall(&db, &["restore", copy.to_str().unwrap()]);
    assert!(!busy.status.success(), "restored under a running server");
    assert!(String::from_utf8_lossy(&busy.stderr).contains("rollcall serve"));
    server.kill();
    assert!(
        user_ids(&db).contains("after-backup"),
        "a refused restore changed the database"
    );

    let junk = dir.0.join("junk.db");
    std::fs::write(&junk, b"not a database at all, just some bytes").unwrap();
    let refused = rollcall(&db, &["restore", junk.to_str().unwrap()]);
    assert!(!refused.status.success(), "installed a file that is not a database");
    assert!(user_ids(&db).contains("after-backup"));

    let out = rollcall(&db, &["restore", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids = user_ids(&db);
    assert!(ids.contains("kept") && !ids.contains("after-backup"), "{ids:?}");
    let previous: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("live.db.before-restore-"))
        .collect();
    assert_eq!(previous.len(), 1, "the replaced database is kept beside it");
    assert!(user_ids(&previous[0]).contains("after-backup"));
}
