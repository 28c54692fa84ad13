//! Abuse limits: on the API, a request rate and a number of requests in
//! flight per OAuth client (so one client cannot hold every database
//! connection); at the token endpoint, a request rate per client id (which
//! slows down secret guessing on top of argon2's own cost) and per source
//! address (so invented client ids, each with a bucket of its own, cannot
//! keep the password hasher busy).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Limits as configured; `0` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sustained API requests per second per client; bursts may reach twice that.
    pub api_per_second: u32,
    /// Token requests per minute per client id.
    pub token_per_minute: u32,
    /// Token requests per minute per source address (an IPv6 address counts
    /// by its /64). Behind a reverse proxy every client shares its address.
    pub token_per_minute_per_address: u32,
    /// API requests one client may have in flight at once.
    pub in_flight_per_client: u32,
}

impl RateLimits {
    /// Every limit off: for benchmarks and tests about something else.
    pub const OFF: Self = Self {
        api_per_second: 0,
        token_per_minute: 0,
        token_per_minute_per_address: 0,
        in_flight_per_client: 0,
    };
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            api_per_second: 200,
            token_per_minute: 30,
            token_per_minute_per_address: 60,
            in_flight_per_client: 4,
        }
    }
}

/// Keys beyond this many are pruned, so ids an attacker invents cannot
/// grow memory without bound.
const MAX_KEYS: usize = 100_000;

/// How long a client over its in-flight cap is asked to wait: its other
/// requests are under way and usually finish well within it.
const IN_FLIGHT_RETRY_AFTER: Duration = Duration::from_secs(1);

pub struct Limiters {
    api: Option<DefaultKeyedRateLimiter<String>>,
    token: Option<DefaultKeyedRateLimiter<String>>,
    token_by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    in_flight: Option<InFlight>,
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Self {
        let api = NonZeroU32::new(limits.api_per_second)
            .map(|n| Quota::per_second(n).allow_burst(n.saturating_mul(NonZeroU32::new(2).expect("2 > 0"))));
        let per_minute = |n| NonZeroU32::new(n).map(Quota::per_minute);
        Self {
            api: api.map(DefaultKeyedRateLimiter::keyed),
            token: per_minute(limits.token_per_minute).map(DefaultKeyedRateLimiter::keyed),
            token_by_address: per_minute(limits.token_per_minute_per_address).map(DefaultKeyedRateLimiter::keyed),
            in_flight: usize::try_from(limits.in_flight_per_client)
                .ok()
                .filter(|n| *n > 0)
                .map(InFlight::new),
        }
    }

    /// 429 when `client_id` is over its API rate.
    pub fn check_api(&self, client_id: &str) -> Result<(), ApiError> {
        check(self.api.as_ref(), &bounded(client_id))
    }

    /// 429 when `client_id`, or the address the request came from, has
    /// asked for too many tokens recently. Without an address (a request
    /// not from a socket) only the id counts.
    pub fn check_token(&self, client_id: &str, from: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(address) = from {
            check(self.token_by_address.as_ref(), &source(address))?;
        }
        check(self.token.as_ref(), &bounded(client_id))
    }

    /// A place among `client_id`'s requests in flight, to hold until its
    /// response is produced; 429 when the client has no place left.
    pub fn enter(&self, client_id: &str) -> Result<Option<OwnedSemaphorePermit>, ApiError> {
        self.in_flight.as_ref().map(|f| f.enter(client_id)).transpose()
    }
}

/// The requests in flight per client, as one semaphore per client.
struct InFlight {
    per_client: usize,
    clients: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl InFlight {
    fn new(per_client: usize) -> Self {
        Self {
            per_client,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn enter(&self, client_id: &str) -> Result<OwnedSemaphorePermit, ApiError> {
        let places = {
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            if clients.len() > MAX_KEYS {
                // Only clients with requests in flight hold a second reference.
                clients.retain(|_, s| Arc::strong_count(s) > 1);
            }
            clients
                .entry(bounded(client_id))
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_client)))
                .clone()
        };
        places.try_acquire_owned().map_err(|_| ApiError::TooManyRequests {
            retry_after: IN_FLIGHT_RETRY_AFTER,
        })
    }
}

/// A key no longer than any real client id needs.
fn bounded(key: &str) -> String {
    key.chars().take(128).collect()
}

/// The key for a source address: IPv4 as is, IPv6 by its /64 (one host's
/// usual allocation, which it can fill with addresses at will).
fn source(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

fn check<K: Hash + Eq + Clone>(limiter: Option<&DefaultKeyedRateLimiter<K>>, key: &K) -> Result<(), ApiError> {
    let Some(limiter) = limiter else { return Ok(()) };
    if limiter.len() > MAX_KEYS {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
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

    fn limits(api_per_second: u32, token_per_minute: u32) -> RateLimits {
        RateLimits {
            api_per_second,
            token_per_minute,
            token_per_minute_per_address: token_per_minute,
            in_flight_per_client: api_per_second,
        }
    }

    #[test]
    fn over_the_rate_is_refused_per_client() {
        let l = Limiters::new(RateLimits {
            token_per_minute_per_address: 0,
            ..limits(1, 1)
        });
        assert!(l.check_api("a").is_ok());
        assert!(l.check_api("a").is_ok()); // burst of 2
        assert!(matches!(l.check_api("a"), Err(ApiError::TooManyRequests { .. })));
        assert!(l.check_api("b").is_ok());
        assert!(l.check_token("a", None).is_ok());
        assert!(l.check_token("a", None).is_err());
    }

    #[test]
    fn token_requests_are_limited_per_address_whatever_the_id() {
        let l = Limiters::new(RateLimits {
            token_per_minute: 0,
            ..limits(1, 2)
        });
        let home: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(l.check_token("one", Some(home)).is_ok());
        assert!(l.check_token("two", Some(home)).is_ok());
        assert!(matches!(
            l.check_token("three", Some(home)),
            Err(ApiError::TooManyRequests { .. })
        ));
        assert!(l.check_token("three", Some("192.0.2.8".parse().unwrap())).is_ok());
        // One IPv6 /64 is one source, and a v4-mapped address is its v4 one.
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(l.check_token("x", Some(a)).is_ok() && l.check_token("y", Some(b)).is_ok());
        assert!(l.check_token("z", Some(a)).is_err());
        assert!(l.check_token("w", Some("::ffff:192.0.2.7".parse().unwrap())).is_err());
    }

    #[test]
    fn places_in_flight_are_per_client_and_returned() {
        let l = Limiters::new(limits(2, 1));
        let first = l.enter("a").unwrap();
        let _second = l.enter("a").unwrap();
        assert!(matches!(l.enter("a"), Err(ApiError::TooManyRequests { .. })));
        assert!(l.enter("b").unwrap().is_some());
        drop(first);
        assert!(l.enter("a").is_ok());
    }

    #[test]
    fn zero_turns_limits_off() {
        let l = Limiters::new(limits(0, 0));
        let address = Some("192.0.2.1".parse().unwrap());
        let mut held = Vec::new();
        for _ in 0..1000 {
            assert!(l.check_api("a").is_ok() && l.check_token("a", address).is_ok());
            held.push(l.enter("a").unwrap());
        }
        assert!(held.iter().all(Option::is_none));
    }
}
