//! A fresh database per test on the server at `ROLLCALL_TEST_POSTGRES_URL`
//! (default: the local one), dropped afterwards. Used by this crate's tests
//! and by the server's integration suite when it runs on PostgreSQL.
//!
//! When the server cannot be reached, tests fail: a missing server must not
//! pass as green. Setting `ROLLCALL_SKIP_POSTGRES=1` skips them instead,
//! loudly, without trying to connect.

use std::time::Duration;

use tokio_postgres::{Client, NoTls};

use crate::PgStore;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The one way to skip the PostgreSQL tests: set to `1`.
pub const SKIP_VAR: &str = "ROLLCALL_SKIP_POSTGRES";

/// A fresh database, dropped (closing any connections left open) with this.
pub struct TestDb {
    admin: String,
    name: String,
    pub url: String,
}

impl TestDb {
    /// `None` only when [`SKIP_VAR`] asks to skip the PostgreSQL tests;
    /// panics when the server is unreachable otherwise.
    pub async fn create() -> Option<Self> {
        if skipped() {
            eprintln!("{SKIP_VAR}=1: this PostgreSQL test did NOT run");
            return None;
        }
        let admin = std::env::var("ROLLCALL_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        Some(Self::create_on(admin).await)
    }

    /// A fresh database on the server that `admin` reaches; panics when it
    /// cannot be reached.
    pub async fn create_on(admin: String) -> Self {
        let client = connect(&admin).await.unwrap_or_else(|e| {
            panic!("POSTGRES NOT REACHABLE at {admin} ({e}); set {SKIP_VAR}=1 to skip the PostgreSQL tests")
        });
        let name = format!("rollcall_test_{}", uuid::Uuid::new_v4().simple());
        // Two calls: several statements in one would form a transaction,
        // which CREATE DATABASE refuses. No test needs durable commits.
        for statement in [
            format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ),
            format!("ALTER DATABASE \"{name}\" SET synchronous_commit = off"),
        ] {
            client
                .batch_execute(&statement)
                .await
                .expect("create the test database");
        }
        Self {
            url: with_database(&admin, &name),
            admin,
            name,
        }
    }

    pub async fn open(&self) -> PgStore {
        crate::open(&self.url, 4).await.unwrap()
    }

    /// A plain connection, for looking behind the store.
    pub async fn sql(&self) -> Client {
        connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    /// On a thread of its own: the test's runtime may be the one dropping us,
    /// and it cannot block on another future from inside itself.
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let client = connect(&admin).await?;
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// Whether [`SKIP_VAR`] is set to `1`.
pub fn skipped() -> bool {
    std::env::var(SKIP_VAR).as_deref() == Ok("1")
}

/// Errors carry their cause: tokio-postgres's `Display` names only the kind.
async fn connect(url: &str) -> Result<Client, String> {
    let describe = |e: tokio_postgres::Error| match std::error::Error::source(&e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    };
    let mut config: tokio_postgres::Config = url.parse().map_err(describe)?;
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await.map_err(describe)?;
    tokio::spawn(connection);
    Ok(client)
}

/// `url` pointing at database `name` instead, in URL or `key=value` form.
fn with_database(url: &str, name: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return format!("{url} dbname={name}");
    };
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{name}{query}", &base[..authority_end])
}
