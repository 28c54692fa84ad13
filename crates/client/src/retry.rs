//! Bounded retries for answers that mean "not now": 429 (the server refused
//! before doing anything, so any method may be repeated) and 503 (busy or
//! timed out, so only idempotent methods: a timed-out POST may have landed).
//! The server's `Retry-After` is honoured; a wait longer than the policy
//! allows is not cut short (that would only earn another 429) but handed to
//! the caller as `Error::TooManyRequests { retry_after }`.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The longest single wait; a longer `Retry-After` ends the retries.
    pub max_wait: Duration,
    /// The first wait when the server gives no `Retry-After`; doubled each time.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_wait: Duration::from_secs(30),
            base_delay: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// Never retry: every 429/503 reaches the caller.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How long to wait before retry number `attempt + 1`, or `None` to give up.
    fn delay(&self, method: &Method, status: StatusCode, headers: &HeaderMap, attempt: u32) -> Option<Duration> {
        let retryable = match status {
            StatusCode::TOO_MANY_REQUESTS => true,
            StatusCode::SERVICE_UNAVAILABLE => method.is_idempotent(),
            _ => false,
        };
        if !retryable || attempt >= self.max_retries {
            return None;
        }
        match retry_after(headers) {
            Some(wait) if wait > self.max_wait => None,
            Some(wait) => Some(wait),
            None => Some(self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_wait)),
        }
    }

    /// Sends the request `build` makes, again after each retryable answer,
    /// and returns the last response whatever its status.
    pub(crate) async fn send(
        &self,
        method: &Method,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, reqwest::Error> {
        let mut attempt = 0;
        loop {
            let response = build().send().await?;
            match self.delay(method, response.status(), response.headers(), attempt) {
                Some(wait) => {
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                None => return Ok(response),
            }
        }
    }
}

/// `Retry-After` in delta-seconds (what Rollcall sends). An HTTP-date is
/// treated as absent, which falls back to exponential backoff.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(secs: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, secs.parse().unwrap());
        h
    }

    #[test]
    fn honours_retry_after_within_the_cap() {
        let p = RetryPolicy::default();
        let wait = p.delay(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &after("2"), 0);
        assert_eq!(wait, Some(Duration::from_secs(2)));
        assert_eq!(
            p.delay(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &after("31"), 0),
            None
        );
    }

    #[test]
    fn retries_are_bounded_and_back_off() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        let waits: Vec<_> = (0..4)
            .map(|n| p.delay(&Method::GET, StatusCode::SERVICE_UNAVAILABLE, &none, n))
            .collect();
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(waits, vec![ms(500), ms(1000), ms(2000), None]);
        assert_eq!(
            RetryPolicy::none().delay(&Method::GET, StatusCode::TOO_MANY_REQUESTS, &none, 0),
            None
        );
    }

    #[test]
    fn only_idempotent_methods_retry_a_503_but_any_retries_a_429() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        assert!(
            p.delay(&Method::PUT, StatusCode::SERVICE_UNAVAILABLE, &none, 0)
                .is_some()
        );
        assert!(
            p.delay(&Method::POST, StatusCode::SERVICE_UNAVAILABLE, &none, 0)
                .is_none()
        );
        assert!(
            p.delay(&Method::PATCH, StatusCode::SERVICE_UNAVAILABLE, &none, 0)
                .is_none()
        );
        assert!(
            p.delay(&Method::POST, StatusCode::TOO_MANY_REQUESTS, &none, 0)
                .is_some()
        );
        assert!(
            p.delay(&Method::GET, StatusCode::INTERNAL_SERVER_ERROR, &none, 0)
                .is_none()
        );
    }
}
