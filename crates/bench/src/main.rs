//! `rollcall-bench`: generate a district into a database, then measure the
//! API against it over real HTTP on loopback.
//!
//! ```text
//! cargo run --release -p rollcall-bench -- generate --users 1000000 --database-url sqlite://bench.db
//! cargo run --release -p rollcall-bench -- run --database-url sqlite://bench.db
//! ```

mod load;

/// mimalloc: several times cheaper than glibc's allocator for the millions of
/// small JSON values a bulk load allocates on one thread and frees on another.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use rollcall_bench::datagen::{self, Shape};
use std::sync::Arc;

use oneroster::ResourceDecl;
use rollcall_store::{Batches, Store};
use serde_json::Value;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a generated district into a new database.
    Generate {
        #[arg(long, default_value_t = 1_000_000)]
        users: u64,
        #[arg(long, default_value = "sqlite://bench.db")]
        database_url: String,
    },
    /// Serve the database in-process and measure every scenario.
    Run(load::RunArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Generate { users, database_url } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(generate(Shape { users }, &database_url))
        }
        Command::Run(args) => load::run(args),
    }
}

/// Opens `sqlite://PATH` or `postgres://…`, as the server does.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(rollcall_store_sqlite::open(&PathBuf::from(path))?));
    }
    if url.starts_with("postgres://") {
        return Ok(Arc::new(rollcall_store_postgres::open(url, 4).await?));
    }
    bail!("expected sqlite://PATH or postgres://…, got {url}")
}

async fn generate(shape: Shape, url: &str) -> Result<()> {
    let store = open_store(url).await?;
    let started = Instant::now();
    let mut structure: Vec<(&'static ResourceDecl, Vec<Value>)> = Vec::new();
    for (decl, doc) in datagen::structure(shape) {
        match structure.iter_mut().find(|(d, _)| *d == decl) {
            Some((_, docs)) => docs.push(doc),
            None => structure.push((decl, vec![doc])),
        }
    }
    for (decl, docs) in structure {
        let docs = docs.iter().map(Value::to_string).collect();
        store.insert_bulk(decl, Box::new(std::iter::once(Ok(docs)))).await?;
    }
    for decl in datagen::USER_RESOURCES {
        let n = store.insert_bulk(decl, user_batches(shape, decl)).await?;
        eprintln!("{n} {} in {:.1} s", decl.collection, started.elapsed().as_secs_f64());
    }
    eprintln!(
        "generated {} users in {:.1} s",
        shape.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One resource's records of every user, generated a batch at a time on a
/// thread of their own while the store writes the previous batch.
fn user_batches(shape: Shape, decl: &'static ResourceDecl) -> Batches {
    const BATCH: u64 = 5_000;
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    std::thread::spawn(move || {
        for start in (0..shape.users).step_by(BATCH as usize) {
            let end = (start + BATCH).min(shape.users);
            let batch: Vec<String> = (start..end)
                .filter_map(|i| datagen::user_record(shape, i, decl))
                .map(|doc| doc.to_string())
                .collect();
            if tx.send(batch).is_err() {
                return;
            }
        }
    });
    Box::new(rx.into_iter().map(Ok))
}
