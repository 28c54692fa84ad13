//! The OpenAPI document is the published contract: any change to it must be
//! reviewed. This test compares it with the committed snapshot; after an
//! intended change, regenerate with `UPDATE_SNAPSHOTS=1 cargo nextest run -p
//! rollcall-server contract` and review the diff.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::TestApp;

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/snapshots/openapi.json")
}

#[tokio::test]
async fn the_served_openapi_document_matches_the_reviewed_snapshot() {
    let app = TestApp::spawn().await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let text = serde_json::to_string_pretty(&served.body).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path(), &text).unwrap();
    }
    let snapshot = std::fs::read_to_string(snapshot_path()).expect("the snapshot file exists");
    let expected: Value = serde_json::from_str(&snapshot).unwrap();
    assert!(
        served.body == expected,
        "the OpenAPI document changed; review it and regenerate the snapshot (see this file's doc)"
    );
}

#[tokio::test]
async fn every_routed_collection_is_documented() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json").await.body;
    for decl in oneroster::resource::all() {
        for path in [
            format!("/ims/oneroster/rostering/v1p2/{}", decl.collection),
            format!("/ims/oneroster/rostering/v1p2/{}/{{sourcedId}}", decl.collection),
        ] {
            assert!(doc["paths"].get(&path).is_some(), "{path} is routed but not documented");
        }
    }
}
