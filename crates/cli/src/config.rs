//! `rollcall serve`: configuration from flags or environment, then start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use oneroster::SystemClock;
use rollcall_server::{AppState, ConnectionLimits, Profile, RateLimits, ServerConfig};
use rollcall_service::credentials::{CredentialKey, KeyConfig};
use rollcall_service::idp::IdpConfig;
use rollcall_service::webhooks::{DeliveryConfig, Worker};
use rollcall_service::{Credentials, Rollcall, SigningKey, secret};
use rollcall_store::Store;

#[derive(Args, Clone)]
pub struct DatabaseArgs {
    /// Where the data lives: `sqlite://PATH` (created if missing) or
    /// `postgres://USER@HOST:PORT/DB` (migrated on start).
    #[arg(
        long,
        global = true,
        env = "ROLLCALL_DATABASE_URL",
        default_value = "sqlite://rollcall.db"
    )]
    pub database_url: String,
    /// PostgreSQL connections per instance; small pools win when the
    /// database shares the machine (see BENCHMARKS.md).
    #[arg(long, global = true, env = "ROLLCALL_DATABASE_POOL", default_value_t = 4)]
    pub database_pool: usize,
    /// Seconds one read may run before the database stops it (the request
    /// then fails with a 400 that says so); bounds how long an expensive
    /// filter holds a connection other requests wait for.
    #[arg(long, global = true, env = "ROLLCALL_QUERY_TIMEOUT", default_value = "10", value_parser = positive_seconds)]
    pub query_timeout: Duration,
    /// Make a new, empty SQLite database when none exists at the path
    /// (`serve` always does; other commands refuse, so a typo in the path
    /// never reports against an empty database).
    #[arg(long, global = true)]
    pub create: bool,
}

impl DatabaseArgs {
    /// The SQLite file the URL names, made absolute for messages.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let url = self.database_url.as_str();
        let path = PathBuf::from(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?);
        Some(std::path::absolute(&path).unwrap_or(path))
    }
}

fn positive_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected a positive number of seconds, got {text:?}"))
}

/// The keys that seal the third-party credentials users register.
#[derive(Args, Clone)]
pub struct CredentialKeyArgs {
    /// Key sealing registered credentials: base64 of 32 random bytes
    /// (`openssl rand -base64 32`). When absent, one is generated on first
    /// use and kept in the database.
    #[arg(long, env = "ROLLCALL_CREDENTIALS_KEY", hide_env_values = true)]
    credentials_key: Option<String>,
    /// Earlier credentials keys, comma-separated: they still open what they
    /// sealed, until `rollcall credentials reseal` has moved it to the
    /// current key.
    #[arg(
        long,
        env = "ROLLCALL_CREDENTIALS_OLD_KEYS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    credentials_old_keys: Vec<String>,
}

impl CredentialKeyArgs {
    /// The service over `store` with these keys; a malformed key stops the start.
    pub fn credentials(&self, store: Arc<dyn Store>) -> Result<Credentials> {
        let parse = |text: &str, name: &str| {
            CredentialKey::from_base64(text).map_err(|e| anyhow::anyhow!("{name} is refused: {e}"))
        };
        let current = self
            .credentials_key
            .as_deref()
            .map(|k| parse(k, "ROLLCALL_CREDENTIALS_KEY (--credentials-key)"))
            .transpose()?;
        let older = self
            .credentials_old_keys
            .iter()
            .map(|k| parse(k, "a key in ROLLCALL_CREDENTIALS_OLD_KEYS (--credentials-old-keys)"))
            .collect::<Result<_>>()?;
        Ok(Credentials::new(store, KeyConfig { current, older }))
    }
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
    /// Token signing key, at least 32 bytes. When absent, one is generated
    /// on first start and kept in the database, so every instance on that
    /// database shares it.
    #[arg(long, env = "ROLLCALL_SIGNING_KEY", hide_env_values = true)]
    signing_key: Option<String>,
    #[command(flatten)]
    credential_keys: CredentialKeyArgs,
    /// Response shape: timeback, oneroster (strict 1.2) or timeback-2025-04.
    #[arg(long, env = "ROLLCALL_PROFILE", default_value = "timeback")]
    profile: Profile,
    /// Public base URL used in hrefs and Link headers (default: from the Host header).
    #[arg(long, env = "ROLLCALL_PUBLIC_URL", value_parser = rollcall_server::routes::parse_public_url)]
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
    /// Seconds `POST /admin/import` waits for its import before answering
    /// 202 with a job status URL (the import carries on).
    #[arg(long, env = "ROLLCALL_IMPORT_WAIT", default_value_t = 20)]
    import_wait: u64,
    /// Most bytes a package sent to POST /admin/import may unpack to.
    #[arg(long, env = "ROLLCALL_IMPORT_MAX_UNPACKED_BYTES", default_value_t = 2 << 30)]
    import_max_unpacked_bytes: u64,
    /// Most bytes a package's entry may unpack to per compressed byte.
    #[arg(long, env = "ROLLCALL_IMPORT_MAX_RATIO", default_value_t = 200)]
    import_max_ratio: u64,
    /// Seconds a connection may take to send a request head, counted from
    /// when it is ready for one (so also how long an idle one is kept).
    #[arg(long, env = "ROLLCALL_HEADER_TIMEOUT", default_value_t = 20)]
    header_timeout: u64,
    /// Most connections served at once.
    #[arg(long, env = "ROLLCALL_MAX_CONNECTIONS", default_value_t = 512)]
    max_connections: usize,
    /// Token requests per minute per source address (IPv6: per /64); 0 =
    /// unlimited. Behind a reverse proxy all clients share its address.
    #[arg(long, env = "ROLLCALL_TOKEN_RATE_LIMIT_PER_ADDRESS", default_value_t = 60)]
    token_rate_limit_per_address: u32,
    /// API requests one OAuth client may have in flight at once; 0 = unlimited.
    #[arg(long, env = "ROLLCALL_CLIENT_IN_FLIGHT", default_value_t = 4)]
    client_in_flight: u32,
    /// Seconds a webhook receiver may take to answer one delivery.
    #[arg(long, env = "ROLLCALL_WEBHOOK_TIMEOUT", default_value = "10", value_parser = positive_seconds)]
    webhook_timeout: Duration,
    /// Seconds before a failed webhook delivery is first retried (doubling
    /// with each further failure, up to an hour).
    #[arg(long, env = "ROLLCALL_WEBHOOK_BACKOFF", default_value = "5", value_parser = positive_seconds)]
    webhook_backoff: Duration,
    /// Failed attempts at one change before a webhook is `failed` (until resumed).
    #[arg(long, env = "ROLLCALL_WEBHOOK_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..))]
    webhook_max_attempts: u32,
    /// Days the change log (the change feed, audit trails, `asOf`) keeps a
    /// change; older ones are pruned hourly and their cursors answered 410.
    /// 0 keeps every change.
    #[arg(long, env = "ROLLCALL_CHANGE_RETENTION", default_value_t = 30)]
    change_retention: u64,
    /// Bearer token GET /metrics requires; when unset /metrics is open.
    #[arg(long, env = "ROLLCALL_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
}

/// Opens the store named by the database URL: the backend is chosen by
/// its scheme.
pub async fn open_store(db: &DatabaseArgs) -> Result<Arc<dyn Store>> {
    open_store_as(db, Use::Serve).await
}

/// How a command uses the database.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// The server: many requests at once (SQLite reads on connections of
    /// their own); a missing SQLite file is created.
    Serve,
    /// A command beside a server (clients, export): opened as the server
    /// opens it.
    Command,
    /// One job at a time (an import): SQLite opens one connection, so its
    /// bulk loads may skip the WAL (see `rollcall_store_sqlite::open_alone`).
    Alone,
}

/// As [`open_store`], for a command that uses the database as `usage` says.
/// Says which database it opened (a log line for `serve`, standard error
/// for other commands), and refuses what would surprise: a SQLite folder
/// that does not exist, a new empty file outside `serve` without `--create`.
pub async fn open_store_as(db: &DatabaseArgs, usage: Use) -> Result<Arc<dyn Store>> {
    let url = db.database_url.as_str();
    let budget = db.query_timeout;
    if let Some(path) = db.sqlite_path() {
        let exists = path.exists();
        check_sqlite_path(&path, exists, db.create || usage == Use::Serve)?;
        let store = match usage {
            Use::Serve | Use::Command => rollcall_store_sqlite::open_with(&path, budget),
            Use::Alone => rollcall_store_sqlite::open_alone(&path),
        }
        .with_context(|| format!("opening SQLite database {}", path.display()))?;
        let state = if exists { "" } else { " (new, empty: created now)" };
        announce(usage, &format!("SQLite {}{state}", path.display()));
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let server = postgres_server(url);
        let store = rollcall_store_postgres::open_with(url, db.database_pool, budget)
            .await
            .with_context(|| {
                format!(
                    "opening the PostgreSQL database at {server}: is the server running and reachable there, \
                     and is --database-url (ROLLCALL_DATABASE_URL) right?"
                )
            })?;
        announce(usage, &format!("PostgreSQL at {server}"));
        return Ok(Arc::new(store));
    }
    bail!(
        "unsupported --database-url (ROLLCALL_DATABASE_URL) {url:?}: expected sqlite://PATH or postgres://USER@HOST:PORT/DB"
    )
}

fn check_sqlite_path(path: &std::path::Path, exists: bool, may_create: bool) -> Result<()> {
    let folder = path.parent().filter(|f| !f.as_os_str().is_empty());
    if let Some(folder) = folder.filter(|f| !f.is_dir()) {
        bail!(
            "the folder {} of the SQLite database does not exist: create it, or choose another path with \
             --database-url (ROLLCALL_DATABASE_URL)",
            folder.display()
        );
    }
    if !exists && !may_create {
        bail!(
            "there is no database at {}: point --database-url (ROLLCALL_DATABASE_URL) at yours, or pass \
             --create to make a new, empty one there",
            path.display()
        );
    }
    Ok(())
}

fn announce(usage: Use, database: &str) {
    match usage {
        Use::Serve => tracing::info!(database, "database opened"),
        Use::Command | Use::Alone => eprintln!("database: {database}"),
    }
}

/// `host:port/db` of a PostgreSQL URL, for messages (never the password).
fn postgres_server(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let database = database.split('?').next().unwrap_or_default();
    let authority = if authority.contains(':') || authority.is_empty() {
        authority.to_owned()
    } else {
        format!("{authority}:5432")
    };
    format!("{authority} (database {database:?})")
}

pub async fn serve(args: ServeArgs) -> Result<()> {
    let store = open_store(&args.db).await?;
    let key = signing_key(args.signing_key, store.as_ref()).await?;
    let mut rollcall = Rollcall::new(store.clone(), Arc::new(SystemClock), &key);
    rollcall = rollcall.with_credentials(args.credential_keys.credentials(store.clone())?);
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
            token_per_minute_per_address: args.token_rate_limit_per_address,
            in_flight_per_client: args.client_in_flight,
        },
        import_wait: std::time::Duration::from_secs(args.import_wait),
        import_limits: rollcall_csv::ZipLimits {
            max_unpacked_bytes: args.import_max_unpacked_bytes,
            max_ratio: args.import_max_ratio,
        },
        metrics_token: args.metrics_token,
    };
    let deliveries = DeliveryConfig {
        timeout: args.webhook_timeout,
        backoff_base: args.webhook_backoff,
        max_attempts: args.webhook_max_attempts,
        ..DeliveryConfig::default()
    };
    // Runs beside the server, off the request path, until `serve` returns.
    let _deliveries = Worker::new(rollcall.webhooks.clone(), deliveries)?.spawn();
    if args.change_retention > 0 {
        let days = std::time::Duration::from_secs(args.change_retention * 86_400);
        let _pruning = rollcall.engine.prune_in_background(days);
    }
    let state = AppState::new(rollcall, config);
    let readiness = state.readiness.clone();
    let app = rollcall_server::app(state);
    let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => "another program is listening there: stop it, or choose another",
            std::io::ErrorKind::AddrNotAvailable => "this machine has no such address: choose another",
            _ => "choose another",
        };
        anyhow::anyhow!(
            "cannot listen on {}: {e}; {hint} address with --listen (ROLLCALL_LISTEN)",
            args.listen
        )
    })?;
    tracing::info!(address = %listener.local_addr()?, profile = args.profile.as_str(), "rollcall listening");
    let limits = ConnectionLimits {
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout),
        max_connections: args.max_connections,
    };
    let (stopping, stopped) = tokio::sync::oneshot::channel();
    let draining = async move {
        shutdown_signal().await;
        readiness.drain();
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = stopping.send(());
    };
    let grace = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        }
    };
    tokio::select! {
        served = rollcall_server::serve_with(listener, app, draining, limits) => served?,
        () = grace => tracing::warn!("requests still running after the shutdown grace period; exiting"),
    }
    Ok(())
}

/// How long a stopping server waits for requests in flight: a little over
/// the request timeout, which bounds every request but a remote import's
/// background job (one transaction: stopping mid-way leaves nothing of it).
const SHUTDOWN_GRACE: std::time::Duration =
    rollcall_server::REQUEST_TIMEOUT.saturating_add(std::time::Duration::from_secs(5));
/// The configured signing key, refused when short, or else the one kept in
/// the database (generated by the first instance to start).
async fn signing_key(configured: Option<String>, store: &dyn Store) -> Result<SigningKey> {
    if let Some(key) = configured {
        return SigningKey::new(key).map_err(|e| {
            anyhow::anyhow!(
                "ROLLCALL_SIGNING_KEY (--signing-key) is refused: {e}. Anyone who guesses it can mint \
                 admin tokens: use a long random value (e.g. `openssl rand -base64 48`), or leave it unset \
                 to have one generated and kept in the database."
            )
        });
    }
    let kept = store
        .setting_or_insert("token_signing_key", &secret::random_token(SigningKey::MIN_LEN))
        .await?;
    SigningKey::new(kept).context("the token signing key kept in the database (setting token_signing_key)")
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
