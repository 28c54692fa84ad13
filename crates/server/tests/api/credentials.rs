//! registerStudentCredentials and decryptCredential: the password round
//! trip, its own scope for decrypting, sealed storage, key rotation, and
//! refused input that stores nothing.

use std::io::Write;
use std::sync::{Arc, Mutex};

use oneroster::model::user::USERS;
use rollcall_server::{AppState, ConnectionLimits, ServerConfig};
use rollcall_service::Credentials;
use rollcall_service::credentials::{CredentialKey, KeyConfig, Registration};
use rollcall_service::scope::uri;
use rollcall_store::{CredentialRecord, Store};
use serde_json::{Value, json};

use crate::helpers::{TestApp, user};

const PASSWORD: &str = "Pl41n-t3xt-passw0rd";

fn registration(application: &str, password: &str) -> Value {
    json!({"applicationName": application, "credentials": {"username": "ann.khan", "password": password}})
}

/// An app with one user, `u1`, and another, `u2`.
async fn app_with_users() -> TestApp {
    let app = TestApp::spawn().await;
    app.seed_school().await;
    app.create("users", "user", user("u1", "Ann", "Leeward")).await;
    app.create("users", "user", user("u2", "Bo", "Windward")).await;
    app
}

/// POSTs with `token` (no body for a decrypt).
async fn post_as(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> crate::helpers::Reply {
    let request = app.http.post(app.url(path)).bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    app.send(request).await
}

/// Every credential stored, whatever its key.
async fn all_credentials(store: &Arc<dyn Store>) -> Vec<CredentialRecord> {
    store.credentials_sealed_otherwise("", 1000).await.unwrap()
}

#[tokio::test]
async fn a_registered_password_decrypts_and_registering_again_replaces_it() {
    let app = app_with_users().await;
    let r = app
        .post("users/u1/credentials", registration("Khan Academy", PASSWORD))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["message"], "Student credentials created successfully");
    let id = r.body["credentialId"].as_str().unwrap().to_owned();
    let profile = r.body["userProfileId"].as_str().unwrap().to_owned();
    assert_eq!(r.body.as_object().unwrap().len(), 3, "{}", r.body);

    let d = app
        .post(&format!("users/u1/credentials/{id}/decrypt"), Value::Null)
        .await;
    assert_eq!((d.status, &d.body), (200, &json!({ "password": PASSWORD })));

    let again = app
        .post("users/u1/credentials", registration("Khan Academy", "n3w-one"))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["message"], "Student credentials updated successfully");
    assert_eq!(
        (
            again.body["credentialId"].as_str(),
            again.body["userProfileId"].as_str()
        ),
        (Some(id.as_str()), Some(profile.as_str()))
    );
    let d = app
        .post(&format!("users/u1/credentials/{id}/decrypt"), Value::Null)
        .await;
    assert_eq!(d.body, json!({ "password": "n3w-one" }));

    let other = app
        .post("users/u1/credentials", registration("Duolingo", PASSWORD))
        .await;
    assert_eq!(other.status, 201);
    assert_ne!(other.body["credentialId"].as_str(), Some(id.as_str()));
}

#[tokio::test]
async fn the_password_is_in_no_read_and_no_export() {
    let app = app_with_users().await;
    let r = app
        .post("users/u1/credentials", registration("Khan Academy", PASSWORD))
        .await;
    assert_eq!(r.status, 201);
    for path in ["users/u1", "users", "users/u1/demographics"] {
        let read = app.get(path).await;
        assert!(!read.body.to_string().contains(PASSWORD), "{path}: {}", read.body);
    }
    let dir = std::env::temp_dir().join(format!("rollcall-credentials-export-{}", uuid::Uuid::new_v4()));
    rollcall_csv::export(app.rollcall.engine.store().as_ref(), &dir)
        .await
        .unwrap();
    for file in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!text.contains(PASSWORD) && !text.contains("ann.khan"), "{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn decrypting_needs_its_own_scope_and_registering_the_write_scope() {
    let app = app_with_users().await;
    let writer = app.fetch_token(Some(&uri("roster.createput"))).await;
    let r = post_as(
        &app,
        &writer,
        "users/u1/credentials",
        Some(registration("Khan", PASSWORD)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let decrypt = format!(
        "users/u1/credentials/{}/decrypt",
        r.body["credentialId"].as_str().unwrap()
    );

    for scope in ["roster.createput", "admin", "roster.readonly"] {
        let token = app.fetch_token(Some(&uri(scope))).await;
        let d = post_as(&app, &token, &decrypt, None).await;
        d.assert_imsx(403, "forbidden");
        assert!(
            d.body["imsx_description"]
                .as_str()
                .unwrap()
                .contains("roster-credentials.decrypt")
        );
    }
    let reader = app.fetch_token(Some(&uri("roster.readonly"))).await;
    post_as(&app, &reader, "users/u1/credentials", Some(registration("Khan", "x")))
        .await
        .assert_imsx(403, "forbidden");

    let decrypter = app.fetch_token(Some(&uri("roster-credentials.decrypt"))).await;
    let d = post_as(&app, &decrypter, &decrypt, None).await;
    assert_eq!((d.status, &d.body), (200, &json!({ "password": PASSWORD })));
    post_as(
        &app,
        &decrypter,
        "users/u1/credentials",
        Some(registration("Khan", "x")),
    )
    .await
    .assert_imsx(403, "forbidden");
}

#[tokio::test]
async fn unknown_users_and_other_users_credentials_are_404() {
    let app = app_with_users().await;
    app.post("users/nobody/credentials", registration("Khan", PASSWORD))
        .await
        .assert_imsx(404, "unknownobject");
    let r = app.post("users/u1/credentials", registration("Khan", PASSWORD)).await;
    let id = r.body["credentialId"].as_str().unwrap();
    for path in [
        format!("users/u2/credentials/{id}/decrypt"),
        format!("users/nobody/credentials/{id}/decrypt"),
        "users/u1/credentials/no-such-credential/decrypt".to_owned(),
    ] {
        let d = app.post(&path, Value::Null).await;
        d.assert_imsx(404, "unknownobject");
        assert!(!d.body.to_string().contains(PASSWORD));
    }
    assert_eq!(all_credentials(app.rollcall.engine.store()).await.len(), 1);
}

#[tokio::test]
async fn bad_bodies_are_422_naming_the_field_and_store_nothing() {
    let app = app_with_users().await;
    let good = registration("Khan", PASSWORD);
    let cases = [
        (json!(["Khan"]), "the body"),
        (json!({"credentials": good["credentials"]}), "applicationName"),
        (
            json!({"applicationName": "", "credentials": good["credentials"]}),
            "applicationName",
        ),
        (
            json!({"applicationName": 7, "credentials": good["credentials"]}),
            "applicationName",
        ),
        (json!({"applicationName": "Khan"}), "credentials"),
        (
            json!({"applicationName": "Khan", "credentials": "ann:pw"}),
            "credentials",
        ),
        (
            json!({"applicationName": "Khan", "credentials": {"password": PASSWORD}}),
            "credentials.username",
        ),
        (
            json!({"applicationName": "Khan", "credentials": {"username": "ann"}}),
            "credentials.password",
        ),
        (
            json!({"applicationName": "Khan", "credentials": {"username": "ann", "password": null}}),
            "credentials.password",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("users/u1/credentials", body.clone()).await;
        r.assert_imsx(422, "invaliddata");
        let description = r.body["imsx_description"].as_str().unwrap();
        assert!(description.contains(field), "{body}: {description}");
    }
    let malformed = app
        .http
        .post(app.url("users/u1/credentials"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"applicationName\":");
    app.send(malformed).await.assert_imsx(400, "invaliddata");
    assert!(all_credentials(app.rollcall.engine.store()).await.is_empty());
}

/// A second server over the same database with other credentials keys.
async fn server_with(app: &TestApp, keys: KeyConfig) -> (rollcall_server::testing::RunningServer, Credentials) {
    let mut rollcall = app.rollcall.clone();
    rollcall.credentials = Credentials::new(app.rollcall.engine.store().clone(), keys);
    let credentials = rollcall.credentials.clone();
    let server = rollcall_server::testing::start_with(
        AppState::new(rollcall, ServerConfig::default()),
        ConnectionLimits::default(),
    )
    .await;
    (server, credentials)
}

async fn decrypt_on(app: &TestApp, base: &str, id: &str) -> crate::helpers::Reply {
    let url = format!("{base}{}/users/u1/credentials/{id}/decrypt", crate::helpers::API);
    app.send(app.http.post(url).bearer_auth(&app.token)).await
}

#[tokio::test]
async fn after_a_key_rotation_old_credentials_still_decrypt_and_reseal_retires_the_old_key() {
    let app = app_with_users().await;
    let (old, new) = (CredentialKey::generate_base64(), CredentialKey::generate_base64());
    let key = |text: &str| CredentialKey::from_base64(text).unwrap();
    let (before, _) = server_with(
        &app,
        KeyConfig {
            current: Some(key(&old)),
            older: vec![],
        },
    )
    .await;
    let url = format!("{}{}/users/u1/credentials", before.base, crate::helpers::API);
    let r = app
        .send(
            app.http
                .post(url)
                .bearer_auth(&app.token)
                .json(&registration("Khan", PASSWORD)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["credentialId"].as_str().unwrap().to_owned();
    let stored = all_credentials(app.rollcall.engine.store()).await;
    assert_eq!(stored[0].key_id, key(&old).id());

    let rotated = KeyConfig {
        current: Some(key(&new)),
        older: vec![key(&old)],
    };
    let (during, credentials) = server_with(&app, rotated).await;
    assert_eq!(
        decrypt_on(&app, &during.base, &id).await.body,
        json!({ "password": PASSWORD })
    );

    let (without_old, _) = server_with(
        &app,
        KeyConfig {
            current: Some(key(&new)),
            older: vec![],
        },
    )
    .await;
    let refused = decrypt_on(&app, &without_old.base, &id).await;
    refused.assert_imsx(500, "internal_server_error");
    assert!(!refused.body.to_string().contains(PASSWORD));

    assert_eq!(credentials.reseal().await.unwrap(), 1);
    assert_eq!(credentials.reseal().await.unwrap(), 0);
    assert_eq!(
        all_credentials(app.rollcall.engine.store()).await[0].key_id,
        key(&new).id()
    );
    let (after, _) = server_with(
        &app,
        KeyConfig {
            current: Some(key(&new)),
            older: vec![],
        },
    )
    .await;
    assert_eq!(
        decrypt_on(&app, &after.base, &id).await.body,
        json!({ "password": PASSWORD })
    );
}

/// Everything the tracing subscriber writes, kept for inspection.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_password_is_never_logged_nor_shown_by_debug() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = app_with_users().await;
    let r = app.post("users/u1/credentials", registration("Khan", PASSWORD)).await;
    let id = r.body["credentialId"].as_str().unwrap();
    let d = app
        .post(&format!("users/u1/credentials/{id}/decrypt"), Value::Null)
        .await;
    assert_eq!(d.body["password"], PASSWORD);
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("credential decrypted"), "the decrypt is logged: {logs}");
    assert!(!logs.contains(PASSWORD), "{logs}");

    let record = all_credentials(app.rollcall.engine.store()).await.remove(0);
    let parsed = Registration::from_json(&registration("Khan", PASSWORD)).unwrap();
    for shown in [format!("{record:?}"), format!("{parsed:?}")] {
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(&format!("{:?}", record.sealed)),
            "{shown}"
        );
    }
}

/// Whatever holds the database, to read behind the store.
enum Behind {
    Sqlite(std::path::PathBuf),
    Postgres(rollcall_store_postgres::testing::TestDb),
}

impl Behind {
    async fn open() -> (Arc<dyn Store>, Self) {
        if std::env::var("ROLLCALL_TEST_BACKEND").as_deref() == Ok("postgres") {
            let db = rollcall_store_postgres::testing::TestDb::create()
                .await
                .expect("PostgreSQL");
            return (Arc::new(db.open().await), Self::Postgres(db));
        }
        let dir = std::env::temp_dir().join(format!("rollcall-credentials-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = rollcall_store_sqlite::open(&dir.join("rollcall.db")).unwrap();
        (Arc::new(store), Self::Sqlite(dir))
    }

    /// Every byte stored: the SQLite files (database and WAL), or the
    /// credentials rows as PostgreSQL returns them.
    async fn stored_bytes(&self) -> Vec<u8> {
        match self {
            Self::Sqlite(dir) => std::fs::read_dir(dir)
                .unwrap()
                .flat_map(|f| std::fs::read(f.unwrap().path()).unwrap())
                .collect(),
            Self::Postgres(db) => {
                let rows = db
                    .sql()
                    .await
                    .query("SELECT sealed FROM credentials", &[])
                    .await
                    .unwrap();
                rows.iter().flat_map(|r| r.get::<_, Vec<u8>>(0)).collect()
            }
        }
    }
}

#[tokio::test]
async fn the_database_holds_the_password_only_sealed() {
    let (store, behind) = Behind::open().await;
    let mut doc = user("u1", "Ann", "Leeward");
    doc["status"] = json!("active");
    doc["dateLastModified"] = json!("2026-01-01T00:00:00.000Z");
    store.insert(&USERS, doc).await.unwrap();
    let credentials = Credentials::new(store.clone(), KeyConfig::default());
    let registration = Registration::from_json(&registration("Khan", PASSWORD)).unwrap();
    let registered = credentials.register("u1", registration).await.unwrap();
    let record = store
        .credential("u1", &registered.credential_id)
        .await
        .unwrap()
        .unwrap();
    assert!(record.sealed.len() > PASSWORD.len());
    let stored = behind.stored_bytes().await;
    // The scan sees the sealed secret, and nowhere the password.
    assert!(stored.windows(record.sealed.len()).any(|w| w == record.sealed));
    assert!(!stored.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()));
    assert_eq!(
        credentials
            .decrypt("u1", &registered.credential_id)
            .await
            .unwrap()
            .expose(),
        PASSWORD
    );
    if let Behind::Sqlite(dir) = behind {
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
