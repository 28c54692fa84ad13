//! `rollcall import` and `rollcall export`: OneRoster 1.2 CSV packages (a
//! directory or a `.zip`) into and out of the database, directly, as a
//! district's nightly SIS sync or a migration would run them. All the rules
//! live in `rollcall-csv`; this prints its report and its problems.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use oneroster::{Clock, SystemClock};
use rollcall_csv::{ImportError, ImportOptions, Mode, Package, Progress};
use rollcall_store::{Origin, WriteContext};

use crate::config::{DatabaseArgs, Use, open_store_as};

#[derive(Args)]
pub struct ImportArgs {
    /// The package: a directory holding manifest.csv and the data files, or a .zip.
    package: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
    /// Apply bulk files like delta files: create and update records, but never
    /// mark records missing from the package tobedeleted.
    #[arg(long)]
    delta_only: bool,
    /// Check the package and report what would change, without writing.
    #[arg(long)]
    dry_run: bool,
    /// Apply even if more than --max-delete-share of an org's users would be
    /// marked tobedeleted.
    #[arg(long)]
    force: bool,
    /// The largest share (0 to 1) of an org's active users one import may mark
    /// tobedeleted without --force.
    #[arg(long, default_value_t = 0.25)]
    max_delete_share: f64,
    /// How many problems to list when the package is rejected.
    #[arg(long, default_value_t = 100)]
    max_problems: usize,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Where to write: a path ending in .zip, or a directory (created if needed).
    package: PathBuf,
    #[command(flatten)]
    db: DatabaseArgs,
}

/// A progress bar on standard error while records are written, only when
/// that is a terminal (logs and pipes get the report alone).
fn progress_bar() -> Option<Progress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("writing {bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
            .expect("a valid template"),
    );
    Some(Progress(Arc::new(move |written, total| {
        bar.set_length(total);
        bar.set_position(written);
    })))
}

pub async fn import(args: ImportArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.max_delete_share) {
        bail!("--max-delete-share must be between 0 and 1");
    }
    let scratch = args.dry_run.then(|| Scratch::instead_of(&args.db)).flatten();
    let store = match &scratch {
        Some(scratch) => scratch.open()?,
        None => open_store_as(&args.db, Use::Alone).await?,
    };
    let package =
        Package::open(&args.package).with_context(|| format!("reading the package {}", args.package.display()))?;
    let options = ImportOptions {
        mode: if args.delta_only {
            Mode::DeltaOnly
        } else {
            Mode::AsManifest
        },
        dry_run: args.dry_run,
        force: args.force,
        max_delete_share: args.max_delete_share,
        max_problems: args.max_problems,
        progress: progress_bar(),
        ..ImportOptions::new(SystemClock.now())
    };
    let writer = WriteContext {
        origin: Origin::Cli,
        ..WriteContext::default()
    };
    let result = WriteContext::scope(writer, rollcall_csv::import(store.as_ref(), package, &options)).await;
    if options.progress.is_some() {
        eprintln!();
    }
    match result {
        Ok(report) => {
            print!("{report}");
            if report.dry_run {
                println!("dry run: nothing was written");
            }
            Ok(())
        }
        Err(ImportError::Rejected { problems, total }) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            if total > problems.len() {
                eprintln!("… and {} more", total - problems.len());
            }
            bail!("the package was rejected with {total} problem(s); nothing was written")
        }
        Err(e @ ImportError::MassDelete { .. }) => {
            if let ImportError::MassDelete { report, .. } = &e {
                print!("{report}");
            }
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn export(args: ExportArgs) -> Result<()> {
    let store = open_store_as(&args.db, Use::Command).await?;
    let report = rollcall_csv::export(store.as_ref(), &args.package)
        .await
        .with_context(|| format!("exporting to {}", args.package.display()))?;
    for (file, rows) in &report.files {
        println!("{file:<22} {rows:>9}");
    }
    println!("wrote {}", args.package.display());
    Ok(())
}

/// A dry run against a SQLite file that does not exist checks the package
/// against an empty database in a temporary file, removed afterwards: a dry
/// run creates nothing where it was pointed.
struct Scratch(PathBuf);

impl Scratch {
    fn instead_of(db: &DatabaseArgs) -> Option<Self> {
        let path = db.sqlite_path().filter(|p| !p.exists())?;
        eprintln!(
            "database: SQLite {} does not exist; dry run against an empty database (nothing is created)",
            path.display()
        );
        let name = format!(
            "rollcall-dry-run-{}-{}.db",
            std::process::id(),
            SystemClock.now().timestamp_micros()
        );
        Some(Self(std::env::temp_dir().join(name)))
    }

    fn open(&self) -> Result<Arc<dyn rollcall_store::Store>> {
        let store =
            rollcall_store_sqlite::open_alone(&self.0).context("opening a temporary database for the dry run")?;
        Ok(Arc::new(store))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}
