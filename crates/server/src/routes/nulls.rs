//! Blackbaud's explicit nulls: a top-level `"FieldsToNull": ["phone",
//! "metadata.isTestUser"]` beside the wrapper in a PUT or PATCH clears the
//! named fields (dotted paths reach into nested objects). The names are
//! checked against the resource's fields (422 for an unknown one); clearing
//! a required field fails the write's own validation (422 naming it).

use oneroster::ResourceDecl;
use serde_json::{Map, Value};

use crate::error::ApiError;

pub const KEY: &str = "FieldsToNull";

/// Takes `FieldsToNull` out of a request body: the paths to clear.
pub fn take(decl: &ResourceDecl, body: &mut Value) -> Result<Vec<String>, ApiError> {
    let Some(listed) = body.as_object_mut().and_then(|m| m.remove(KEY)) else {
        return Ok(Vec::new());
    };
    let names = listed
        .as_array()
        .filter(|items| items.iter().all(Value::is_string))
        .ok_or_else(|| ApiError::Unprocessable(format!("{KEY} must be an array of field names")))?;
    names
        .iter()
        .map(|name| {
            let path = name.as_str().unwrap_or_default();
            let top = path.split('.').next().unwrap_or_default();
            if top == "sourcedId" || !decl.selectable.contains(&top) || path.split('.').any(str::is_empty) {
                return Err(ApiError::Unprocessable(format!(
                    "{KEY}: '{path}' is not a field of {} that can be cleared; fields: {}",
                    decl.singular,
                    decl.selectable
                        .iter()
                        .filter(|f| **f != "sourcedId")
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Ok(path.to_owned())
        })
        .collect()
}

/// Writes each path as `null` into a PATCH's changes (a merge patch then
/// removes it), or removes it from a PUT's replacement record.
pub fn apply(record: &mut Value, paths: &[String], patch: bool) {
    for path in paths {
        let mut node = &mut *record;
        let mut segments = path.split('.').peekable();
        while let Some(segment) = segments.next() {
            let Some(object) = node.as_object_mut() else { break };
            if segments.peek().is_none() {
                match patch {
                    true => object.insert(segment.to_owned(), Value::Null),
                    false => object.remove(segment),
                };
                break;
            }
            node = object
                .entry(segment.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
}
