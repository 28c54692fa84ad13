//! Netex's `extendedFields`: a map of the customer's extension field
//! values inside the record of a create, PUT or PATCH body (beside its
//! other fields). Each name must be a declared extension field of the
//! resource (422 naming the unknown ones); the values are moved to
//! `metadata.ext.<name>`, where the write's own validation types them.

use oneroster::ResourceDecl;
use oneroster::extension::ExtensionSet;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

pub const KEY: &str = "extendedFields";

/// Moves a record's `extendedFields` into `metadata.ext`.
pub async fn fold(state: &AppState, decl: &ResourceDecl, record: &mut Value) -> Result<(), ApiError> {
    let Value::Object(object) = record else {
        return Ok(());
    };
    let Some(given) = object.remove(KEY) else {
        return Ok(());
    };
    let set = state.rollcall.engine.extensions().current().await?;
    let fields = checked(&set, decl, given)?;
    let metadata = object.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if metadata.is_null() {
        *metadata = Value::Object(Map::new());
    }
    let metadata = metadata
        .as_object_mut()
        .ok_or_else(|| ApiError::Unprocessable("metadata: expected an object".into()))?;
    let ext = metadata.entry("ext").or_insert_with(|| Value::Object(Map::new()));
    if ext.is_null() {
        *ext = Value::Object(Map::new());
    }
    let ext = ext
        .as_object_mut()
        .ok_or_else(|| ApiError::Unprocessable("metadata.ext: expected an object of extension fields".into()))?;
    ext.extend(fields);
    Ok(())
}

/// The map, if it is one whose every name is declared for `decl`.
fn checked(set: &ExtensionSet, decl: &ResourceDecl, given: Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(fields) = given else {
        return Err(ApiError::Unprocessable(format!(
            "{KEY}: expected an object of extension field values"
        )));
    };
    let unknown: Vec<&str> = fields
        .keys()
        .filter(|name| set.field(decl.collection, name).is_none())
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(fields);
    }
    let declared: Vec<&str> = set.of(decl.collection).map(|f| f.name.as_str()).collect();
    Err(ApiError::Unprocessable(format!(
        "{KEY}: {} declares no extension field {}; declared: {}",
        decl.collection,
        unknown.join(", "),
        if declared.is_empty() {
            "none".to_owned()
        } else {
            declared.join(", ")
        }
    )))
}
