//! `rollcall import` / `rollcall export` end to end: the built binary on a
//! valid and an invalid shared case, with a temporary SQLite database.

mod common;

use std::path::{Path, PathBuf};

use common::{Dir, rollcall};

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/csv-cases");

fn case(path: &str) -> PathBuf {
    let dir = Path::new(CASES).join(path);
    assert!(
        dir.is_dir(),
        "the OneRoster CSV test cases are missing: expected {} (the shared specs folder beside the repository)",
        dir.display()
    );
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn import_export_and_reject() {
    let dir = Dir::new("csv-cli");
    let db = dir.0.join("rollcall.db");

    let valid = case("valid/V01");
    let dry = rollcall(&db, &["import", valid.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("dry run: nothing was written"));

    let out = rollcall(&db, &["import", valid.to_str().unwrap(), "--create"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let users = report.lines().find(|l| l.starts_with("users")).unwrap_or_default();
    assert_eq!(
        users.split_whitespace().collect::<Vec<_>>(),
        ["users", "3", "0", "0", "0"],
        "{report}"
    );

    let invalid = case("invalid/I25");
    let out = rollcall(&db, &["import", invalid.to_str().unwrap()]);
    assert!(!out.status.success());
    let errors = text(&out.stderr);
    assert!(errors.contains("enrollments.csv:3:classSourcedId: "), "{errors}");
    assert!(errors.contains("nothing was written"), "{errors}");

    let zip = dir.0.join("export.zip");
    let out = rollcall(&db, &["export", zip.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("users.csv"));
    let again = rollcall(&db, &["import", zip.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let users = text(&again.stdout)
        .lines()
        .find(|l| l.starts_with("users"))
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        users.split_whitespace().collect::<Vec<_>>(),
        ["users", "0", "0", "3", "0"]
    );
}
