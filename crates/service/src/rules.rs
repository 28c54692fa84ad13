//! The write rules: what every write does to a record, whichever way it came
//! (the API's engine, a CSV import, the generator), taken from the
//! declarations. Stamping and soft deletes are written here once; the
//! places that write records call these rather than spell them again.

use oneroster::resource::ModelError;
use oneroster::{ResourceDecl, Status};
use serde_json::{Map, Value};

/// A record as stored: `sourcedId` and `dateLastModified` set by the server,
/// `status` `active` unless given, then the declaration's `normalize` (which
/// validates it and gives the canonical form).
pub fn stamp(decl: &ResourceDecl, mut object: Map<String, Value>, id: &str, now: &str) -> Result<Value, ModelError> {
    object.insert("sourcedId".into(), Value::String(id.to_owned()));
    object.insert("dateLastModified".into(), Value::String(now.to_owned()));
    if object.get("status").is_none_or(Value::is_null) {
        object.insert("status".into(), Value::String(Status::Active.as_str().into()));
    }
    (decl.normalize)(Value::Object(object))
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
