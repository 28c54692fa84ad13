//! `rollcall credentials reseal`: after it, credentials sealed under an old
//! key open with the new key alone; a malformed key is refused, not echoed.

use std::process::{Command, Output};
use std::sync::Arc;

use oneroster::model::user::USERS;
use rollcall_service::Credentials;
use rollcall_service::credentials::{CredentialKey, KeyConfig, Registration};
use rollcall_store::Store;
use serde_json::json;

mod common;

fn reseal(db: &std::path::Path, key: &str, old: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["credentials", "reseal"])
        .env("ROLLCALL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("ROLLCALL_CREDENTIALS_KEY", key)
        .env("ROLLCALL_CREDENTIALS_OLD_KEYS", old)
        .env("NO_COLOR", "1")
        .output()
        .expect("run rollcall")
}

fn keys(current: &str, older: &[&str]) -> KeyConfig {
    let key = |text: &str| CredentialKey::from_base64(text).unwrap();
    KeyConfig {
        current: Some(key(current)),
        older: older.iter().map(|k| key(k)).collect(),
    }
}

#[tokio::test]
async fn reseal_moves_credentials_to_the_current_key() {
    let dir = common::Dir::new("credentials");
    let db = dir.0.join("rollcall.db");
    let (old, new) = (CredentialKey::generate_base64(), CredentialKey::generate_base64());
    let store: Arc<dyn Store> = Arc::new(rollcall_store_sqlite::open(&db).unwrap());
    let user = json!({"sourcedId": "u1", "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
        "enabledUser": "true", "givenName": "Ann", "familyName": "Lee", "roles": []});
    store.insert(&USERS, user).await.unwrap();
    let body = json!({"applicationName": "Khan", "credentials": {"username": "ann", "password": "s3cret"}});
    let registered = Credentials::new(store.clone(), keys(&old, &[]))
        .register("u1", Registration::from_json(&body).unwrap())
        .await
        .unwrap();
    drop(store);

    let refused = reseal(&db, "not-a-key", &old);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("ROLLCALL_CREDENTIALS_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains(&old), "{stderr}");

    let done = reseal(&db, &new, &old);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(stdout.contains("resealed 1 credentials"), "{stdout}");

    let store: Arc<dyn Store> = Arc::new(rollcall_store_sqlite::open(&db).unwrap());
    let password = Credentials::new(store, keys(&new, &[]))
        .decrypt("u1", &registered.credential_id)
        .await
        .unwrap();
    assert_eq!(password.expose(), "s3cret");
}
