//! The OAuth 2.0 client-credentials token, fetched once and shared by every
//! request. It is refreshed shortly before `expires_in` elapses (so it never
//! expires in flight) and dropped when the server refuses it (a rotated
//! signing key, a server clock ahead of ours). The cache sits behind an async
//! mutex held across the fetch, so concurrent callers wait for one token
//! request instead of each sending their own.

use std::time::{Duration, Instant};

use oneroster::wire::TokenResponse;
use reqwest::{Method, Url};
use tokio::sync::Mutex;

use crate::error::Error;
use crate::retry::RetryPolicy;

/// How long before expiry a token is replaced (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

pub(crate) struct TokenSource {
    url: Url,
    client_id: String,
    client_secret: String,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    value: String,
    refresh_at: Instant,
}

impl TokenSource {
    pub fn new(url: Url, client_id: String, client_secret: String) -> Self {
        Self {
            url,
            client_id,
            client_secret,
            cached: Mutex::new(None),
        }
    }

    /// A token that is not about to expire, fetching one if needed.
    pub async fn bearer(&self, http: &reqwest::Client, retry: &RetryPolicy) -> Result<String, Error> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.value.clone());
        }
        let token = self.fetch(http, retry).await?;
        let value = token.access_token.clone();
        *cached = Some(Cached {
            value: token.access_token,
            refresh_at: refresh_at(Instant::now(), token.expires_in),
        });
        Ok(value)
    }

    /// Forgets `rejected` (unless another caller already replaced it).
    pub async fn invalidate(&self, rejected: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.value == rejected) {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client, retry: &RetryPolicy) -> Result<TokenResponse, Error> {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let (id, secret) = (encode(&self.client_id), encode(&self.client_secret));
        let response = retry
            .send(&Method::POST, || {
                http.post(self.url.clone())
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
            })
            .await?;
        if !response.status().is_success() {
            return Err(Error::from_response(response).await);
        }
        response
            .json()
            .await
            .map_err(|e| Error::decode("the token response", e))
    }
}

fn refresh_at(now: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in);
    now + lifetime - REFRESH_MARGIN.min(lifetime / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_a_minute_early_or_halfway_for_short_tokens() {
        let now = Instant::now();
        assert_eq!(refresh_at(now, 3600), now + Duration::from_secs(3540));
        assert_eq!(refresh_at(now, 60), now + Duration::from_secs(30));
        assert_eq!(refresh_at(now, 0), now);
    }
}
