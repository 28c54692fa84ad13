//! `POST /admin/import`: a CSV package imported through the running server.

use std::io::Write;

use crate::helpers::{Reply, TestApp};

fn cases() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/csv-cases");
    assert!(
        dir.is_dir(),
        "{} is missing: the shared CSV cases are needed",
        dir.display()
    );
    dir
}

/// The files of a case folder, zipped at the root as the binding requires.
fn zip_case(name: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in std::fs::read_dir(cases().join("valid").join(name)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            zip.start_file(file, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

async fn post(app: &TestApp, token: &str, query: &str, body: Vec<u8>, content_type: &str) -> Reply {
    let req = app
        .http
        .post(app.url(&format!("/admin/import{query}")))
        .bearer_auth(token);
    app.send(req.header("content-type", content_type).body(body)).await
}

#[tokio::test]
async fn a_valid_package_imports_and_a_dry_run_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.fetch_token(Some("admin")).await;
    let dry = post(&app, &admin, "?dryRun=true", zip_case("V01"), "application/zip").await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let would_create = dry.body["report"]["resources"]["users"]["created"].as_u64().unwrap();
    assert!(would_create > 0, "{}", dry.body);
    assert_eq!(dry.body["report"]["dryRun"], true);
    assert_eq!(app.get("users").await.body["totalCount"], 0, "a dry run wrote users");
    let done = post(&app, &admin, "", zip_case("V01"), "application/zip").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["report"]["resources"]["users"]["created"], would_create);
    assert_eq!(app.get("users").await.body["totalCount"], would_create);
}

#[tokio::test]
async fn an_invalid_package_is_rejected_with_every_problem_itemised() {
    let app = TestApp::spawn().await;
    let admin = app.fetch_token(Some("admin")).await;
    let zip = std::fs::read(cases().join("zips/I07.zip")).unwrap();
    let r = post(&app, &admin, "", zip, "application/zip").await;
    r.assert_imsx(422, "invaliddata");
    let details = r.body["imsx_error_details"].as_array().expect("itemised problems");
    assert!(
        details.iter().any(|d| d["rule"] == "zip.entry_nested_path"),
        "{}",
        r.body
    );
    assert_eq!(app.get("orgs").await.body["totalCount"], 0);
}

#[tokio::test]
async fn import_needs_the_admin_scope_and_a_zip() {
    let app = TestApp::spawn().await;
    let writer = app.fetch_token(Some("roster.createput roster.delete")).await;
    post(&app, &writer, "", zip_case("V01"), "application/zip")
        .await
        .assert_imsx(403, "forbidden");
    let admin = app.fetch_token(Some("admin")).await;
    post(&app, &admin, "", b"a,b".to_vec(), "text/csv")
        .await
        .assert_imsx(415, "invaliddata");
    post(&app, &admin, "", b"not a zip".to_vec(), "application/zip")
        .await
        .assert_imsx(400, "invaliddata");
    post(&app, &admin, "?force=maybe", zip_case("V01"), "application/zip")
        .await
        .assert_imsx(400, "invaliddata");
}

/// An import that outlasts the server's wait answers 202 with a status URL;
/// the job carries on and reports the answer the import would have given.
#[tokio::test]
async fn a_long_import_becomes_a_job_with_a_status_url() {
    let app = TestApp::spawn_config(rollcall_server::ServerConfig {
        import_wait: std::time::Duration::ZERO,
        ..rollcall_server::ServerConfig::default()
    })
    .await;
    let admin = app.fetch_token(Some("admin")).await;
    let accepted = post(&app, &admin, "", zip_case("V01"), "application/zip").await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let location = accepted.headers["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/admin/import/jobs/"), "{location}");
    assert_eq!(accepted.body["job"]["status"], "running");

    let status = |token: String| {
        let (app, location) = (&app, location.clone());
        async move { app.send(app.http.get(app.url(&location)).bearer_auth(token)).await }
    };
    let mut job = status(admin.clone()).await;
    for _ in 0..300 {
        if job.body["job"]["status"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        job = status(admin.clone()).await;
    }
    assert_eq!(job.status, 200);
    assert_eq!(job.body["job"]["status"], "succeeded", "{}", job.body);
    assert_eq!(job.body["job"]["httpStatus"], 200);
    let created = job.body["job"]["result"]["report"]["resources"]["users"]["created"].clone();
    assert_eq!(app.get("users").await.body["totalCount"], created);
    let progress = &job.body["job"]["progress"];
    assert_eq!(progress["written"], progress["total"], "{}", job.body);

    let reader = app.fetch_token(Some("roster.readonly")).await;
    status(reader).await.assert_imsx(403, "forbidden");
    app.send(app.http.get(app.url("/admin/import/jobs/nope")).bearer_auth(&admin))
        .await
        .assert_imsx(404, "unknownobject");
}
