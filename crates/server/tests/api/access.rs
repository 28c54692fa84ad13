//! Access control: every route × {no token, bad token, expired token, wrong
//! scope, right scope}, a read-only client that cannot change anything, and
//! logs that never carry secrets.

use serde_json::{Value, json};

use crate::helpers::{API, CLIENT_SECRET, Reply, TestApp, enrollment, user};

const CORE: &str = "roster-core.readonly";
const READ: &str = "roster.readonly";
const DEMO: &str = "roster-demographics.readonly";
const WRITE: &str = "roster.createput";
const DELETE: &str = "roster.delete";
const DEMO_WRITE: &str = "roster-demographics.createput";
const DEMO_DELETE: &str = "roster-demographics.delete";

/// A route, a scope set that permits it and one that does not.
struct Case {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    right: &'static str,
    wrong: &'static str,
}

fn case(method: &'static str, path: &'static str, right: &'static str, wrong: &'static str) -> Case {
    Case {
        method,
        path,
        body: None,
        right,
        wrong,
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for path in [
        "users",
        "users/u1",
        "orgs",
        "orgs/school-1",
        "schools",
        "schools/school-1",
        "academicSessions",
        "academicSessions/term-1",
        "terms",
        "terms/term-1",
        "courses",
        "courses/course-1",
        "classes",
        "classes/class-1",
        "enrollments",
        "enrollments/e1",
        "students",
        "students/u1",
        "teachers",
    ] {
        out.push(case("GET", path, CORE, DEMO));
    }
    out.push(case("GET", "demographics", DEMO, READ));
    out.push(case("GET", "demographics/u1", DEMO, READ));
    out.push(case("GET", "users/u1/classes", READ, CORE));
    out.push(case(
        "GET",
        "users/u1/demographics",
        "roster-core.readonly roster-demographics.readonly",
        CORE,
    ));
    let new_user = json!({"user": user("u2", "Bo", "Ng")});
    out.push(Case {
        body: Some(new_user.clone()),
        ..case("POST", "users", WRITE, READ)
    });
    out.push(Case {
        body: Some(json!({"user": user("u1", "Ann", "Lee")})),
        ..case("PUT", "users/u1", WRITE, DELETE)
    });
    out.push(Case {
        body: Some(json!({"user": {"givenName": "Al"}})),
        ..case("PATCH", "users/u1", WRITE, READ)
    });
    out.push(case("DELETE", "users/u1", DELETE, WRITE));
    let demo = json!({"demographics": {"sourcedId": "u2", "sex": "female"}});
    out.push(Case {
        body: Some(demo),
        ..case("POST", "demographics", DEMO_WRITE, WRITE)
    });
    out.push(case("DELETE", "demographics/u1", DEMO_DELETE, DELETE));
    out
}

async fn seed(app: &TestApp) {
    app.seed_school().await;
    app.create("users", "user", user("u1", "Ann", "Lee")).await;
    app.create("enrollments", "enrollment", enrollment("e1", "u1", "class-1"))
        .await;
    app.create(
        "demographics",
        "demographics",
        json!({"sourcedId": "u1", "sex": "male"}),
    )
    .await;
}

async fn call(app: &TestApp, c: &Case, token: Option<&str>) -> Reply {
    let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
    let mut req = app.http.request(method, app.url(c.path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(body) = &c.body {
        req = req.json(body);
    }
    app.send(req).await
}

/// A correctly signed token that expired an hour ago.
fn expired_token() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({"sub": "test-client", "scope": "https://purl.imsglobal.org/spec/or/v1p2/scope/admin",
        "iss": "rollcall", "iat": now - 7200, "exp": now - 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(crate::helpers::SIGNING_KEY),
    )
    .unwrap()
}

#[tokio::test]
async fn every_route_checks_token_and_scope() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let expired = expired_token();
    for c in cases() {
        let what = format!("{} {}", c.method, c.path);
        call(&app, &c, None).await.assert_imsx(401, "unauthorisedrequest");
        call(&app, &c, Some("not.a.token"))
            .await
            .assert_imsx(401, "unauthorisedrequest");
        let r = call(&app, &c, Some(&expired)).await;
        r.assert_imsx(401, "unauthorisedrequest");
        assert!(
            r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")),
            "{what}"
        );
        let wrong = app.fetch_token(Some(c.wrong)).await;
        call(&app, &c, Some(&wrong)).await.assert_imsx(403, "forbidden");
        let right = app.fetch_token(Some(c.right)).await;
        let r = call(&app, &c, Some(&right)).await;
        assert!(
            (200..300).contains(&r.status),
            "{what} with {} gave {}: {}",
            c.right,
            r.status,
            r.body
        );
    }
}

#[tokio::test]
async fn admin_may_do_everything() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let admin = app.fetch_token(Some("admin")).await;
    for c in cases() {
        let r = call(&app, &c, Some(&admin)).await;
        assert!(
            (200..300).contains(&r.status),
            "{} {} gave {}",
            c.method,
            c.path,
            r.status
        );
    }
}

#[tokio::test]
async fn a_read_only_client_cannot_change_anything() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let before = app.get("users?limit=100").await.body;
    let before_demo = app.get("demographics/u1").await.body;
    let readonly = app
        .fetch_token(Some(
            "roster.readonly roster-core.readonly roster-demographics.readonly",
        ))
        .await;
    for c in cases().into_iter().filter(|c| c.method != "GET") {
        call(&app, &c, Some(&readonly)).await.assert_imsx(403, "forbidden");
    }
    assert_eq!(app.get("users?limit=100").await.body, before);
    assert_eq!(app.get("demographics/u1").await.body, before_demo);
}

#[tokio::test]
async fn tokens_carry_only_the_granted_scopes() {
    let app = TestApp::spawn().await;
    let r = app
        .send(
            app.http
                .post(app.url("/oauth2/token"))
                .basic_auth("test-client", Some(CLIENT_SECRET))
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "scope",
                        "https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly",
                    ),
                ]),
        )
        .await;
    assert_eq!(
        r.body["scope"],
        "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
    );
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after() {
    use rollcall_server::{RateLimits, ServerConfig};
    let limits = RateLimits {
        api_per_second: 1,
        token_per_minute: 2,
        ..RateLimits::default()
    };
    let app = TestApp::spawn_config(ServerConfig {
        rate_limits: limits,
        ..ServerConfig::default()
    })
    .await;
    // The first token used one of the two; the burst allows two API calls.
    app.get("users").await;
    app.get("users").await;
    let r = app.get("users").await;
    r.assert_imsx(429, "server_busy");
    assert!(
        r.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
    );
    // Token requests are limited per client id, guessing or not.
    let token = || {
        app.http
            .post(app.url("/oauth2/token"))
            .basic_auth("test-client", Some("guess"))
    };
    let first = app.send(token().form(&[("grant_type", "client_credentials")])).await;
    assert_eq!(first.status, 401);
    let second = app.send(token().form(&[("grant_type", "client_credentials")])).await;
    second.assert_imsx(429, "server_busy");
}

/// Token requests with invented client ids, each id with a rate bucket of
/// its own: the source address's limit still stops them, before any secret
/// is checked, while other addresses are unaffected.
#[tokio::test]
async fn token_requests_are_limited_per_source_address_whatever_the_id() {
    use rollcall_server::{RateLimits, ServerConfig};
    let app = TestApp::spawn_config(ServerConfig {
        rate_limits: RateLimits {
            token_per_minute_per_address: 5,
            ..RateLimits::default()
        },
        ..ServerConfig::default()
    })
    .await;
    // TestApp fetched one token already.
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = app
            .send(
                app.http
                    .post(app.url("/oauth2/token"))
                    .basic_auth(format!("invented-{i}"), Some("guess"))
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await;
        if r.status == 429 {
            r.assert_imsx(429, "server_busy");
            assert!(
                r.header("retry-after")
                    .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
            );
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429, 429, 429]);
    // Another address (127.0.0.2 is this machine too) still gets its token.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let r = app
        .send(
            elsewhere
                .post(app.url("/oauth2/token"))
                .basic_auth(crate::helpers::CLIENT_ID, Some(crate::helpers::CLIENT_SECRET))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A request stalled after its headers (its body never arrives) holds one of
/// its client's places from the moment it is authenticated.
async fn stalled_request(app: &TestApp, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {API}/orgs HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// One client cannot have more than its share of requests in flight: past
/// the cap it gets 429 with Retry-After, other clients are unaffected, and
/// its places come back when its requests end.
#[tokio::test]
async fn requests_in_flight_are_capped_per_client() {
    use rollcall_server::{RateLimits, ServerConfig};
    let app = TestApp::spawn_config(ServerConfig {
        rate_limits: RateLimits {
            in_flight_per_client: 2,
            ..RateLimits::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let other_token = app.client_token("other", &["roster-core.readonly"]).await;

    let stalled = vec![
        stalled_request(&app, &app.token).await,
        stalled_request(&app, &app.token).await,
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let refused = loop {
        let r = app.get("orgs").await;
        if r.status == 429 {
            break r;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(std::time::Instant::now() < deadline, "the cap never applied");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    refused.assert_imsx(429, "server_busy");
    assert_eq!(refused.header("retry-after"), Some("1"));
    let r = app.send(app.http.get(app.url("orgs")).bearer_auth(&other_token)).await;
    assert_eq!(r.status, 200, "another client is unaffected: {}", r.body);

    drop(stalled);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.get("orgs").await.status != 200 {
        assert!(std::time::Instant::now() < deadline, "the places never came back");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
