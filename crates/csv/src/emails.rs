//! A user's email is unique in Rollcall (compared on `oneroster::unique_key`:
//! trimmed, Unicode-normalised, case-folded; soft-deleted users included),
//! so a clash would fail a write half-way through an import. Every new or
//! changed email is checked first, on the same key the store's unique index
//! covers: against the other users of the package, and against the stored
//! users the import leaves with their email.

use std::collections::{HashMap, HashSet};

use oneroster::model::user::USERS;
use oneroster::unique_key;
use rollcall_store::{ResourceStore, StoreError};

use crate::load::Existing;
use crate::problem::{Problem, Problems};
use crate::read::Parsed;
use crate::spec::FileKind;

/// Keys per store query.
const PER_QUERY: usize = 500;

/// Checks `written`, the (sourcedId, email) of every user the import will store.
pub async fn check(
    store: &dyn ResourceStore,
    parsed: &Parsed,
    existing: &Existing,
    written: &[(String, Option<String>)],
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let line = |id: &str| parsed.table(FileKind::Users).and_then(|t| t.row(id)).map(|r| r.line);
    let mut report = |id: &str, address: &str, other: &str, rule| {
        let reason = format!("email '{address}' is also the email of user '{other}' (emails are unique)");
        let mut problem = Problem::new("users.csv", rule, reason).column("email");
        problem.line = line(id);
        problems.push(problem);
    };
    let mut finals: HashSet<&str> = HashSet::with_capacity(written.len());
    let mut holders: HashMap<String, &str> = HashMap::with_capacity(written.len());
    // (sourcedId, email, key) of every new or changed email.
    let mut candidates: Vec<(&str, &str, String)> = Vec::new();
    for (id, address) in written {
        let (id, address) = (id.as_str(), address.as_deref());
        finals.insert(id);
        let Some(address) = address else { continue };
        let key = unique_key(address);
        let before = existing.get(FileKind::Users, id).and_then(|s| s.email.as_deref());
        if before.is_none_or(|b| unique_key(b) != key) {
            candidates.push((id, address, key.clone()));
        }
        if let Some(other) = holders.insert(key, id) {
            report(id, address, other, "semantic.duplicate_email");
        }
    }
    let mut stored: HashMap<String, String> = HashMap::new();
    if existing.scanned(FileKind::Users) {
        for (id, doc) in existing.all(FileKind::Users) {
            if let (false, Some(address)) = (finals.contains(id.as_str()), doc.email.as_deref()) {
                stored.insert(unique_key(address), id.clone());
            }
        }
    } else {
        let field = USERS.field("email").expect("users declare email");
        for chunk in candidates.chunks(PER_QUERY) {
            let keys = chunk.iter().map(|(_, _, key)| key.clone()).collect();
            for (key, id) in store.unique_holders(&USERS, field, keys).await? {
                if !finals.contains(id.as_str()) {
                    stored.insert(key, id);
                }
            }
        }
    }
    for (id, address, key) in candidates {
        if let Some(other) = stored.get(&key).filter(|o| *o != id) {
            report(id, address, other, "store.email_taken");
        }
    }
    Ok(())
}
