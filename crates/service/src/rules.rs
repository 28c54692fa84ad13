//! The write rules: what every write does to a record, whichever way it came
//! (the API's engine, a CSV import, the generator), taken from the
//! declarations. Stamping, soft deletes and the hashing of write-only
//! fields are written here once; the places that write records call these
//! rather than spell them again.

use oneroster::problems::{self, Problem};
use oneroster::resource::ModelError;
use oneroster::{ResourceDecl, Status, Timestamp, path};
use serde_json::{Map, Value};

use crate::{ServiceError, secret};

/// A record as stored: `sourcedId` and `dateLastModified` set by the server,
/// `status` `active` unless given, then the declaration's `normalize` (which
/// validates it and gives the canonical form).
pub fn stamp(decl: &ResourceDecl, object: Map<String, Value>, id: &str, now: &str) -> Result<Value, ModelError> {
    (decl.normalize)(Value::Object(with_stamp(object, id, now)))
}

fn with_stamp(mut object: Map<String, Value>, id: &str, now: &str) -> Map<String, Value> {
    object.insert("sourcedId".into(), Value::String(id.to_owned()));
    object.insert("dateLastModified".into(), Value::String(now.to_owned()));
    if object.get("status").is_none_or(Value::is_null) {
        object.insert("status".into(), Value::String(Status::Active.as_str().into()));
    }
    object
}

/// [`stamp`], or every problem of the record when it fails (paths relative
/// to the record), after the ones the caller already found (`found`, e.g.
/// its sourcedId's). Without `detailed` only the model's first complaint
/// is reported, which costs no further trial runs of the model.
pub fn checked(
    decl: &ResourceDecl,
    object: Map<String, Value>,
    id: &str,
    now: &str,
    mut found: Vec<Problem>,
    detailed: bool,
) -> Result<Value, Vec<Problem>> {
    let stamped = Value::Object(with_stamp(object, id, now));
    let first = match (decl.normalize)(stamped.clone()) {
        Ok(doc) if found.is_empty() => return Ok(doc),
        Ok(_) => return Err(found),
        Err(e) => e,
    };
    let all = if detailed {
        problems::collect(decl.normalize, stamped)
    } else {
        Vec::new()
    };
    if all.is_empty() {
        found.push(Problem {
            path: String::new(),
            message: first.0,
        });
    }
    found.extend(all);
    Err(found)
}

/// The stamp for a write over `current`: `now`, or one millisecond past the
/// stored stamp when the clock has not moved past it (two writes within a
/// millisecond, or a clock set back). Each write of a record then has a
/// `dateLastModified` of its own, so "unchanged since read" (an import's
/// conditional replace) is exact.
pub fn stamp_after(now: &str, current: &Value) -> String {
    let stored = current
        .get("dateLastModified")
        .and_then(Value::as_str)
        .and_then(|s| Timestamp::parse(s).ok());
    match (Timestamp::parse(now), stored) {
        (Ok(at), Some(stored)) if at <= stored => {
            Timestamp::new(stored.instant() + chrono::Duration::milliseconds(1)).to_wire()
        }
        _ => now.to_owned(),
    }
}

/// A record version's entity tag: its `dateLastModified`, which every write
/// changes (see [`stamp_after`]), quoted as HTTP wants it.
pub fn etag(doc: &Value) -> Option<String> {
    let stamp = doc.get("dateLastModified")?.as_str()?;
    Some(format!("\"{stamp}\""))
}

/// A soft delete: the record stays, marked `tobedeleted` as of `now`.
pub fn soft_delete(doc: &mut Value, now: &str) {
    if let Value::Object(m) = doc {
        m.insert("status".into(), Value::String(Status::Tobedeleted.as_str().into()));
        m.insert("dateLastModified".into(), Value::String(now.to_owned()));
    }
}

/// Whether a stored record is `active` (not soft-deleted).
pub fn is_active(doc: &Value) -> bool {
    doc.get("status").and_then(Value::as_str) == Some(Status::Active.as_str())
}

/// Replaces every write-only value the declaration names (passwords) with
/// its argon2 hash. With `previous` (the stored record, or the stored part
/// shaped like `doc`), a value whose stored counterpart at the same path and
/// position already hashes it keeps that hash, so writing the same secret
/// again changes nothing (a re-imported package is a no-op).
pub async fn protect(decl: &ResourceDecl, doc: &mut Value, previous: Option<&Value>) -> Result<(), ServiceError> {
    for field in decl.write_only {
        let plain = path::values_at(doc, field);
        let stored = previous.map(|p| path::values_at(p, field)).unwrap_or_default();
        let mut hashes = Vec::with_capacity(plain.len());
        for (i, p) in plain.into_iter().enumerate() {
            hashes.push(match stored.get(i) {
                Some(hash) if secret::verify(p.clone(), hash.clone()).await => hash.clone(),
                _ => secret::hash(p).await?,
            });
        }
        let mut hashes = hashes.into_iter();
        let (parent, key) = field.rsplit_once('.').unwrap_or(("", field));
        visit(doc, parent, &mut |m| {
            if let Some(Value::String(_)) = m.get(key) {
                m.insert(key.to_owned(), Value::String(hashes.next().unwrap_or_default()));
            }
        });
    }
    Ok(())
}

fn visit(doc: &mut Value, parent: &str, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if parent.is_empty() {
        if let Value::Object(m) = doc {
            f(m);
        }
    } else {
        path::for_each_object(doc, parent, f);
    }
}

#[cfg(test)]
mod tests {
    use oneroster::model::user::USERS;
    use serde_json::json;

    use super::*;

    fn secrets(doc: &Value) -> Vec<String> {
        USERS.write_only.iter().flat_map(|f| path::values_at(doc, f)).collect()
    }

    #[tokio::test]
    async fn secrets_at_every_declared_path_are_hashed_and_kept_when_unchanged() {
        let body = || json!({"password": "p1", "userProfiles": [{"credentials": [{"password": "p2"}]}]});
        let mut first = body();
        protect(&USERS, &mut first, None).await.unwrap();
        let hashes = secrets(&first);
        assert_eq!(hashes.len(), 2);
        assert!(hashes.iter().all(|h| h.starts_with("$argon2id$")), "{hashes:?}");

        let mut again = body();
        protect(&USERS, &mut again, Some(&first)).await.unwrap();
        assert_eq!(secrets(&again), hashes, "the same secrets keep their stored hashes");

        let mut changed = json!({"password": "other", "userProfiles": [{"credentials": [{"password": "p2"}]}]});
        protect(&USERS, &mut changed, Some(&first)).await.unwrap();
        let now = secrets(&changed);
        assert_ne!(now[0], hashes[0], "a changed secret is hashed afresh");
        assert_eq!(now[1], hashes[1]);
    }

    #[test]
    fn each_write_of_a_record_gets_a_stamp_of_its_own() {
        let stored = json!({"dateLastModified": "2026-12-03T10:00:00.000Z"});
        assert_eq!(
            stamp_after("2026-12-03T10:00:00.000Z", &stored),
            "2026-12-03T10:00:00.001Z"
        );
        assert_eq!(
            stamp_after("2026-12-03T09:00:00.000Z", &stored),
            "2026-12-03T10:00:00.001Z"
        );
        assert_eq!(
            stamp_after("2026-12-03T10:00:00.002Z", &stored),
            "2026-12-03T10:00:00.002Z"
        );
        assert_eq!(
            stamp_after("2026-12-03T10:00:00.002Z", &json!({})),
            "2026-12-03T10:00:00.002Z"
        );
    }
}
