//! Every error class leaves as an imsx body with the right status: unknown
//! routes, wrong methods, oversized, non-JSON and malformed bodies, model
//! violations (each leaving the store untouched), bad query parameters and
//! filters (never returning data); plus the unauthenticated meta endpoints.

use serde_json::{Value, json};

use crate::helpers::{API, Reply, TestApp, org, user};

/// The imsx failure envelope, whatever the code minor.
#[track_caller]
fn assert_envelope(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "body: {}", r.body);
    assert_eq!(r.body["imsx_codeMajor"], "failure", "body: {}", r.body);
    assert_eq!(r.body["imsx_severity"], "error", "body: {}", r.body);
    assert!(r.body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"].is_string());
    assert!(r.body["imsx_description"].as_str().is_some_and(|d| !d.is_empty()));
}

fn description(r: &Reply) -> &str {
    r.body["imsx_description"].as_str().unwrap_or_default()
}

async fn user_count(app: &TestApp) -> u64 {
    let r = app.get("users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["totalCount"].as_u64().unwrap()
}

/// An app holding one user, `u1`, and the user as served.
async fn app_with_one_user() -> (TestApp, Value) {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    let before = app.get("users/u1").await.body;
    (app, before)
}

/// Asserts that nothing was written: still one user, `u1` unchanged.
async fn assert_untouched(app: &TestApp, before: &Value) {
    assert_eq!(user_count(app).await, 1);
    assert_eq!(&app.get("users/u1").await.body, before);
}

/// POSTs raw bytes with a content type.
async fn post_raw(app: &TestApp, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
    let req = app
        .http
        .post(app.url(path))
        .bearer_auth(&app.token)
        .header("content-type", content_type)
        .body(body);
    app.send(req).await
}

fn with(mut doc: Value, pointer: &str, value: Value) -> Value {
    *doc.pointer_mut(pointer).unwrap() = value;
    doc
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let app = TestApp::spawn().await;
    for path in [&format!("{API}/nothing"), "/nope", &format!("{API}/users/u1/nothing")] {
        app.get(path).await.assert_imsx(404, "unknownobject");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let r = app.delete("users").await;
    assert_envelope(&r, 405);
    let allow = r.header("allow").unwrap_or_default().to_ascii_uppercase();
    assert!(allow.contains("GET") && allow.contains("POST"), "Allow: {allow}");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let (app, before) = app_with_one_user().await;
    let big = with(user("u2", "Bob", "Ray"), "/familyName", json!("x".repeat(100 * 1024)));
    let r = app.post("users", json!({ "user": big })).await;
    assert_envelope(&r, 413);
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn a_non_json_body_is_415() {
    let (app, before) = app_with_one_user().await;
    let body = json!({"user": user("u2", "Bob", "Ray")}).to_string();
    let r = post_raw(&app, "users", "text/plain", body).await;
    assert_envelope(&r, 415);
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    let (app, before) = app_with_one_user().await;
    post_raw(&app, "users", "application/json", r#"{"user": {"#)
        .await
        .assert_imsx(400, "invaliddata");
    let put = app
        .http
        .put(app.url("users/u1"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(r#"{"user": {"givenName": "#);
    app.send(put).await.assert_imsx(400, "invaliddata");
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn a_body_without_the_wrapper_is_422() {
    let (app, before) = app_with_one_user().await;
    app.post("users", user("u2", "Bob", "Ray"))
        .await
        .assert_imsx(422, "invaliddata");
    app.post("users", json!([])).await.assert_imsx(422, "invaliddata");
    // A PUT may come bare (TimeBack's update examples do); not a non-object.
    app.put("users/u1", json!([])).await.assert_imsx(422, "invaliddata");
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn wrong_types_are_422_naming_the_field() {
    let (app, before) = app_with_one_user().await;
    let cases = [("/givenName", json!(5), "givenName"), ("/roles", json!("x"), "roles")];
    for (pointer, value, field) in cases {
        let r = app
            .post("users", json!({"user": with(user("u2", "Bob", "Ray"), pointer, value)}))
            .await;
        r.assert_imsx(422, "invaliddata");
        assert!(description(&r).contains(field), "{pointer}: {}", description(&r));
        let r = app
            .put(
                "users/u1",
                json!({"user": with(user("u1", "Bob", "Ray"), pointer, json!(5))}),
            )
            .await;
        r.assert_imsx(422, "invaliddata");
    }
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn missing_required_fields_are_422() {
    let (app, before) = app_with_one_user().await;
    let mut no_family = user("u2", "Bob", "Ray");
    no_family.as_object_mut().unwrap().remove("familyName");
    let no_roles = with(user("u2", "Bob", "Ray"), "/roles", json!([]));
    for (body, field) in [(no_family, "familyName"), (no_roles, "roles")] {
        let r = app.post("users", json!({ "user": body })).await;
        r.assert_imsx(422, "invaliddata");
        assert!(description(&r).contains(field), "{}", description(&r));
    }
    assert_untouched(&app, &before).await;
}

#[tokio::test]
async fn unknown_enum_values_are_422_but_extensions_pass() {
    let (app, before) = app_with_one_user().await;
    let wizard = with(user("u2", "Bob", "Ray"), "/roles/0/role", json!("wizard"));
    let mut gone = user("u2", "Bob", "Ray");
    gone["status"] = json!("gone");
    for body in [wizard, gone] {
        app.post("users", json!({ "user": body }))
            .await
            .assert_imsx(422, "invaliddata");
    }
    assert_untouched(&app, &before).await;

    let coach = with(user("u3", "Cy", "Ray"), "/roles/0/role", json!("ext:coach"));
    let r = app.post("users", json!({ "user": coach })).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(app.get("users/u3").await.body["user"]["roles"][0]["role"], "ext:coach");
}

/// GET `path` and expect a 400 with `code` that carries no data.
async fn assert_rejected(app: &TestApp, path: &str, code: &str) -> Reply {
    let r = app.get(path).await;
    assert_eq!(r.status, 400, "{path}: {}", r.body);
    r.assert_imsx(400, code);
    assert!(r.body.get("users").is_none(), "{path}: {}", r.body);
    r
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn bad_paging_and_sorting_params_are_400() {
    let (app, _) = app_with_one_user().await;
    for query in [
        "limit=0",
        "limit=3001",
        "limit=abc",
        "offset=-1",
        "orderBy=sideways",
        "sort=nope",
    ] {
        assert_rejected(&app, &format!("users?{query}"), "invaliddata").await;
    }
}

#[tokio::test]
async fn a_filter_on_an_unknown_field_is_400_naming_it() {
    let (app, _) = app_with_one_user().await;
    let r = assert_rejected(
        &app,
        &format!("users?filter={}", encode("shoeSize='9'")),
        "invalid_filter_field",
    )
    .await;
    assert!(description(&r).contains("shoeSize"), "{}", description(&r));
    // Free-form metadata keys must have a plain shape.
    for filter in [
        "metadata.='x'",
        "metadata.a.b.c.d.e='x'",
        "metadata.a$b='x'",
        "metadata='x'",
    ] {
        let path = format!("users?filter={}", encode(filter));
        assert_rejected(&app, &path, "invalid_filter_field").await;
    }
}

#[tokio::test]
async fn malformed_filters_are_400_and_return_nothing() {
    let (app, _) = app_with_one_user().await;
    for filter in ["status='active", "status=='x'", "status='a' AND", "(status='a'"] {
        let path = format!("users?filter={}", encode(filter));
        assert_rejected(&app, &path, "invalid_filter_field").await;
    }
}

#[tokio::test]
async fn bad_field_selections_are_400() {
    let (app, _) = app_with_one_user().await;
    for fields in ["nope", "sourcedId,,email"] {
        assert_rejected(&app, &format!("users?fields={fields}"), "invalid_selection_field").await;
        let r = app.get(&format!("users/u1?fields={fields}")).await;
        r.assert_imsx(400, "invalid_selection_field");
        assert!(r.body.get("user").is_none());
    }
}

#[tokio::test]
async fn repeated_query_parameters_are_400() {
    let (app, _) = app_with_one_user().await;
    let many = vec!["fields=sourcedId"; 3500].join("&");
    for (query, code) in [
        (many.as_str(), "invalid_selection_field"),
        ("fields=sourcedId&fields=sourcedId", "invalid_selection_field"),
        ("fields=sourcedId,email,sourcedId", "invalid_selection_field"),
        ("limit=1&limit=1", "invaliddata"),
        ("_=1&_=2", "invaliddata"),
    ] {
        let r = assert_rejected(&app, &format!("users?{query}"), code).await;
        assert!(r.header("link").is_none());
        app.get(&format!("users/u1?{query}")).await.assert_imsx(400, code);
    }
}

#[tokio::test]
async fn health_needs_no_token() {
    let app = TestApp::spawn().await;
    let r = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn the_openapi_document_describes_the_users_api() {
    let app = TestApp::spawn().await;
    let r = app.send(app.http.get(app.url("/openapi.json"))).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    assert!(
        r.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        r.body["openapi"]
    );
    assert!(r.body["paths"].get(format!("{API}/users/{{sourcedId}}")).is_some());
}

/// `/docs` is Swagger UI served from the binary: every asset the page loads
/// answers from this server, with its content type, and the versioned ones
/// may be cached for good.
#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    let assets: Vec<&str> = page.split(['"', '\'']).filter(|s| s.starts_with("/docs/")).collect();
    assert_eq!(assets.len(), 3, "{page}");
    for asset in assets {
        let r = app.http.get(app.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if asset.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(content_type.starts_with(expected), "{asset}: {content_type}");
        let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
        let versioned = asset.contains("/swagger-ui-");
        assert_eq!(cache.contains("immutable"), versioned, "{asset}: {cache}");
    }
    let license = app
        .http
        .get(app.url("/docs/swagger-ui-5.35.0/LICENSE"))
        .send()
        .await
        .unwrap();
    assert!(license.text().await.unwrap().contains("Apache License"));
}

/// Ids that do not survive as a URL path segment (`…/orgs/..` is another
/// URL) or a trimmed CSV cell are refused, in a record and in a reference.
#[tokio::test]
async fn sourced_ids_that_are_not_stable_path_segments_are_422() {
    let app = TestApp::spawn().await;
    for id in [" ", ".", "..", "a\\b", " a", "a ", "\t"] {
        let r = app.post("orgs", json!({"org": org(id, "North High")})).await;
        r.assert_imsx(422, "invaliddata");
        let description = r.body["imsx_description"].as_str().unwrap();
        assert!(description.contains("sourcedId"), "{id:?}: {description}");
    }
    assert_eq!(app.get("orgs").await.body["totalCount"], 0);
    app.create("orgs", "org", org("school-1", "North High")).await;
    let mut child = org("o2", "Annex");
    child["parent"] = json!({"sourcedId": ".."});
    app.post("orgs", json!({ "org": child }))
        .await
        .assert_imsx(422, "invaliddata");
    let r = app
        .patch("orgs/school-1", json!({"org": {"parent": {"sourcedId": "."}}}))
        .await;
    r.assert_imsx(422, "invaliddata");
    assert_eq!(app.get("orgs").await.body["totalCount"], 1);
    app.create("orgs", "org", org("...", "Dots are fine")).await;
}
