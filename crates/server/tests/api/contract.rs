//! The OpenAPI document is the published contract: any change to it must be
//! reviewed. This test compares it with the committed snapshot; after an
//! intended change, regenerate with `UPDATE_SNAPSHOTS=1 cargo nextest run -p
//! rollcall-server contract` and review the diff.

use std::path::PathBuf;

use rollcall_server::testing::fixtures;
use serde_json::{Value, json};

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
            format!("/ims/oneroster/rostering/v1p2/{}", decl.path()),
            format!("/ims/oneroster/rostering/v1p2/{}/{{sourcedId}}", decl.path()),
        ] {
            assert!(doc["paths"].get(&path).is_some(), "{path} is routed but not documented");
        }
    }
}

/// The document's `fields` and `sourcedId` schemas say what the server
/// accepts: a value is valid by the document exactly when the server takes
/// it (so a contract test generating from the document sends valid input).
#[tokio::test]
async fn documented_fields_and_sourced_ids_are_what_the_server_accepts() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json").await.body;
    let params = doc["paths"]["/ims/oneroster/rostering/v1p2/orgs"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let fields = params.iter().find(|p| p["name"] == "fields").unwrap();
    let fields = jsonschema::validator_for(&fields["schema"]).unwrap();
    for selection in [
        "sourcedId",
        "name, type",
        " name ,sourcedId",
        "",
        "name,,type",
        "nope",
        "name,",
    ] {
        let reply = app
            .get(&format!("/ims/oneroster/rostering/v1p2/orgs?fields={selection}"))
            .await;
        assert_eq!(
            fields.is_valid(&json!(selection)),
            reply.status == 200,
            "fields={selection:?}: {}",
            reply.status
        );
    }
    let id = jsonschema::validator_for(&doc["components"]["schemas"]["OrgDType"]["properties"]["sourcedId"]).unwrap();
    let long = "x".repeat(257);
    for (n, sourced_id) in [
        "org-1", "é", "a b", "", "a/b", "a?b", "a#b", "a\u{1}b", "a\u{85}b", &long,
    ]
    .into_iter()
    .enumerate()
    {
        let mut org = fixtures::org("unused", "North");
        org["sourcedId"] = json!(sourced_id);
        org["identifier"] = json!(format!("ID-{n}"));
        let reply = app
            .post("/ims/oneroster/rostering/v1p2/orgs", json!({ "org": org }))
            .await;
        assert_eq!(
            id.is_valid(&json!(sourced_id)),
            reply.status == 201,
            "sourcedId {sourced_id:?}: {}",
            reply.status
        );
    }
}
