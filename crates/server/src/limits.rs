//! Abuse limits: a request rate per OAuth client on the API, and a token
//! request rate per client id at the token endpoint (which slows down
//! secret guessing on top of argon2's own cost).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;

/// Limits as configured; `0` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sustained API requests per second per client; bursts may reach twice that.
    pub api_per_second: u32,
    /// Token requests per minute per client id.
    pub token_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            api_per_second: 200,
            token_per_minute: 30,
        }
    }
}

/// Keys beyond this many are pruned, so ids an attacker invents cannot
/// grow memory without bound.
const MAX_KEYS: usize = 100_000;

pub struct Limiters {
    api: Option<DefaultKeyedRateLimiter<String>>,
    token: Option<DefaultKeyedRateLimiter<String>>,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Self {
        let api = NonZeroU32::new(limits.api_per_second)
            .map(|n| Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(2).expect("2 > 0"))));
        let token = NonZeroU32::new(limits.token_per_minute).map(Quota::per_minute);
        Self {
            api: api.map(DefaultKeyedRateLimiter::keyed),
            token: token.map(DefaultKeyedRateLimiter::keyed),
        }
    }

    /// 429 when `client_id` is over its API rate.
    pub fn check_api(&self, client_id: &str) -> Result<(), ApiError> {
        check(self.api.as_ref(), client_id)
    }

    /// 429 when `client_id` has asked for too many tokens recently.
    pub fn check_token(&self, client_id: &str) -> Result<(), ApiError> {
        check(self.token.as_ref(), client_id)
    }
}

fn check(limiter: Option<&DefaultKeyedRateLimiter<String>>, key: &str) -> Result<(), ApiError> {
    let Some(limiter) = limiter else { return Ok(()) };
    if limiter.len() > MAX_KEYS {
        limiter.retain_recent();
    }
    let key: String = key.chars().take(128).collect();
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        // Whole seconds, rounded up: a client obeying Retry-After must not
        // come back before the limiter lets it in.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::TooManyRequests {
            retry_after: Duration::from_secs(secs.max(1)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_rate_is_refused_per_client() {
        let l = Limiters::new(RateLimits {
            api_per_second: 1,
            token_per_minute: 1,
        });
        assert!(l.check_api("a").is_ok());
        assert!(l.check_api("a").is_ok()); // burst of 2
        assert!(matches!(l.check_api("a"), Err(ApiError::TooManyRequests { .. })));
        assert!(l.check_api("b").is_ok());
        assert!(l.check_token("a").is_ok());
        assert!(l.check_token("a").is_err());
    }

    #[test]
    fn zero_turns_limits_off() {
        let l = Limiters::new(RateLimits {
            api_per_second: 0,
            token_per_minute: 0,
        });
        for _ in 0..1000 {
            assert!(l.check_api("a").is_ok() && l.check_token("a").is_ok());
        }
    }
}
