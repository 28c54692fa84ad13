//! OneRoster 1.2 CSV packages (the "CSV binding"): import a package (a
//! directory or a `.zip`) into a Rollcall store, and export a store as one.
//!
//! Districts move rosters as CSV packages far more often than over REST, so
//! this is the bulk path in and out. An import is all-or-nothing from the
//! operator's point of view: the whole package is validated (every file,
//! every row, every reference), every problem is reported with its file,
//! line and column, and nothing is committed unless there are none (new
//! users may start loading while the rest is checked, in a transaction
//! withdrawn on any problem; see `import`). Rows are
//! validated by the same `normalize` functions the REST API uses, so CSV and
//! REST data are indistinguishable once stored.
//!
//! # Semantics
//! - `bulk` files are the complete set: records missing from one are marked
//!   `tobedeleted` (a soft delete, as the API's DELETE does); present ones
//!   are created or replaced. `delta` files apply their rows as given; a
//!   `tobedeleted` row soft-deletes its record.
//! - `roles.csv` and `userProfiles.csv` fold into each user's `roles[]` and
//!   `userProfiles[]`; passwords are stored as argon2 hashes only.
//! - A mass-change guard refuses a package that would soft-delete more than a
//!   set share of an org's users (a truncated export looks just like that).
//! - Records whose content did not change are not written, so re-importing
//!   the same package is cheap and leaves `dateLastModified` alone.
//! - A file with a `metadata.rollcall` column is a Rollcall export: its rows
//!   keep their status (tobedeleted ones are created too) and, when new,
//!   their `dateLastModified`, and that column's fields are laid over what
//!   the standard cells give, so an export restores exactly (`extension`).
//! - Free-text cells neutralised against spreadsheet formulas (a leading
//!   `'`) are read back without it (`extension`).
//!
//! # Layout
//! - [`package`]: reading a directory or ZIP; [`manifest`]: `manifest.csv`.
//! - `spec`, `cell`, `table`, `convert`: the column tables, cell formats,
//!   header and row checks, rows to REST JSON.
//! - `refs`: references between files and to stored records.
//! - `view`, `extension`: an export's rows (the conformant view and the
//!   `metadata.rollcall` fields), formula neutralisation.
//! - `load`, `plan`, `users`, `passwords`, `unique`, `guard`, `write`:
//!   reading what is stored, deciding every write, the user assembly,
//!   password hashing, unique emails and usernames, the mass-change guard, writing
//!   (the whole package in one `ResourceStore::apply` transaction). `par`
//!   spreads row work over the cores.
//!
//! # Speed and memory
//! Rows stay CSV records until planned, planned records are held as JSON
//! text, and stored records are read as JSON text too, so a million-user
//! package fits in a few GB. Checking and planning run on every core; the
//! write is bounded by the store's `apply` (see `tests/bench.rs`),
//! which is why the new users' load starts before the other files are
//! planned.
//! - [`import`](fn@import) and [`export`](fn@export): the entry points.

mod cell;
mod convert;
mod export;
mod extension;
mod guard;
mod import;
mod load;
pub mod manifest;
pub mod package;
mod par;
mod passwords;
mod plan;
pub mod problem;
mod read;
mod refs;
mod report;
mod spec;
mod table;
mod unique;
mod users;
mod view;
mod write;

pub use export::{ExportError, ExportReport, export};
pub use import::import;
pub use package::{Package, ZipLimits};
pub use problem::{Problem, Problems};
pub use report::{Counts, ImportError, ImportOptions, ImportReport, Mode, OrgShare, Progress};
pub use spec::{ALL_FILES, FileKind};
