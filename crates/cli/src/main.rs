//! The `rollcall` binary: parses configuration and calls the libraries.

mod allocator;
mod backup;
mod clients;
mod config;
mod credentials;
mod csv;
mod extensions;
mod table;
mod users;
mod webhooks;

use std::io::IsTerminal;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rollcall", version, about = "A OneRoster 1.2 rostering service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    // Boxed: its many settings would make every command as large.
    Serve(Box<config::ServeArgs>),
    /// Manage OAuth clients in the database.
    Clients(clients::ClientsArgs),
    /// Manage webhook subscriptions to the change feed, and see where their deliveries stand.
    Webhooks(webhooks::WebhooksArgs),
    /// Declare typed extension fields in the database.
    Extensions(extensions::ExtensionsArgs),
    /// Manage users on a running server (over HTTP, as an OAuth client).
    Users(users::UsersArgs),
    /// Manage the sealed third-party credentials (key rotation).
    Credentials(credentials::CredentialsArgs),
    /// Import a OneRoster 1.2 CSV package (a directory or a .zip) into the database.
    Import(csv::ImportArgs),
    /// Export the database as a OneRoster 1.2 CSV bulk package (a directory or a .zip).
    Export(csv::ExportArgs),
    /// Copy the embedded database to a new file, consistently, while the server runs.
    Backup(backup::BackupArgs),
    /// Check a backup and install it as the embedded database (server stopped).
    Restore(backup::RestoreArgs),
}

/// Logs as `ROLLCALL_LOG_FORMAT` asks: `json` (one object per line, with
/// the request span's fields, for log collectors) or human text, the
/// default. An unknown format falls back to text and is returned.
fn init_logs() -> Result<(), String> {
    let logs = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=info".into()),
    );
    let format = std::env::var("ROLLCALL_LOG_FORMAT").unwrap_or_default();
    if format.eq_ignore_ascii_case("json") {
        logs.json().init();
        return Ok(());
    }
    // Colour only for a person at a terminal: files and log collectors get
    // plain text (and NO_COLOR is honoured).
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    logs.with_ansi(colour).init();
    match format.to_ascii_lowercase().as_str() {
        "" | "text" => Ok(()),
        _ => Err(format),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    if let Err(unknown) = init_logs() {
        anyhow::bail!("ROLLCALL_LOG_FORMAT must be `text` or `json`, not {unknown:?}");
    }
    match Cli::parse().command {
        Command::Serve(args) => config::serve(*args).await,
        Command::Clients(args) => clients::run(args).await,
        Command::Extensions(args) => extensions::run(args).await,
        Command::Users(args) => users::run(args).await,
        Command::Webhooks(args) => webhooks::run(args).await,
        Command::Credentials(args) => credentials::run(args).await,
        Command::Import(args) => {
            allocator::keep_freed_memory();
            csv::import(args).await
        }
        Command::Export(args) => csv::export(args).await,
        Command::Backup(args) => backup::backup(args).await,
        Command::Restore(args) => backup::restore(args).await,
    }
}
