//! A user's email and username are unique in Rollcall (each compared on
//! `oneroster::unique_key`: trimmed, Unicode-normalised, case-folded;
//! soft-deleted users included), so a clash would fail a write half-way
//! through an import. Every new or changed value of each unique field is
//! checked first, on the same key the store's unique index covers: against
//! the other users of the package, and against the stored users the import
//! leaves with their value.

use std::collections::{HashMap, HashSet};

use oneroster::model::user::USERS;
use oneroster::{FieldDecl, unique_key};
use rollcall_store::schema::unique_fields;
use rollcall_store::{ResourceStore, StoreError};
use serde_json::Value;

use crate::load::Existing;
use crate::problem::{Problem, Problems};
use crate::read::Parsed;
use crate::spec::FileKind;

/// Keys per store query.
const PER_QUERY: usize = 500;

/// A user's unique values, in the order of `unique_fields(&USERS)`.
pub type Values = Box<[Option<Box<str>>]>;

/// A written user: its sourcedId and unique values.
pub type Written = (String, Values);

/// The values of the users' unique fields in `doc` (as `Stored` and the
/// planner keep them).
pub fn values(doc: &Value) -> Values {
    unique_fields(&USERS)
        .map(|f| doc.get(f.name).and_then(Value::as_str).map(Into::into))
        .collect()
}

/// The problem rules of a clash in `field`: within the package, and with
/// a stored user.
fn rules(field: &FieldDecl) -> (&'static str, &'static str) {
    match field.name {
        "email" => ("semantic.duplicate_email", "store.email_taken"),
        "username" => ("semantic.duplicate_username", "store.username_taken"),
        _ => ("semantic.duplicate_key", "store.key_taken"),
    }
}

/// The value at position `at` of a user's unique values.
fn value_of(values: &[Option<Box<str>>], at: usize) -> Option<&str> {
    values.get(at).and_then(|v| v.as_deref())
}

/// Checks `written`, the sourcedId and unique values of every user the
/// import will store.
pub async fn check(
    store: &dyn ResourceStore,
    parsed: &Parsed,
    existing: &Existing,
    written: &[Written],
    problems: &mut Problems,
) -> Result<(), StoreError> {
    for (at, field) in unique_fields(&USERS).enumerate() {
        check_field(store, parsed, existing, (at, field), written, problems).await?;
    }
    Ok(())
}

/// [`check`] for the unique field at position `at`.
async fn check_field(
    store: &dyn ResourceStore,
    parsed: &Parsed,
    existing: &Existing,
    (at, field): (usize, &'static FieldDecl),
    written: &[Written],
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let name = field.name;
    let (duplicate, taken) = rules(field);
    let line = |id: &str| parsed.table(FileKind::Users).and_then(|t| t.row(id)).map(|r| r.line);
    let mut report = |id: &str, value: &str, other: &str, rule| {
        let reason = format!("{name} '{value}' is also the {name} of user '{other}' ({name}s are unique)");
        let mut problem = Problem::new("users.csv", rule, reason).column(name);
        problem.line = line(id);
        problems.push(problem);
    };
    let mut finals: HashSet<&str> = HashSet::with_capacity(written.len());
    let mut holders: HashMap<String, &str> = HashMap::with_capacity(written.len());
    // (sourcedId, value, key) of every new or changed value.
    let mut candidates: Vec<(&str, &str, String)> = Vec::new();
    for (id, values) in written {
        let id = id.as_str();
        finals.insert(id);
        let Some(value) = value_of(values, at) else { continue };
        let key = unique_key(value);
        let before = existing.get(FileKind::Users, id).and_then(|s| value_of(&s.uniques, at));
        if before.is_none_or(|b| unique_key(b) != key) {
            candidates.push((id, value, key.clone()));
        }
        if let Some(other) = holders.insert(key, id) {
            report(id, value, other, duplicate);
        }
    }
    let mut stored: HashMap<String, String> = HashMap::new();
    if existing.scanned(FileKind::Users) {
        for (id, doc) in existing.all(FileKind::Users) {
            if let (false, Some(value)) = (finals.contains(id.as_str()), value_of(&doc.uniques, at)) {
                stored.insert(unique_key(value), id.clone());
            }
        }
    } else {
        for chunk in candidates.chunks(PER_QUERY) {
            let keys = chunk.iter().map(|(_, _, key)| key.clone()).collect();
            for (key, id) in store.unique_holders(&USERS, field, keys).await? {
                if !finals.contains(id.as_str()) {
                    stored.insert(key, id);
                }
            }
        }
    }
    for (id, value, key) in candidates {
        if let Some(other) = stored.get(&key).filter(|o| *o != id) {
            report(id, value, other, taken);
        }
    }
    Ok(())
}
