//! The OpenAPI entries of how writes and item paths address records:
//! alternate keys (`?by=`, `/users/{username}`) and the reference check
//! with its per-request escape header.

use oneroster::ResourceDecl;
use serde_json::{Value, json};

use crate::routes::collection::REFERENCE_CHECK;

/// Documents the declared keys on an item path's operations: the path
/// parameter may be any of them, and `by` picks one.
pub(super) fn keys(item: &mut Value, decl: &ResourceDecl) {
    if decl.keys.is_empty() {
        return;
    }
    let names = std::iter::once("sourcedId").chain(decl.keys.iter().copied());
    let by = json!({ "name": "by", "in": "query", "required": false,
        "description": format!(
            "What the path's key is: one of {}. Without it, a key that is no {}'s sourcedId is looked up as its {} \
            (compared trimmed, Unicode-normalised and case-folded, as the unique index compares). A non-unique key \
            (identifier) held by more than one {1} answers 409. An unknown value answers 400 listing these.",
            names.clone().collect::<Vec<_>>().join(", "), decl.singular, decl.keys[0]),
        "schema": { "type": "string", "enum": names.collect::<Vec<_>>() } });
    let description = format!(
        "The {}'s sourcedId, or (see `by`) its {}.",
        decl.singular,
        decl.keys.join(" or ")
    );
    for op in item.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
        let Some(parameters) = op["parameters"].as_array_mut() else {
            continue;
        };
        for p in parameters.iter_mut().filter(|p| p["in"] == "path") {
            p["description"] = description.clone().into();
        }
        parameters.push(by.clone());
        if op["responses"].get("409").is_none() {
            op["responses"]["409"] = json!({ "$ref": "#/components/responses/Error" });
        }
    }
}

/// The header that turns the reference check off for one write, on every
/// write of a resource that has checked references.
pub(super) fn reference_check(op: &mut Value, decl: &ResourceDecl) {
    if !decl.refs.iter().any(|r| r.checked) {
        return;
    }
    let header = json!({ "name": REFERENCE_CHECK, "in": "header", "required": false,
        "description": "`off` stores references whether or not the records they name exist (a bulk loader \
            sending children before parents); needs the admin scope (403 otherwise). By default a reference \
            to a record that does not exist is refused with 422 naming it, e.g. \
            `roles[0].org.sourcedId: no org 'x'`, and nothing is written.",
        "schema": { "type": "string", "enum": ["on", "off"] } });
    if let Some(parameters) = op["parameters"].as_array_mut() {
        parameters.push(header);
    }
}
