//! `rollcall serve` refuses a token signing key too short to be secret
//! (empty, one byte, 31 bytes) before it listens, saying why; a key of 32
//! bytes is taken.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `rollcall serve` with `key`; returns whether it exited (and its
/// stderr) within a few seconds, or `None` when it was still serving.
fn serve_with_key(key: &str) -> Option<(bool, String)> {
    let dir = std::env::temp_dir().join(format!("rollcall-key-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("serve")
        .env("ROLLCALL_LISTEN", "127.0.0.1:0")
        .env(
            "ROLLCALL_DATABASE_URL",
            format!("sqlite://{}", dir.join("db").display()),
        )
        .env("ROLLCALL_SIGNING_KEY", key)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rollcall");
    let deadline = Instant::now() + Duration::from_secs(10);
    let outcome = loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            break Some((status.success(), stderr));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_dir_all(dir);
    outcome
}

#[test]
fn short_signing_keys_are_refused_at_start() {
    for key in ["", "k", &"k".repeat(31)] {
        let (success, stderr) = serve_with_key(key).unwrap_or_else(|| panic!("a {}-byte key was accepted", key.len()));
        assert!(!success, "{stderr}");
        assert!(
            stderr.contains("ROLLCALL_SIGNING_KEY") && stderr.contains("at least 32 bytes"),
            "{stderr}"
        );
        assert!(
            !stderr.contains(&"k".repeat(31)) || key.len() < 31,
            "the key is not echoed: {stderr}"
        );
    }
    assert_eq!(serve_with_key(&"k".repeat(32)), None, "a 32-byte key is taken");
}
