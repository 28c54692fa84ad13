//! Write-only fields (the user declaration's `write_only`: passwords) are
//! stored only as argon2 hashes, by `rules::protect`, the rule every write
//! path shares. A users.csv row is a fragment of a user and a
//! userProfiles.csv row one entry of its `userProfiles`; each fragment that
//! carries a secret is protected against the stored record shaped the same
//! way, so a re-imported package keeps the hashes it already has. Each
//! fragment costs an argon2 run, so they go to the blocking pool, as many at
//! once as there are cores.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};
use oneroster::model::user::{MAX_CREDENTIALS, USERS};
use oneroster::path;
use rollcall_service::rules;
use serde_json::{Map, Value, json};

use crate::load::Existing;
use crate::read::Parsed;
use crate::report::ImportError;
use crate::spec::FileKind;

/// Protected fragments, by `user_key` / `profile_key`: only rows that carry
/// a secret are here.
pub type Protected = HashMap<String, Value>;

pub fn user_key(id: &str) -> String {
    format!("user:{id}")
}

pub fn profile_key(id: &str) -> String {
    format!("profile:{id}")
}

/// Whether a user's live userProfiles rows (one credential each) are more
/// than a user may hold: the user is refused (see `users`), so none of its
/// passwords is hashed, however many the file holds.
pub fn over_cap(live_profile_rows: usize) -> bool {
    live_profile_rows > MAX_CREDENTIALS
}

/// The users.csv row's fields with their secrets protected.
pub fn user_fragment(protected: &Protected, id: &str) -> Option<Map<String, Value>> {
    protected.get(&user_key(id)).and_then(Value::as_object).cloned()
}

/// The userProfiles.csv row's profile with its secrets protected.
pub fn profile_fragment(protected: &Protected, id: &str) -> Option<Map<String, Value>> {
    let fragment = protected.get(&profile_key(id))?;
    fragment["userProfiles"][0].as_object().cloned()
}

/// Protects every secret of the package's live rows.
pub async fn resolve(parsed: &Parsed, existing: &Existing) -> Result<Protected, ImportError> {
    let mut jobs: Vec<(String, Value, Option<Value>)> = Vec::new();
    if let Some(table) = parsed.table(FileKind::Users) {
        for row in table.rows.iter().filter(|r| !r.deleted) {
            let fragment = Value::Object(table.obj(row));
            if has_secret(&fragment) {
                jobs.push((user_key(row.id()), fragment, existing.value(FileKind::Users, row.id())));
            }
        }
    }
    if let Some(table) = parsed.table(FileKind::UserProfiles) {
        let mut per_owner: HashMap<&str, usize> = HashMap::new();
        for row in table.rows.iter().filter(|r| !r.deleted) {
            *per_owner.entry(row.owner().unwrap_or_default()).or_default() += 1;
        }
        for row in table.rows.iter().filter(|r| !r.deleted) {
            let owner = row.owner().unwrap_or_default();
            let fragment = json!({ "userProfiles": [table.obj(row)] });
            if over_cap(per_owner[owner]) || !has_secret(&fragment) {
                continue;
            }
            let stored = existing.value(FileKind::Users, owner).and_then(|user| {
                let profiles = user.get("userProfiles")?.as_array()?;
                let profile = profiles
                    .iter()
                    .find(|p| p.get("profileId").and_then(Value::as_str) == Some(row.id()))?;
                Some(json!({ "userProfiles": [profile] }))
            });
            jobs.push((profile_key(row.id()), fragment, stored));
        }
    }
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    stream::iter(jobs)
        .map(|(key, mut fragment, stored)| async move {
            rules::protect(&USERS, &mut fragment, stored.as_ref())
                .await
                .map_err(|e| ImportError::Internal(e.to_string()))?;
            Ok((key, fragment))
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await
}

fn has_secret(fragment: &Value) -> bool {
    USERS
        .write_only
        .iter()
        .any(|f| !path::values_at(fragment, f).is_empty())
}
