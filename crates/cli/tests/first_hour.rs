//! The CLI as a new user meets it: run from a folder of their own, with the
//! default database URL. Every command that opens a database says which one;
//! a dry run creates nothing; a new empty database outside `serve` needs
//! `--create`; start-up failures say how to fix them; logs sent to a file or
//! pipe carry no colour codes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::Dir;
use serde_json::Value;

fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/csv-cases/valid/V01")
}

/// `rollcall args…` run in `folder`, with no database URL in the environment.
fn run_in(folder: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .current_dir(folder)
        .env_remove("ROLLCALL_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rollcall")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn import_says_which_database_and_creates_one_only_when_asked() {
    let dir = Dir::new("first-hour");
    let db = std::path::absolute(dir.0.join("rollcall.db")).unwrap();
    let pkg = package();
    let pkg = pkg.to_str().unwrap();

    let dry = run_in(&dir.0, &["import", pkg, "--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let said = stderr(&dry);
    assert!(
        said.contains(&format!(
            "{} does not exist; dry run against an empty database",
            db.display()
        )),
        "{said}"
    );
    assert!(!db.exists(), "a dry run created {}", db.display());

    let refused = run_in(&dir.0, &["import", pkg]);
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(
        said.contains(&format!("there is no database at {}", db.display())),
        "{said}"
    );
    assert!(
        said.contains("--create") && said.contains("ROLLCALL_DATABASE_URL"),
        "{said}"
    );
    assert!(!db.exists(), "a refused import created {}", db.display());

    let created = run_in(&dir.0, &["import", pkg, "--create"]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(
        stderr(&created).contains(&format!("database: SQLite {} (new, empty: created now)", db.display())),
        "{}",
        stderr(&created)
    );
    let again = run_in(&dir.0, &["export", "out"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains(&format!("database: SQLite {}\n", db.display())),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_missing_folder_is_named() {
    let dir = Dir::new("first-hour-folder");
    let missing = dir.0.join("no-such-folder");
    let url = format!("sqlite://{}/rollcall.db", missing.display());
    let out = run_in(&dir.0, &["clients", "list", "--database-url", &url]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "the folder {} of the SQLite database does not exist",
            missing.display()
        )),
        "{said}"
    );
    assert!(!missing.exists());
}

#[test]
fn clients_list_has_a_header_and_json() {
    let dir = Dir::new("first-hour-clients");
    let create = [
        "clients",
        "create",
        "--name",
        "sis sync",
        "--scopes",
        "roster.readonly",
        "--create",
    ];
    assert!(run_in(&dir.0, &create).status.success());
    let table = run_in(&dir.0, &["clients", "list"]);
    let text = String::from_utf8_lossy(&table.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["CLIENT_ID", "NAME", "STATE", "SCOPES"]
    );
    assert!(lines[1].contains("sis sync") && lines[1].contains("enabled"), "{text}");
    let json = run_in(&dir.0, &["clients", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(listed[0]["name"], "sis sync");
    assert_eq!(listed[0]["state"], "enabled");
    assert!(
        listed[0]["scopes"][0]
            .as_str()
            .unwrap()
            .ends_with("/scope/roster.readonly"),
        "{listed}"
    );
}

#[test]
fn start_up_failures_say_how_to_fix_them() {
    let dir = Dir::new("first-hour-serve");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = run_in(&dir.0, &["serve", "--listen", &address]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains(&format!("cannot listen on {address}")), "{said}");
    assert!(said.contains("--listen (ROLLCALL_LISTEN)"), "{said}");

    let unreachable = "postgres://postgres@127.0.0.1:1/rollcall";
    let out = run_in(&dir.0, &["serve", "--database-url", unreachable]);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("PostgreSQL database at 127.0.0.1:1"), "{said}");
    assert!(!said.contains("postgres@"), "the user part is not repeated: {said}");
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = Dir::new("first-hour-logs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&dir.0)
        .env_remove("ROLLCALL_DATABASE_URL")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let logged: Vec<String> = lines
        .map_while(Result::ok)
        .take_while(|l| !l.contains("rollcall listening"))
        .chain(std::iter::once(String::new()))
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let text = logged.join("\n");
    assert!(text.contains("database opened"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in piped logs: {text:?}");
}
