//! What a write changed, as the change log keeps it, and the way back: both
//! backends log the same entries for the same write, and `asOf` undoes
//! them.

use oneroster::{ResourceDecl, path};
use serde_json::{Map, Value};

use crate::changes::{ChangeOperation, FieldChange};

/// The part of a change log entry the write itself determines.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub operation: ChangeOperation,
    /// The record written (write-only fields removed), for a create only.
    pub record: Option<Value>,
    pub fields: Vec<FieldChange>,
    /// The write's `dateLastModified`.
    pub at: String,
}

impl Logged {
    /// A create of `after`.
    pub fn created(decl: &ResourceDecl, after: &Value) -> Self {
        Self {
            operation: ChangeOperation::Create,
            record: Some(without_write_only(decl, after)),
            fields: write_only_changes(decl, &Value::Null, after),
            at: modified(after),
        }
    }

    /// An update from `before` to `after`. A PUT of the same content still
    /// logs an entry: its new `dateLastModified` is a change clients see.
    pub fn updated(decl: &ResourceDecl, before: &Value, after: &Value) -> Self {
        let mut fields = Vec::new();
        diff(
            "",
            &without_write_only(decl, before),
            &without_write_only(decl, after),
            &mut fields,
        );
        fields.extend(write_only_changes(decl, before, after));
        Self {
            operation: if is_deleted(after) && !is_deleted(before) {
                ChangeOperation::Delete
            } else {
                ChangeOperation::Update
            },
            record: None,
            fields,
            at: modified(after),
        }
    }

    /// The fields as the log stores them (JSON text).
    pub fn fields_json(&self) -> String {
        serde_json::to_string(&self.fields).unwrap_or_else(|_| "[]".into())
    }
}

fn is_deleted(doc: &Value) -> bool {
    doc.get("status").and_then(Value::as_str) == Some("tobedeleted")
}

fn modified(doc: &Value) -> String {
    doc.get("dateLastModified")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `doc` without its write-only fields (hashed passwords never reach the log).
pub fn without_write_only(decl: &ResourceDecl, doc: &Value) -> Value {
    let mut doc = doc.clone();
    for field in decl.write_only {
        path::remove_at(&mut doc, field);
    }
    doc
}

fn write_only_changes(decl: &ResourceDecl, before: &Value, after: &Value) -> Vec<FieldChange> {
    decl.write_only
        .iter()
        .filter(|f| path::values_at(before, f) != path::values_at(after, f))
        .map(|f| FieldChange {
            path: (*f).to_owned(),
            before: None,
            after: None,
            write_only: true,
        })
        .collect()
}

/// Appends the differences between `before` and `after` under `prefix`.
/// Objects are compared key by key unless a key holds a dot (the path would
/// be ambiguous: the object is then compared whole); everything else whole.
fn diff(prefix: &str, before: &Value, after: &Value, out: &mut Vec<FieldChange>) {
    if before == after {
        return;
    }
    if let (Value::Object(b), Value::Object(a)) = (before, after)
        && (prefix.is_empty() || plain_keys(b) && plain_keys(a))
    {
        for (key, old) in b {
            diff(&join(prefix, key), old, a.get(key).unwrap_or(&Value::Null), out);
        }
        for (key, new) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
            diff(&join(prefix, key), &Value::Null, new, out);
        }
        return;
    }
    out.push(FieldChange {
        path: prefix.to_owned(),
        before: (!before.is_null()).then(|| before.clone()),
        after: (!after.is_null()).then(|| after.clone()),
        write_only: false,
    });
}

fn plain_keys(m: &Map<String, Value>) -> bool {
    m.keys().all(|k| !k.contains('.'))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Every field of a created record as a change from nothing, for the audit
/// trail of a create (the log keeps the record, not its fields).
pub fn fields_of(record: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff("", &Value::Object(Map::new()), record, &mut out);
    out
}

/// Undoes one update's `fields` on `doc`: each path back to its `before`
/// (removed when it had none). Write-only fields cannot be undone; they
/// are never shown anyway.
pub fn revert(doc: &mut Value, fields: &[FieldChange]) {
    for field in fields.iter().filter(|f| !f.write_only) {
        set_at(doc, &field.path, field.before.clone());
    }
}

fn set_at(doc: &mut Value, dotted: &str, value: Option<Value>) {
    let mut keys: Vec<&str> = dotted.split('.').collect();
    let Some(last) = keys.pop() else { return };
    let mut node = doc;
    for key in keys {
        let Value::Object(m) = node else { return };
        node = m.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
    let Value::Object(m) = node else { return };
    match value {
        Some(v) => {
            m.insert(last.to_owned(), v);
        }
        None => {
            m.shift_remove(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::model::user::USERS;
    use serde_json::json;

    #[test]
    fn updates_list_changed_paths_and_revert_to_the_old_record() {
        let before = json!({"sourcedId": "u", "status": "active", "dateLastModified": "1",
            "givenName": "A", "roles": [{"role": "student"}], "metadata": {"x": 1, "y": {"a.b": 1}}});
        let after = json!({"sourcedId": "u", "status": "tobedeleted", "dateLastModified": "2",
            "givenName": "B", "roles": [{"role": "teacher"}], "metadata": {"y": {"a.b": 2}, "z": true}});
        let logged = Logged::updated(&USERS, &before, &after);
        assert_eq!(logged.operation, ChangeOperation::Delete);
        let paths: Vec<&str> = logged.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "status",
                "dateLastModified",
                "givenName",
                "roles",
                "metadata.x",
                "metadata.y",
                "metadata.z"
            ]
        );
        let mut back = after.clone();
        revert(&mut back, &logged.fields);
        assert_eq!(back, before);
    }

    #[test]
    fn write_only_fields_carry_no_values() {
        let before = json!({"sourcedId": "u", "password": "h1", "userProfiles": [{"profileId": "p",
            "credentials": [{"username": "a", "password": "h1"}]}]});
        let after = json!({"sourcedId": "u", "password": "h2", "userProfiles": [{"profileId": "p",
            "credentials": [{"username": "a", "password": "h2"}]}]});
        let logged = Logged::updated(&USERS, &before, &after);
        let text = logged.fields_json();
        assert!(!text.contains("h1") && !text.contains("h2"), "{text}");
        assert!(logged.fields.iter().all(|f| f.write_only), "{text}");
        let created = Logged::created(&USERS, &after);
        assert!(!created.record.unwrap().to_string().contains("h2"));
        assert_eq!(created.fields.len(), 2);
    }
}
