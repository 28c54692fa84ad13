//! `rollcall backup` and `rollcall restore`: the embedded database's online
//! backup and checked restore. PostgreSQL deployments use the database's
//! own tools (README).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use rollcall_store_sqlite::backup::{self, Copied};

use crate::config::DatabaseArgs;

#[derive(Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist). Safe while `rollcall serve` runs.
    path: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file written by `rollcall backup`. Stop the server first.
    path: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

pub async fn backup(args: BackupArgs) -> Result<()> {
    let database = sqlite_path(&args.db)?;
    let target = args.path;
    let copied = tokio::task::spawn_blocking(move || backup::backup(&database, &target)).await??;
    report("backed up to", &copied);
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> Result<()> {
    let database = sqlite_path(&args.db)?;
    let source = args.path;
    let copied = tokio::task::spawn_blocking(move || backup::restore(&source, &database)).await??;
    report("restored", &copied);
    if let Some(previous) = &copied.previous {
        eprintln!("the database it replaced was kept as {}", previous.display());
    }
    Ok(())
}

fn report(what: &str, copied: &Copied) {
    eprintln!("{what} {} ({} bytes)", copied.path.display(), copied.bytes);
}

fn sqlite_path(db: &DatabaseArgs) -> Result<PathBuf> {
    match db.sqlite_path() {
        Some(path) => Ok(path),
        None => bail!(
            "backup and restore are for the embedded SQLite database; back up PostgreSQL with \
             pg_dump / pg_restore (see the README)"
        ),
    }
}
