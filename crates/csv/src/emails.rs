//! A user's email is unique in Rollcall (case-insensitively, soft-deleted
//! users included), so a clash would fail a write half-way through an
//! import. Every new or changed email is checked first: against the other
//! users of the package, and against the stored users the import leaves
//! with their email.

use std::collections::{HashMap, HashSet};

use oneroster::model::user::USERS;
use oneroster::query::{Condition, Filter, ListQuery};
use rollcall_store::{ResourceStore, StoreError};
use serde_json::Value;

use crate::load::{Existing, id_of};
use crate::problem::{Problem, Problems};
use crate::read::Parsed;
use crate::spec::FileKind;

/// Emails per store query (each is looked up as given and lower-cased).
const PER_QUERY: usize = 100;

fn email(doc: &Value) -> Option<&str> {
    doc.get("email").and_then(Value::as_str)
}

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
    // (sourcedId, email, email lower-cased) of every new or changed email.
    let mut candidates: Vec<(&str, &str, String)> = Vec::new();
    for (id, address) in written {
        let (id, address) = (id.as_str(), address.as_deref());
        finals.insert(id);
        let Some(address) = address else { continue };
        let folded = address.to_lowercase();
        let before = existing.get(FileKind::Users, id).and_then(|s| s.email.as_deref());
        if before.is_none_or(|b| b.to_lowercase() != folded) {
            candidates.push((id, address, folded.clone()));
        }
        if let Some(other) = holders.insert(folded, id) {
            report(id, address, other, "semantic.duplicate_email");
        }
    }
    let mut stored: HashMap<String, String> = HashMap::new();
    if existing.scanned(FileKind::Users) {
        for (id, doc) in existing.all(FileKind::Users) {
            if let (false, Some(address)) = (finals.contains(id.as_str()), doc.email.as_deref()) {
                stored.insert(address.to_lowercase(), id.clone());
            }
        }
    } else {
        let field = USERS.field("email").expect("users declare email");
        for chunk in candidates.chunks(PER_QUERY) {
            let mut any = Vec::new();
            for (_, address, folded) in chunk {
                any.push(Filter::Cond(Condition::equals(field, *address)));
                any.push(Filter::Cond(Condition::equals(field, folded.as_str())));
            }
            let query = ListQuery {
                limit: (2 * PER_QUERY) as u32,
                offset: 0,
                sort: None,
                filter: Some(Filter::Or(any)),
                search: None,
                fields: None,
                scope: Vec::new(),
                after: None,
                fingerprint: 0,
            };
            for doc in store.list(&USERS, &query).await?.items {
                if let (false, Some(address)) = (finals.contains(id_of(&doc)), email(&doc)) {
                    stored.insert(address.to_lowercase(), id_of(&doc).to_owned());
                }
            }
        }
    }
    for (id, address, folded) in candidates {
        if let Some(other) = stored.get(&folded).filter(|o| *o != id) {
            report(id, address, other, "store.email_taken");
        }
    }
    Ok(())
}
