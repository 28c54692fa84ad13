//! `/docs` in a real browser: headless Chromium driven through chromedriver
//! over the W3C WebDriver protocol, against a real server on a random port.
//!
//! Needs `chromium` and `chromium-driver` (Debian; `.ci/run` installs them).
//! Without them the test fails, unless `ROLLCALL_SKIP_BROWSER=1` says to skip.
//! WebDriver is JSON over HTTP, so the few commands used here go through
//! reqwest, already a dev-dependency, rather than a client crate.

/// The API suite's `TestApp`, of which this binary uses only a part.
#[allow(dead_code, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use helpers::TestApp;

/// The key W3C WebDriver wraps element ids in.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[tokio::test]
async fn the_docs_page_teaches_a_write_and_takes_a_token() {
    if std::env::var("ROLLCALL_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("ROLLCALL_SKIP_BROWSER=1: skipping the browser test");
        return;
    }
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/docs")).await;

    let create = "#operations-users-createUser";
    browser.click(&format!("{create} .opblock-summary-control")).await;
    let example = browser.text(&format!("{create} .opblock-section-request-body")).await;
    assert!(
        example.contains("\"givenName\": \"Ada\""),
        "no example shown: {example}"
    );
    browser
        .click(&format!(
            "{create} .opblock-section-request-body button[data-name=model]"
        ))
        .await;
    let schema = browser
        .text(&format!("{create} .opblock-section-request-body .model-box"))
        .await;
    for shown in ["enabledUser", "givenName", "familyName", "roles"] {
        assert!(schema.contains(shown), "{shown} not in the schema shown: {schema}");
    }
    let required = browser
        .texts(&format!(
            "{create} .opblock-section-request-body .json-schema-2020-12-property--required"
        ))
        .await;
    for field in ["user", "enabledUser", "givenName", "familyName", "roles"] {
        assert!(
            required.iter().any(|t| t.starts_with(field)),
            "{field} not marked required: {required:?}"
        );
    }
    assert!(!required.iter().any(|t| t.starts_with("email")), "{required:?}");

    browser.click(".auth-wrapper .btn.authorize").await;
    browser.type_into("#auth-bearer-value", &app.token).await;
    browser
        .click_xpath("//input[@id='auth-bearer-value']/ancestor::form//button[contains(@class,'authorize')]")
        .await;
    browser.click(".modal-ux .btn-done").await;
    browser.text(".auth-wrapper .btn.authorize.locked").await;

    let list = "#operations-users-getAllUsers";
    browser.click(&format!("{list} .opblock-summary-control")).await;
    browser.click(&format!("{list} .try-out__btn")).await;
    browser.click(&format!("{list} .execute")).await;
    let status = browser
        .text(&format!("{list} .live-responses-table tbody .response-col_status"))
        .await;
    assert_eq!(status.trim(), "200", "the try-it call did not carry the token");

    let fetched = browser
        .strings(
            "return performance.getEntriesByType('resource').map(e => e.name)",
            json!([]),
        )
        .await;
    let elsewhere: Vec<&String> = fetched.iter().filter(|url| !url.starts_with(&app.base)).collect();
    assert!(elsewhere.is_empty(), "the page fetched from elsewhere: {elsewhere:?}");
    assert!(fetched.iter().any(|url| url.ends_with("/openapi.json")), "{fetched:?}");
}

/// A chromedriver process and one headless Chromium session in it; both end
/// on drop.
struct Browser {
    http: reqwest::Client,
    /// chromedriver's address, `127.0.0.1:<port>`.
    address: String,
    /// The session's path, `/session/<id>`.
    session: String,
    driver: Child,
}

impl Browser {
    async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(env_or("ROLLCALL_CHROMEDRIVER", "chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver did not start ({e}): `apt-get install -y chromium chromium-driver`, \
                     or set ROLLCALL_SKIP_BROWSER=1 to skip this test"
                )
            });
        let mut browser = Self {
            http: reqwest::Client::new(),
            address: format!("127.0.0.1:{port}"),
            session: String::new(),
            driver,
        };
        browser.wait_ready().await;
        let chromium = env_or("ROLLCALL_CHROMIUM", "/usr/bin/chromium");
        let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
        }}}});
        let session = browser.command(reqwest::Method::POST, "/session", caps).await;
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session ({chromium}): {session}"));
        browser.session = format!("/session/{id}");
        browser
            .command(reqwest::Method::POST, "/timeouts", json!({ "implicit": 10_000 }))
            .await;
        browser
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("http://{}/status", self.address)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited ({status})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("chromedriver did not answer within 10 s");
    }

    /// One WebDriver command on the session; its `value`, or a panic with
    /// the driver's error.
    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("http://{}{}{path}", self.address, self.session);
        let mut request = self.http.request(method, &url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let reply: Value = request.send().await.unwrap().json().await.unwrap();
        let value = reply["value"].clone();
        assert!(value["error"].is_null(), "{path}: {value}");
        value
    }

    async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    }

    async fn find(&self, using: &str, selector: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({ "using": using, "value": selector }),
            )
            .await;
        found[ELEMENT].as_str().expect("element id").to_owned()
    }

    async fn click(&self, css: &str) {
        let id = self.find("css selector", css).await;
        self.command(reqwest::Method::POST, &format!("/element/{id}/click"), json!({}))
            .await;
    }

    async fn click_xpath(&self, xpath: &str) {
        let id = self.find("xpath", xpath).await;
        self.command(reqwest::Method::POST, &format!("/element/{id}/click"), json!({}))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find("css selector", css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// The text of every element `css` matches (none is no error).
    async fn texts(&self, css: &str) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)";
        self.strings(script, json!([css])).await
    }

    /// What a script that returns strings returns.
    async fn strings(&self, script: &str, args: Value) -> Vec<String> {
        let value = self
            .command(
                reqwest::Method::POST,
                "/execute/sync",
                json!({ "script": script, "args": args }),
            )
            .await;
        serde_json::from_value(value).expect("strings")
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find("css selector", css).await;
        let text = self
            .command(reqwest::Method::GET, &format!("/element/{id}/text"), Value::Null)
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }
}

/// Ends the session first, which closes Chromium (killing chromedriver alone
/// would orphan it); blocking, as drop cannot await.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(mut stream) = std::net::TcpStream::connect(&self.address) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "DELETE {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                self.session, self.address
            );
            let _ = stream.write_all(request.as_bytes());
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
