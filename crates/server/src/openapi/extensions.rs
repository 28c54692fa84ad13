//! The extension fields in the OpenAPI document: the admin paths that
//! declare them (always), and in the served document each declared field
//! described in its resource's schemas, under `metadata.ext` and in the
//! `extendedFields` input map. Without declarations the document is the
//! static one (the snapshot test's).

use oneroster::extension::{ExtensionField, ExtensionSet, ExtensionType};
use oneroster::model::user::USERS;
use oneroster::resource;
use rollcall_service::scope::Operation;
use serde_json::{Map, Value, json};

use super::{CREATE_ERRORS, DELETE_ERRORS, GET_ERRORS, errors, scoped};
use crate::routes::extensions::PREFIX;

/// `/admin/extensions…`, needing the `admin` scope.
pub(super) fn admin_paths(paths: &mut Map<String, Value>) {
    let admin = |op: Value| scoped(op, Operation::Admin, &USERS);
    let resource = json!({ "name": "resource", "in": "path", "required": true,
        "description": "A collection, e.g. users.",
        "schema": { "enum": resource::all().iter().map(|d| d.collection).collect::<Vec<_>>() } });
    let listing = json!({ "200": { "description": "The declared extension fields",
        "content": { "application/json": { "schema": { "type": "object", "required": ["extensionFields"],
            "properties": { "extensionFields": { "type": "array", "items": declaration() } } } } } } });
    paths.insert(
        PREFIX.into(),
        json!({ "get": admin(json!({ "operationId": "getAllExtensionFields", "tags": ["extensions"],
            "description": "Every resource's declared extension fields.",
            "responses": errors(listing.clone(), GET_ERRORS) })) }),
    );
    paths.insert(
        format!("{PREFIX}/{{resource}}"),
        json!({
            "get": admin(json!({ "operationId": "getExtensionFields", "tags": ["extensions"],
                "description": "The resource's declared extension fields.",
                "parameters": [resource.clone()], "responses": errors(listing, GET_ERRORS) })),
            "post": admin(json!({ "operationId": "declareExtensionField", "tags": ["extensions"],
                "description": "Declares a typed extension field. Records carry its value at \
                    `metadata.ext.<name>` (or send it in an `extendedFields` map inside the record); every \
                    write checks it; `filter` and `sort` take `metadata.ext.<name>`, compared typed. \
                    `indexed` builds an index; `unique` a unique one (409 when stored records already share \
                    a value, or a write would); `required` refuses writes without it (records stored before \
                    keep their form until their next write).",
                "parameters": [resource.clone()],
                "requestBody": { "required": true, "content": { "application/json": { "schema": declaration() } } },
                "responses": errors(json!({ "201": { "description": "Declared",
                    "content": { "application/json": { "schema": { "type": "object", "required": ["extensionField"],
                        "properties": { "extensionField": declaration() } } } } } }), CREATE_ERRORS) })),
        }),
    );
    paths.insert(
        format!("{PREFIX}/{{resource}}/{{name}}"),
        json!({ "delete": admin(json!({ "operationId": "removeExtensionField", "tags": ["extensions"],
            "description": "Removes a declaration and its index; stored values stay as free-form metadata.",
            "parameters": [resource, { "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": errors(json!({ "204": { "description": "Removed" } }), DELETE_ERRORS) })) }),
    );
}

fn declaration() -> Value {
    let types: Vec<&str> = ExtensionType::ALL.iter().map(|t| t.as_str()).collect();
    json!({ "type": "object", "required": ["name", "type"], "properties": {
        "resource": { "type": "string" },
        "name": { "type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]{0,63}$" },
        "type": { "enum": types },
        "values": { "type": "array", "items": { "type": "string" }, "description": "An enum's allowed values" },
        "unique": { "type": "boolean" }, "indexed": { "type": "boolean" }, "required": { "type": "boolean" } } })
}

/// Describes each resource's declared fields in its schemas.
pub fn declared(doc: &mut Value, set: &ExtensionSet) {
    for decl in resource::all() {
        let fields: Map<String, Value> = set
            .of(decl.collection)
            .map(|f| (f.name.clone(), value_schema(f)))
            .collect();
        if fields.is_empty() {
            continue;
        }
        let ext = json!({ "type": "object", "properties": fields.clone(),
            "description": "Declared extension fields (GET /admin/extensions)." });
        let input = json!({ "type": "object", "properties": fields, "additionalProperties": false, "writeOnly": true,
            "description": "Declared extension field values, stored at metadata.ext." });
        for name in [decl.schema.to_owned(), format!("{}Partial", decl.schema)] {
            let properties = &mut doc["components"]["schemas"][name.as_str()]["properties"];
            if properties.is_object() {
                properties["metadata"] = json!({ "type": "object", "properties": { "ext": ext.clone() } });
                properties["extendedFields"] = input.clone();
            }
        }
    }
}

fn value_schema(field: &ExtensionField) -> Value {
    match field.kind {
        ExtensionType::String => json!({ "type": "string" }),
        ExtensionType::Integer => json!({ "type": "integer" }),
        ExtensionType::Number => json!({ "type": "number" }),
        ExtensionType::Boolean => json!({ "type": "boolean" }),
        ExtensionType::Date => json!({ "type": "string", "format": "date" }),
        ExtensionType::Datetime => json!({ "type": "string", "format": "date-time" }),
        ExtensionType::Enum => json!({ "enum": field.values }),
    }
}
