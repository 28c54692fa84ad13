//! `rollcall serve`: configuration from flags or environment, then start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use oneroster::SystemClock;
use rollcall_server::{AppState, Profile, RateLimits, ServerConfig};
use rollcall_service::idp::IdpConfig;
use rollcall_service::{Rollcall, secret};
use rollcall_store::Store;

#[derive(Args, Clone)]
pub struct DatabaseArgs {
    /// Where the data lives: `sqlite://PATH` (created if missing) or
    /// `postgres://USER@HOST:PORT/DB` (migrated on start).
    #[arg(long, env = "ROLLCALL_DATABASE_URL", default_value = "sqlite://rollcall.db")]
    pub database_url: String,
    /// PostgreSQL connections per instance; small pools win when the
    /// database shares the machine (see BENCHMARKS.md / STACK.md).
    #[arg(long, env = "ROLLCALL_DATABASE_POOL", default_value_t = 4)]
    pub database_pool: usize,
    /// Seconds one read may run before the database stops it (the request
    /// then fails with a 400 that says so); bounds how long an expensive
    /// filter holds a connection other requests wait for.
    #[arg(long, env = "ROLLCALL_QUERY_TIMEOUT", default_value = "10", value_parser = positive_seconds)]
    pub query_timeout: Duration,
}

fn positive_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected a positive number of seconds, got {text:?}"))
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "ROLLCALL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DatabaseArgs,
    /// A client with every scope, created or updated at start.
    #[arg(long, env = "ROLLCALL_BOOTSTRAP_CLIENT_ID", requires = "bootstrap_client_secret")]
    bootstrap_client_id: Option<String>,
    #[arg(
        long,
        env = "ROLLCALL_BOOTSTRAP_CLIENT_SECRET",
        hide_env_values = true,
        requires = "bootstrap_client_id"
    )]
    bootstrap_client_secret: Option<String>,
    /// Token signing key. When absent, one is generated on first start and
    /// kept in the database, so every instance on that database shares it.
    #[arg(long, env = "ROLLCALL_SIGNING_KEY", hide_env_values = true)]
    signing_key: Option<String>,
    /// Response shape: timeback, oneroster (strict 1.2) or timeback-2025-04.
    #[arg(long, env = "ROLLCALL_PROFILE", default_value = "timeback")]
    profile: Profile,
    /// Public base URL used in hrefs and Link headers (default: from the Host header).
    #[arg(long, env = "ROLLCALL_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "ROLLCALL_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// API requests per second per OAuth client (bursts to twice that); 0 = unlimited.
    #[arg(long, env = "ROLLCALL_RATE_LIMIT", default_value_t = 200)]
    rate_limit: u32,
    /// Also accept tokens from this external OAuth issuer (its `iss`)…
    #[arg(long, env = "ROLLCALL_IDP_ISSUER", requires_all = ["idp_audience", "idp_jwks_url"])]
    idp_issuer: Option<String>,
    /// …whose `aud` must be this…
    #[arg(long, env = "ROLLCALL_IDP_AUDIENCE", requires = "idp_issuer")]
    idp_audience: Option<String>,
    /// …and whose signing keys are published here (JWKS).
    #[arg(long, env = "ROLLCALL_IDP_JWKS_URL", requires = "idp_issuer")]
    idp_jwks_url: Option<String>,
    /// Token requests per minute per client id; 0 = unlimited.
    #[arg(long, env = "ROLLCALL_TOKEN_RATE_LIMIT", default_value_t = 30)]
    token_rate_limit: u32,
}

/// Opens the store named by the database URL: the backend is chosen by
/// its scheme.
pub async fn open_store(db: &DatabaseArgs) -> Result<Arc<dyn Store>> {
    open_store_as(db, Use::Serve).await
}

/// How a command uses the database.
#[derive(Clone, Copy)]
pub enum Use {
    /// Many requests at once: SQLite reads on connections of their own.
    Serve,
    /// One job at a time (an import): SQLite opens one connection, so its
    /// bulk loads may skip the WAL (see `rollcall_store_sqlite::open_alone`).
    Alone,
}

/// As [`open_store`], for a command that uses the database as `usage` says.
pub async fn open_store_as(db: &DatabaseArgs, usage: Use) -> Result<Arc<dyn Store>> {
    let url = db.database_url.as_str();
    let budget = db.query_timeout;
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = PathBuf::from(path);
        let store = match usage {
            Use::Serve => rollcall_store_sqlite::open_with(&path, budget),
            Use::Alone => rollcall_store_sqlite::open_alone(&path),
        }
        .with_context(|| format!("opening SQLite database {}", path.display()))?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = rollcall_store_postgres::open_with(url, db.database_pool, budget)
            .await
            .context("opening the PostgreSQL database")?;
        return Ok(Arc::new(store));
    }
    bail!("unsupported ROLLCALL_DATABASE_URL: expected sqlite://PATH or postgres://…")
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let store = open_store(&args.db).await?;
    let key = match args.signing_key {
        Some(k) => k,
        None => {
            store
                .setting_or_insert("token_signing_key", &secret::random_token(32))
                .await?
        }
    };
    let mut rollcall = Rollcall::new(store.clone(), Arc::new(SystemClock), key.into_bytes());
    if let (Some(issuer), Some(audience), Some(jwks_url)) = (args.idp_issuer, args.idp_audience, args.idp_jwks_url) {
        tracing::info!(%issuer, "also accepting tokens from an external identity provider");
        rollcall.auth = rollcall.auth.with_external_idp(IdpConfig {
            issuer,
            audience,
            jwks_url,
        });
    }
    if let (Some(id), Some(secret_text)) = (&args.bootstrap_client_id, &args.bootstrap_client_secret) {
        rollcall.auth.put_admin_client(id, "bootstrap", secret_text).await?;
        tracing::info!(client_id = %id, "bootstrap client ready");
    } else if store.clients().await?.is_empty() {
        eprintln!(
            "No OAuth clients exist yet. Create one with\n  \
             rollcall clients create --name admin --scopes admin\n\
             or restart with ROLLCALL_BOOTSTRAP_CLIENT_ID and ROLLCALL_BOOTSTRAP_CLIENT_SECRET set.\n\
             Then: curl -u ID:SECRET -d grant_type=client_credentials http://{}/oauth2/token",
            args.listen
        );
    }
    let config = ServerConfig {
        public_url: args.public_url,
        profile: args.profile,
        body_limit: args.body_limit,
        rate_limits: RateLimits {
            api_per_second: args.rate_limit,
            token_per_minute: args.token_rate_limit,
        },
    };
    let app = rollcall_server::app(AppState::new(rollcall, config));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, profile = args.profile.as_str(), "rollcall listening");
    rollcall_server::serve(listener, app, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
