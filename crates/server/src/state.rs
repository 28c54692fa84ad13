//! What every handler can reach.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rollcall_csv::ZipLimits;
use rollcall_service::Rollcall;

use crate::jobs::Jobs;
use crate::limits::{Limiters, RateLimits};
use crate::metrics::Metrics;
use crate::render::Profile;

/// Server settings that shape responses.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The externally visible base URL (`https://roster.example.org`), used
    /// for `href`s and `Link` headers. When unset, the request's `Host` is used.
    pub public_url: Option<String>,
    pub profile: Profile,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    pub rate_limits: RateLimits,
    /// How long `POST /admin/import` waits for its import before answering
    /// `202` with the job's status URL (below the request timeout).
    pub import_wait: std::time::Duration,
    /// What a package sent to `POST /admin/import` may unpack to.
    pub import_limits: ZipLimits,
    /// When set, `GET /metrics` answers only requests bearing it
    /// (`Authorization: Bearer …`); when unset it is open, like `/healthz`.
    pub metrics_token: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            profile: Profile::Timeback,
            body_limit: 1024 * 1024,
            rate_limits: RateLimits::default(),
            import_wait: std::time::Duration::from_secs(20),
            import_limits: ZipLimits {
                max_unpacked_bytes: 2 << 30,
                ..ZipLimits::default()
            },
            metrics_token: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub rollcall: Rollcall,
    pub config: Arc<ServerConfig>,
    pub limiters: Arc<Limiters>,
    pub import_jobs: Jobs,
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
}

/// Whether this instance wants new requests (`/readyz`): from the start
/// (its store was migrated when it was opened) until it begins to shut
/// down, so a load balancer moves traffic away before connections close.
#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
}

impl Readiness {
    /// From now on `/readyz` answers 503.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}

impl AppState {
    pub fn new(rollcall: Rollcall, config: ServerConfig) -> Self {
        let limiters = Arc::new(Limiters::new(config.rate_limits));
        Self {
            rollcall,
            config: Arc::new(config),
            limiters,
            import_jobs: Jobs::default(),
            metrics: Arc::default(),
            readiness: Readiness::default(),
        }
    }
}
