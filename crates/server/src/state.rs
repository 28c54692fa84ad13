//! What every handler can reach.

use std::sync::Arc;

use rollcall_service::Rollcall;

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            profile: Profile::Timeback,
            body_limit: 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub rollcall: Rollcall,
    pub config: Arc<ServerConfig>,
}
