//! Every package in the shared csv-cases folder: valid ones are accepted
//! (with one record created per data row), invalid ones are rejected with
//! the error their expected.json names (file, row, column and rule), and
//! nothing is written for them.

mod common;

use std::path::Path;

use common::*;
use rollcall_csv::{Package, import};
use serde_json::Value;

fn expected(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn case_dirs(kind: &str) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(cases().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no {kind} cases found");
    dirs
}

#[tokio::test]
async fn valid_cases_are_accepted_with_expected_counts() {
    for dir in case_dirs("valid") {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (_tmp, store) = store(&id);
        let report = import_dir(&store, &dir, &options(1))
            .await
            .unwrap_or_else(|e| panic!("{id} should be accepted: {e:?}"));
        for (collection, file) in [
            ("orgs", "orgs.csv"),
            ("academicSessions", "academicSessions.csv"),
            ("courses", "courses.csv"),
            ("classes", "classes.csv"),
            ("users", "users.csv"),
            ("enrollments", "enrollments.csv"),
            ("demographics", "demographics.csv"),
        ] {
            let rows = data_rows(&dir.join(file));
            let live = rows.iter().filter(|r| !r.contains(",tobedeleted,")).count() as u64;
            let counts = report.resources.get(collection).copied().unwrap_or_default();
            assert_eq!(counts.created, live, "{id}: {collection} created");
            assert_eq!(counts.updated + counts.to_be_deleted, 0, "{id}: {collection}");
        }
        // The same package again changes nothing.
        let again = import_dir(&store, &dir, &options(2)).await.unwrap();
        for (collection, counts) in &again.resources {
            assert_eq!(counts.written(), 0, "{id}: re-import wrote {collection}");
        }
    }
}

#[tokio::test]
async fn invalid_cases_are_rejected_with_the_expected_error() {
    for dir in case_dirs("invalid") {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected = expected(&dir);
        let want = &expected["expected_error"];
        let zip = cases().join("zips").join(format!("{id}.zip"));
        let package = if zip.is_file() {
            Package::open(&zip).unwrap()
        } else {
            Package::open(&dir).unwrap()
        };
        let (_tmp, store) = store(&id);
        let problems = rejected(import(&store, package, &options(1)).await);
        let found = problems.iter().any(|p| {
            p.file == want["file"].as_str().unwrap()
                && want["row"].as_u64().is_none_or(|row| p.line == Some(row))
                && want["field"].as_str().is_none_or(|f| p.column.as_deref() == Some(f))
                && p.rule == want["rule"].as_str().unwrap()
        });
        let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(found, "{id}: expected {want} among:\n{}", listed.join("\n"));
        assert!(
            snapshot(&store).await.is_empty(),
            "{id}: a rejected package wrote records"
        );
    }
}

#[tokio::test]
async fn valid_cases_import_from_zips_too() {
    let tmp = TempDir::new("zips");
    for dir in case_dirs("valid") {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let zip_path = tmp.path().join(format!("{id}.zip"));
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "csv") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
                std::io::Write::write_all(&mut zip, &std::fs::read(&path).unwrap()).unwrap();
            }
        }
        zip.finish().unwrap();
        let (_tmp, store) = store(&id);
        import(&store, Package::open(&zip_path).unwrap(), &options(1))
            .await
            .unwrap_or_else(|e| panic!("{id}.zip should be accepted: {e:?}"));
    }
}
