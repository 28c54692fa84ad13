//! Rollcall's route table against each reference document: every
//! operation a document lists must be in the served `/openapi.json` (which
//! is generated from the declarations the router is built from) under the
//! same method, path and operationId, and must really be routed; every
//! operation Rollcall documents must be routed and be in the document,
//! unless it is one of the extensions listed below. All mismatches are
//! printed at once.

use std::collections::BTreeMap;

use rollcall_server::Profile;
use serde_json::Value;

use crate::helpers::{API, TestApp};
use crate::reference::{self, Operation, Reference, normalise, operations_of};

/// Operations Rollcall serves beyond a reference document, each with why.
/// A `*` stands for one path segment.
const EXTENSIONS: &[(&str, &str, &str)] = &[
    // Partial update of any resource (RFC 7396 merge patch): Rollcall's own.
    (
        "PATCH",
        "/ims/oneroster/rostering/v1p2/*/{}",
        "merge-patch of a resource",
    ),
    (
        "PATCH",
        "/ims/oneroster/rostering/v1p2/courses/*/{}",
        "merge-patch of a course component or component resource",
    ),
    // Bulk writes of any collection (and of the nested course collections).
    ("POST", "/ims/oneroster/rostering/v1p2/*/bulk", "bulk write"),
    ("POST", "/ims/oneroster/rostering/v1p2/courses/*/bulk", "bulk write"),
    // The OAuth 2.0 client-credentials token endpoint every client starts at.
    ("POST", "/oauth2/token", "OAuth token endpoint"),
    // Bulk CSV import and its job status: administration, not rostering.
    ("POST", "/admin/import", "CSV import"),
    ("GET", "/admin/import/jobs/{}", "CSV import job status"),
    // Webhook subscriptions to the change feed: administration.
    ("POST", "/admin/webhooks", "subscribe a webhook"),
    ("GET", "/admin/webhooks", "list webhooks"),
    ("GET", "/admin/webhooks/{}", "a webhook's state"),
    ("DELETE", "/admin/webhooks/{}", "remove a webhook"),
    ("POST", "/admin/webhooks/{}/resume", "resume a webhook"),
    ("POST", "/admin/webhooks/{}/pause", "pause a webhook"),
    ("POST", "/admin/webhooks/{}/secret", "rotate a webhook's secret"),
    // Typed extension fields: administration, not rostering.
    ("GET", "/admin/extensions", "extension fields"),
    ("GET", "/admin/extensions/{}", "extension fields of a resource"),
    ("POST", "/admin/extensions/{}", "declare an extension field"),
    ("DELETE", "/admin/extensions/{}/{}", "remove an extension field"),
    // What each collection filters, sorts and selects by.
    (
        "GET",
        "/ims/oneroster/rostering/v1p2/capabilities",
        "capabilities discovery",
    ),
    // History (issue 18): the change feed and every resource's audit trail.
    ("GET", "/ims/oneroster/rostering/v1p2/changes", "change feed"),
    (
        "GET",
        "/ims/oneroster/rostering/v1p2/*/{}/audit",
        "audit trail of a resource",
    ),
    (
        "GET",
        "/ims/oneroster/rostering/v1p2/courses/*/{}/audit",
        "audit trail of a course component or component resource",
    ),
];

/// Rollcall serves one route table in every profile (profiles change
/// shapes, not routes), so against the two narrower documents an operation
/// that TimeBack's December 2025 document (the superset) lists is an
/// extension too.
/// (`superset` is empty when the document compared is that superset.)
fn allowed_extra(op: &Operation, superset: &BTreeMap<String, String>) -> bool {
    let listed = EXTENSIONS
        .iter()
        .any(|(method, pattern, _)| *method == op.method && matches(pattern, &normalise(&op.path)));
    listed || superset.contains_key(&op.key)
}

fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len() && p.iter().zip(&q).all(|(a, b)| *a == "*" || a == b)
}

/// A path with each `{param}` filled, so the request can reach a handler.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "route-probe" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a request with this method and path reaches a handler: the
/// router's fallback answers 404 "no such endpoint", a wrong method 405.
async fn routed(app: &TestApp, method: &str, path: &str) -> Result<(), String> {
    let url = format!("{}{}", app.base, concrete(path));
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.http.request(method.clone(), &url).bearer_auth(&app.token);
    if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
        req = req.json(&serde_json::json!({}));
    }
    let r = app.send(req).await;
    let fallback = r.status == 404 && r.body["imsx_description"] == "no such endpoint";
    match r.status {
        405 => Err("405 method not allowed".into()),
        404 if fallback => Err("404 no such endpoint".into()),
        _ => Ok(()),
    }
}

/// Every mismatch between Rollcall's operations and one reference document.
async fn mismatches(reference: &Reference, superset: &BTreeMap<String, String>) -> Vec<String> {
    let app = TestApp::spawn_with(reference.profile).await;
    let served = app.get("/openapi.json").await;
    assert_eq!(served.status, 200);
    let ours: BTreeMap<String, Operation> = operations_of(&served.body, "", "/")
        .into_iter()
        .map(|op| (op.key.clone(), op))
        .collect();
    let theirs = reference.operations();
    let mut out = Vec::new();
    for op in &theirs {
        match ours.get(&op.key) {
            None => {
                let routing = match routed(&app, &op.method, &op.path).await {
                    Ok(()) => {
                        "not in /openapi.json; a request to it is answered, maybe by a parameter route".to_owned()
                    }
                    Err(e) => format!("not routed: {e}"),
                };
                out.push(format!("missing {} ({routing})", op.name()));
            }
            Some(mine) if mine.id != op.id => out.push(format!(
                "operationId of {} {}: Rollcall says {}, the document {}",
                op.method, op.path, mine.id, op.id
            )),
            Some(_) => {}
        }
    }
    let documented: Vec<&String> = theirs.iter().map(|op| &op.key).collect();
    for (key, op) in &ours {
        if let Err(e) = routed(&app, &op.method, &op.path).await {
            out.push(format!("in /openapi.json but not routed ({e}): {}", op.name()));
        }
        if !documented.contains(&key) && !allowed_extra(op, superset) {
            out.push(format!(
                "extra {} (not in the document, not a listed extension)",
                op.name()
            ));
        }
    }
    out
}

/// Compares one document; fails with every mismatch it found.
async fn compare(reference: Reference) {
    let superset: BTreeMap<String, String> = match reference.profile {
        Profile::Timeback => BTreeMap::new(),
        _ => reference::timeback()
            .operations()
            .into_iter()
            .map(|op| (op.key, op.id))
            .collect(),
    };
    let found = mismatches(&reference, &superset).await;
    assert!(
        found.is_empty(),
        "{} ({} profile, {} operations under {API}): {} route table mismatches\n  {}",
        reference.file,
        reference.profile.as_str(),
        reference.operations().len(),
        found.len(),
        found.join("\n  ")
    );
}

#[tokio::test]
async fn route_table_matches_official_1p2() {
    compare(reference::official()).await;
}

#[tokio::test]
async fn route_table_matches_timeback_2025_12() {
    compare(reference::timeback()).await;
}

#[tokio::test]
async fn route_table_matches_timeback_2025_04() {
    compare(reference::timeback_2025_04()).await;
}

#[test]
fn paths_compare_without_parameter_names_or_trailing_slashes() {
    assert_eq!(normalise("/a/users/{sourcedId}/"), "/a/users/{}");
    assert_eq!(normalise("/a/users/{userSourcedId}/classes"), "/a/users/{}/classes");
    assert_eq!(normalise("/"), "/");
    assert!(matches("/x/*/{}", "/x/users/{}"));
    assert!(!matches("/x/*/{}", "/x/users/{}/classes"));
    let doc: Value = serde_json::json!({"paths": {"/users/": {"get": {"operationId": "getAllUsers"}},
        "/other": {"get": {}}}});
    let ops = operations_of(&doc, API, API);
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0].key, format!("GET {API}/users"));
    assert_eq!(ops[1].id, "(no operationId)");
}

#[test]
fn only_listed_extensions_and_superset_operations_may_be_extra() {
    let doc = serde_json::json!({"paths": {
        "/users/{id}": {"patch": {"operationId": "patchUser"}, "get": {"operationId": "getUser"}},
        "/secrets": {"get": {"operationId": "getSecrets"}},
    }});
    let ops = operations_of(&doc, API, API);
    let op = |id: &str| ops.iter().find(|op| op.id == id).unwrap();
    let none = BTreeMap::new();
    assert!(allowed_extra(op("patchUser"), &none), "PATCH on a resource is listed");
    assert!(!allowed_extra(op("getUser"), &none));
    assert!(!allowed_extra(op("getSecrets"), &none));
    let superset = BTreeMap::from([(op("getUser").key.clone(), "getUser".to_owned())]);
    assert!(allowed_extra(op("getUser"), &superset), "in the superset");
}
