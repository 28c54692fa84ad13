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
pub(crate) fn zip_case(name: &str) -> Vec<u8> {
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

pub(crate) async fn post(app: &TestApp, token: &str, query: &str, body: Vec<u8>, content_type: &str) -> Reply {
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

/// Sends an import's head and the first bytes of a body said to be much
/// longer, and leaves the connection open.
pub(crate) async fn start_upload(app: &TestApp, token: &str, length: u64) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /admin/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/zip\r\nContent-Length: {length}\r\n\r\nPK"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// The status line the server answers on `stream`, within 5 s.
async fn status_line(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer before the body is sent")
        .unwrap();
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn the_scope_and_the_length_are_checked_before_the_body_is_read() {
    let app = TestApp::spawn().await;
    let reader = app.fetch_token(Some("roster-core.readonly")).await;
    let mut upload = start_upload(&app, &reader, 100 << 20).await;
    assert!(status_line(&mut upload).await.starts_with("HTTP/1.1 403"));
    let admin = app.fetch_token(Some("admin")).await;
    let mut upload = start_upload(&app, &admin, 300 << 20).await;
    assert!(status_line(&mut upload).await.starts_with("HTTP/1.1 413"));
}

#[tokio::test]
async fn one_import_runs_at_a_time() {
    let app = TestApp::spawn().await;
    let admin = app.fetch_token(Some("admin")).await;
    let upload = start_upload(&app, &admin, 10 << 20).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let busy = post(&app, &admin, "?dryRun=true", zip_case("V01"), "application/zip").await;
    busy.assert_imsx(503, "server_busy");
    assert!(busy.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
    drop(upload);
    let mut done = busy;
    for _ in 0..50 {
        done = post(&app, &admin, "?dryRun=true", zip_case("V01"), "application/zip").await;
        if done.status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        done.status, 200,
        "the slot is free once the first upload is gone: {}",
        done.body
    );
}

#[tokio::test]
async fn a_zip_bomb_is_refused_without_unpacking_it() {
    let app = TestApp::spawn().await;
    let admin = app.fetch_token(Some("admin")).await;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("manifest.csv", options).unwrap();
    zip.write_all(b"propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,bulk\n")
        .unwrap();
    zip.start_file("users.csv", options).unwrap();
    zip.write_all(&vec![b'0'; 8 << 20]).unwrap();
    let bomb = zip.finish().unwrap().into_inner();
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    let r = post(&app, &admin, "", bomb, "application/zip").await;
    r.assert_imsx(422, "invaliddata");
    let details = r.body["imsx_error_details"].as_array().expect("itemised problems");
    assert!(details.iter().any(|d| d["rule"] == "zip.entry_ratio"), "{}", r.body);
}
