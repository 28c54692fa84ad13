//! `rollcall-bench`: generate a district into a database, then measure the
//! API against it over real HTTP on loopback.
//!
//! ```text
//! cargo run --release -p rollcall-bench -- generate --users 1000000 --database-url sqlite://bench.db
//! cargo run --release -p rollcall-bench -- run --database-url sqlite://bench.db
//! ```

mod load;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use rollcall_bench::datagen::{self, Shape};
use std::sync::Arc;

use rollcall_store::Store;
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
    let store = store.as_ref();
    let started = Instant::now();
    let mut batch = Batch::default();
    for (decl, doc) in datagen::structure(shape) {
        batch.push(store, decl, doc).await?;
    }
    for i in 0..shape.users {
        for (decl, doc) in datagen::user_records(shape, i) {
            batch.push(store, decl, doc).await?;
        }
        if (i + 1) % 100_000 == 0 {
            eprintln!("{} users in {:.1} s", i + 1, started.elapsed().as_secs_f64());
        }
    }
    batch.flush(store).await?;
    eprintln!(
        "generated {} users in {:.1} s",
        shape.users,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Records grouped per resource and written in large transactions.
#[derive(Default)]
struct Batch(Vec<(&'static oneroster::ResourceDecl, Vec<Value>)>);

impl Batch {
    const SIZE: usize = 5_000;

    async fn push(&mut self, store: &dyn Store, decl: &'static oneroster::ResourceDecl, doc: Value) -> Result<()> {
        let slot = match self.0.iter().position(|(d, _)| *d == decl) {
            Some(i) => i,
            None => {
                self.0.push((decl, Vec::new()));
                self.0.len() - 1
            }
        };
        self.0[slot].1.push(doc);
        if self.0[slot].1.len() >= Self::SIZE {
            let docs = std::mem::take(&mut self.0[slot].1);
            store.insert_many(decl, docs).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, store: &dyn Store) -> Result<()> {
        for (decl, docs) in self.0.drain(..) {
            if !docs.is_empty() {
                store.insert_many(decl, docs).await?;
            }
        }
        Ok(())
    }
}
