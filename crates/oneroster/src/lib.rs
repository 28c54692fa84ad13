//! The OneRoster 1.2 standard as Rust types, with no I/O.
//!
//! # Layout
//! - [`primitives`]: the spec's primitive types as parse-don't-validate newtypes
//!   (`SourcedId`, `Status`, `Timestamp`, vocabularies with `ext:` extensions).
//! - [`model`]: one module per resource (users, orgs, …): the serde type that
//!   validates and normalises a payload, and the resource's [`ResourceDecl`].
//! - [`resource`]: what a declaration holds and the registry of all of them.
//!   Storage, the HTTP service and the OpenAPI document all work from these.
//! - [`filter`]: the `filter` query language (parser, typed AST, printer).
//! - [`query`]: a collection request (`limit`, `offset`, `sort`, `orderBy`,
//!   `filter`, `fields`, `search`) checked against a declaration.
//! - [`relation`]: collections reached through another record (the students
//!   of a class) and TimeBack's roster writes, declared once.
//! - [`cursor`]: keyset cursors for following `next` links without OFFSET.
//! - [`problems`]: every problem of a record at once, each at its JSON path.
//! - [`wire`]: the `imsx_StatusInfo` error body and other envelopes shared with clients.
//! - [`extension`]: typed extension fields an administrator declares at run time.
//! - [`clock`]: time is injected, never read directly.

pub mod clock;
pub mod cursor;
pub mod extension;
pub mod filter;
pub mod model;
pub mod path;
pub mod primitives;
pub mod problems;
pub mod query;
pub mod relation;
pub mod resource;
pub mod wire;

pub use clock::{Clock, FixedClock, SystemClock};
pub use primitives::{SourcedId, Status, Timestamp, unique_key};
pub use resource::{FieldDecl, FieldKind, RefDecl, ResourceDecl};
