//! `rollcall extensions add|list|remove` round trip on a database file:
//! what the CLI declares, the service reads back; a bad
//! declaration is refused with a message naming the problem.

use std::process::{Command, Output};
use std::sync::Arc;

use rollcall_service::Extensions;
use rollcall_store::Store;
use serde_json::{Value, json};

mod common;

fn extensions(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("extensions")
        .args(args)
        .env("ROLLCALL_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("NO_COLOR", "1")
        .output()
        .expect("run rollcall")
}

#[track_caller]
fn succeeded(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn declared_fields_round_trip_through_the_cli() {
    let dir = common::Dir::new("extensions");
    let db = dir.0.join("rollcall.db");
    drop(rollcall_store_sqlite::open(&db).unwrap());

    let add = [
        "add",
        "users",
        "house",
        "--type",
        "enum",
        "--values",
        "red,blue",
        "--indexed",
    ];
    assert!(succeeded(&extensions(&db, &add)).contains("metadata.ext.house"));
    succeeded(&extensions(
        &db,
        &["add", "users", "locker", "--type", "integer", "--unique"],
    ));
    let bad = extensions(&db, &["add", "users", "shoe", "--type", "colour"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && stderr.contains("colour"), "{stderr}");
    let clash = extensions(&db, &["add", "users", "house", "--type", "string"]);
    assert!(!clash.status.success(), "a name is declared once");

    let table = succeeded(&extensions(&db, &["list"]));
    assert!(
        table.starts_with("RESOURCE") && table.contains("metadata.ext.locker"),
        "{table}"
    );
    let listed: Value = serde_json::from_str(&succeeded(&extensions(&db, &["list", "users", "--json"]))).unwrap();
    assert_eq!(
        listed,
        json!([
            {"resource": "users", "name": "house", "type": "enum", "values": ["red", "blue"],
             "unique": false, "indexed": true, "required": false},
            {"resource": "users", "name": "locker", "type": "integer",
             "unique": true, "indexed": false, "required": false},
        ])
    );

    succeeded(&extensions(&db, &["remove", "users", "house"]));
    assert!(!extensions(&db, &["remove", "users", "house"]).status.success());
    let store: Arc<dyn Store> = Arc::new(rollcall_store_sqlite::open(&db).unwrap());
    let set = Extensions::new(store).reload().await.unwrap();
    let names: Vec<&str> = set.all().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["locker"]);
}
