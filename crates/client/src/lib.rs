//! Rust SDK for a Rollcall (OneRoster 1.2) server.
//!
//! Programs that roster users (SIS syncs, provisioning jobs, the `rollcall
//! users` CLI) should not each reimplement OAuth, imsx error bodies, paging
//! and rate-limit handling. [`Client`] does it once:
//!
//! - OAuth 2.0 client credentials (HTTP Basic to `/oauth2/token`); the token is
//!   cached, refreshed shortly before it expires, and once more on a 401.
//! - Typed errors ([`Error`]) carrying the server's `imsx_StatusInfo`.
//! - Bounded retries on 429 and 503 honouring `Retry-After` ([`RetryPolicy`]).
//! - Paging that follows `Link: rel="next"` and checks `X-Total-Count`
//!   ([`Client::users_stream`], [`Client::stream`]).
//!
//! The users-management operations mirror the TimeBack SDK's names
//! (`getAllUsers` → [`Client::get_all_users`], …) and return the
//! `oneroster` model types, which read every response profile's output.
//! Other collections (orgs, academicSessions, courses, classes, enrollments,
//! demographics) use the generic [`Client::list`], [`Client::get`],
//! [`Client::create`], … with a model type or `serde_json::Value`.
//!
//! ```no_run
//! # async fn run() -> Result<(), rollcall_client::Error> {
//! use futures_util::TryStreamExt;
//! use rollcall_client::{Client, ListParams};
//!
//! let client = Client::new("http://127.0.0.1:8080", "admin", "change-me")?;
//! let teachers: Vec<_> = client
//!     .users_stream(&ListParams::new().filter("roles.role='teacher'"))
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The HTTP stack is built without TLS (as the rest of the workspace): reach
//! an `https` server through a TLS-terminating proxy on the same host, or
//! enable a TLS feature of `reqwest` in the embedding program.

mod error;
mod list;
mod ops;
mod retry;
mod token;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::LINK;
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::Error;
pub use list::{ListParams, Order, Page};
pub use oneroster;
pub use ops::{SourcedIdPair, UserWithDemographics};
pub use retry::RetryPolicy;

use list::next_link;
use token::TokenSource;

/// Where the rostering API lives under the server's base URL.
const API_PATH: &str = "ims/oneroster/rostering/v1p2/";

/// A request that has not been answered by then fails (the server itself
/// gives up after 30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to one server as one OAuth client. Cheap to clone: clones
/// share the HTTP connection pool and the token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    api: Url,
    tokens: Arc<TokenSource>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.api.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`, optionally
    /// with a path prefix), with the default [`RetryPolicy`]. No request is
    /// sent until the first operation.
    pub fn new(base_url: &str, client_id: impl Into<String>, client_secret: impl Into<String>) -> Result<Self, Error> {
        let mut base =
            Url::parse(base_url).map_err(|e| Error::Protocol(format!("the server URL '{base_url}': {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Protocol(format!("the server URL '{base_url}' is not http(s)")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let join = |path| base.join(path).expect("a relative path joins onto an http URL");
        Ok(Self {
            http: reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?,
            api: join(API_PATH),
            tokens: Arc::new(TokenSource::new(
                join("oauth2/token"),
                client_id.into(),
                client_secret.into(),
            )),
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy (e.g. [`RetryPolicy::none`] for callers that
    /// schedule their own retries).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The API URL of `segments` (each percent-encoded as one path segment).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api.clone();
        url.path_segments_mut()
            .expect("an http URL has path segments")
            .pop_if_empty()
            .extend(segments);
        url
    }

    fn list_url(&self, segments: &[&str], params: &ListParams) -> Url {
        let mut url = self.url(segments);
        params.apply(&mut url);
        url
    }

    /// Sends an authorised request (retried per the policy) and returns the
    /// successful response. A 401 drops the token and tries once more with
    /// a fresh one: the server may have rotated its key or run a clock ahead.
    async fn send(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Response, Error> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.bearer(&self.http, &self.retry).await?;
            let response = self
                .retry
                .send(&method, || {
                    let request = self.http.request(method.clone(), url.clone()).bearer_auth(&token);
                    match body {
                        Some(body) => request.json(body),
                        None => request,
                    }
                })
                .await?;
            if response.status() == StatusCode::UNAUTHORIZED && !refreshed {
                self.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            if response.status().is_success() {
                return Ok(response);
            }
            return Err(Error::from_response(response).await);
        }
    }

    /// Sends a request and reads its JSON answer.
    async fn json(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, Error> {
        let response = self.send(method, url, body).await?;
        response.json().await.map_err(|e| Error::decode("the response", e))
    }

    /// Sends a request whose answer is `{"<wrapper>": record}` and decodes the record.
    async fn one<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        wrapper: &str,
        body: Option<&Value>,
    ) -> Result<T, Error> {
        let mut answer = self.json(method, url, body).await?;
        decode(wrapper, take(&mut answer, wrapper)?)
    }

    /// One page: the array named `key`, the total and the next link.
    async fn page<T: DeserializeOwned>(&self, url: Url, key: &str) -> Result<Page<T>, Error> {
        let response = self.send(Method::GET, url, None).await?;
        let headers = response.headers().clone();
        let mut body: Value = response.json().await.map_err(|e| Error::decode(key, e))?;
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let total = header("x-total-count")
            .and_then(|t| t.parse().ok())
            .or_else(|| body.get("totalCount").and_then(Value::as_u64));
        let next = header(LINK.as_str())
            .and_then(next_link)
            .map(|link| self.rebase(link))
            .transpose()?;
        let items = take_items(&mut body, key)?;
        Ok(Page {
            items: decode(key, items)?,
            total,
            next,
        })
    }

    /// The path and query of a `Link` target, on the configured server: the
    /// bearer token never goes to another host, and paging works behind a
    /// proxy whose public name differs from ours.
    fn rebase(&self, link: &str) -> Result<Url, Error> {
        let target = self
            .api
            .join(link)
            .map_err(|e| Error::Protocol(format!("the Link target '{link}': {e}")))?;
        let mut url = self.api.clone();
        url.set_path(target.path());
        url.set_query(target.query());
        Ok(url)
    }
}

/// Decodes `value` as `T`; the error names the path that failed (`users[3].roles`).
fn decode<T: DeserializeOwned>(what: &str, value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::decode(what, e))
}

fn take(answer: &mut Value, key: &str) -> Result<Value, Error> {
    answer
        .get_mut(key)
        .map(Value::take)
        .ok_or_else(|| Error::Protocol(format!("the answer has no '{key}'")))
}

/// The page's array: named after the collection, or, for views such as
/// `schools` (whose pages hold `orgs`), the answer's only array.
fn take_items(body: &mut Value, key: &str) -> Result<Value, Error> {
    if body.get(key).is_some() {
        return take(body, key);
    }
    let arrays: Vec<String> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.is_array())
        .map(|(k, _)| k.clone())
        .collect();
    match arrays.as_slice() {
        [only] => take(body, only),
        _ => Err(Error::Protocol(format!("the page has no '{key}' array"))),
    }
}
