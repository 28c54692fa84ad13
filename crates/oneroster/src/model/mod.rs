//! One module per OneRoster resource: its serde type (which validates and
//! normalises a payload) and its declaration. Shared building blocks live here.

pub mod academic_session;
pub mod class;
pub mod component_resource;
pub mod course;
pub mod course_component;
pub mod course_structure;
pub mod demographics;
pub mod enrollment;
pub mod org;
pub mod user;

use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::primitives::{SourcedId, Status, Timestamp};
use crate::resource::ModelError;

/// The fields every OneRoster record carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Base {
    pub sourced_id: SourcedId,
    pub status: Status,
    pub date_last_modified: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// A reference to another record. Clients send `{sourcedId}` (TimeBack) or a
/// full `{href, sourcedId, type}`; only the id is stored and `href`/`type`
/// are rendered on the way out, so they can never go stale.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuidRef {
    pub sourced_id: SourcedId,
}

/// Deserialises `null` or an absent array as empty (TimeBack sends nulls).
pub fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Deserialises `null` as the type's default: TimeBack sends `null` for
/// fields 1.2 makes required strings (an org's `identifier`).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A school year as 1.2 stores it (the year, as a string), given either as
/// a string or, as TimeBack responses carry it, as a number.
pub fn year_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) if n.is_u64() => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a year as a string or whole number, found {other}"
        ))),
    }
}

/// Validates `input` as `T` and returns `T`'s canonical JSON.
pub fn normalize_as<T: DeserializeOwned + Serialize>(input: Value) -> Result<Value, ModelError> {
    canonical(&parse_as::<T>(input)?)
}

/// Deserialises `input` as `T`. Errors name the offending path
/// (`roles[0].role: unknown …`), which is what a client needs to fix it.
pub fn parse_as<T: DeserializeOwned>(input: Value) -> Result<T, ModelError> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." {
            ModelError(inner)
        } else {
            ModelError(format!("{path}: {inner}"))
        }
    })
}

/// The stored form of a validated record.
pub fn canonical<T: Serialize>(record: &T) -> Result<Value, ModelError> {
    serde_json::to_value(record).map_err(|e| ModelError(e.to_string()))
}

/// Rejects an empty list where the spec sets `minItems: 1`.
pub fn require_non_empty<T>(items: &[T], field: &str) -> Result<(), ModelError> {
    if items.is_empty() {
        Err(ModelError(format!("{field}: at least one item is required")))
    } else {
        Ok(())
    }
}
