//! The OneRoster 1.2 `filter` query language: parser, typed AST and canonical
//! printer.
//!
//! A filter such as `status='active' AND (role='student' OR role='teacher')`
//! is parsed by [`parse`] into a [`FilterExpr`]. Nothing here knows which
//! fields a resource has; checking field names and value types against a
//! resource declaration is left to the query compiler, which can point at
//! [`Predicate::position`] in its errors.
//!
//! # Grammar
//!
//! ```text
//! expr      := or
//! or        := and ( OR and )*
//! and       := primary ( AND primary )*          ; AND binds tighter than OR
//! primary   := '(' expr ')' | predicate
//! predicate := field ws? op ws? value
//! field     := ident ('.' ident)*                ; ident := [A-Za-z_][A-Za-z0-9_]*
//! op        := '=' | '!=' | '>=' | '<=' | '>' | '<' | '~' | '@'
//! value     := "'" chars "'"                     ; '' inside is one '
//!            | '"' chars '"'                     ; "" inside is one " (lenient)
//! ```
//!
//! - `AND` and `OR` are case-insensitive and must be whole words; whitespace
//!   (ASCII: spaces, tabs, newlines) is optional around parentheses and after
//!   a closing quote, and allowed around operators and at either end.
//! - `~` is "contains" (OneRoster); `@` ("one of", a TimeBack extension) takes
//!   a comma-separated list in one quoted value: `givenName@'Ann, Bob'`. Items
//!   are trimmed and must not be empty; commas cannot be escaped.
//! - Every value is a string, even for `>`/`<` on dates
//!   (`dateLastModified>'2026-01-01'`); interpreting it is the compiler's job.
//!
//! # Tree shape
//!
//! `And`/`Or` always hold two or more children and are flattened: `a AND b AND
//! c`, and `a AND (b AND c)`, are both one `And` of three. Together with the
//! canonical printer (see `Display` for [`FilterExpr`]) this gives
//! `parse(&expr.to_string()) == Ok(expr)` for every parsed `expr`.
//!
//! # Limits
//!
//! Filters come from untrusted clients, so parsing is bounded: at most
//! [`MAX_FILTER_BYTES`] bytes (checked first), [`MAX_PREDICATES`] predicates
//! and [`MAX_DEPTH`] levels of parentheses (which also bounds recursion). Any
//! input, non-ASCII included, yields either a tree or a [`FilterError`] with
//! the byte offset (on a char boundary) of the problem; the parser never
//! panics.

mod ast;
mod parse;
mod print;

#[cfg(test)]
mod tests;

pub use ast::{FieldPath, FilterExpr, FilterValue, Op, Predicate};
pub use parse::{FilterError, MAX_DEPTH, MAX_FILTER_BYTES, MAX_PREDICATES, parse};
