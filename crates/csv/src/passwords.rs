//! Passwords in users.csv and userProfiles.csv are stored only as argon2
//! hashes. When the record already holds a hash of the same password it is
//! kept (so re-importing a package changes nothing); otherwise the password
//! is hashed afresh. Both cost one argon2 run, so they go to the blocking
//! pool, as many at once as there are cores.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};
use oneroster::model::user::MAX_CREDENTIALS;
use rollcall_service::secret;
use serde_json::Value;

use crate::load::Existing;
use crate::read::Parsed;
use crate::report::ImportError;
use crate::spec::FileKind;

/// Hash to store, by `user_key` / `profile_key`.
pub type Passwords = HashMap<String, String>;

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

/// Resolves every plain-text password of the package's live rows.
pub async fn resolve(parsed: &Parsed, existing: &Existing) -> Result<Passwords, ImportError> {
    let mut jobs: Vec<(String, String, Option<String>)> = Vec::new();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    for row in parsed.table(FileKind::Users).into_iter().flat_map(|t| &t.rows) {
        let plain = row.get("password");
        if !row.deleted && !plain.is_empty() {
            let user = existing.value(FileKind::Users, row.id());
            let stored = text(user.as_ref().and_then(|u| u.get("password")));
            jobs.push((user_key(row.id()), plain.to_owned(), stored));
        }
    }
    let profile_rows = parsed
        .table(FileKind::UserProfiles)
        .map_or(&[][..], |t| t.rows.as_slice());
    let mut per_owner: HashMap<&str, usize> = HashMap::new();
    for row in profile_rows.iter().filter(|r| !r.deleted) {
        *per_owner.entry(row.owner().unwrap_or_default()).or_default() += 1;
    }
    for row in profile_rows {
        let plain = row.get("password");
        let owner = row.owner().unwrap_or_default();
        if !row.deleted && !plain.is_empty() && !over_cap(per_owner[owner]) {
            let user = existing.value(FileKind::Users, owner);
            let profiles = user
                .as_ref()
                .and_then(|u| u.get("userProfiles"))
                .and_then(Value::as_array);
            let profile = profiles
                .into_iter()
                .flatten()
                .find(|p| p.get("profileId").and_then(Value::as_str) == Some(row.id()));
            let stored = text(profile.and_then(|p| p["credentials"][0].get("password")));
            jobs.push((profile_key(row.id()), plain.to_owned(), stored));
        }
    }
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    stream::iter(jobs)
        .map(|(key, plain, stored)| async move {
            if let Some(hash) = stored
                && secret::verify(plain.clone(), hash.clone()).await
            {
                return Ok((key, hash));
            }
            let hash = secret::hash(plain)
                .await
                .map_err(|e| ImportError::Internal(e.to_string()))?;
            Ok((key, hash))
        })
        .buffer_unordered(parallel)
        .try_collect()
        .await
}
