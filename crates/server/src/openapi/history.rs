//! The OpenAPI entries of the change log's routes: the change feed and
//! every resource's audit trail (`routes::changes`, `routes::audit`).

use oneroster::ResourceDecl;
use oneroster::model::user::USERS;
use rollcall_service::scope::Operation;
use serde_json::{Map, Value, json};

use super::{GET_ERRORS, LIST_ERRORS, errors, id_param, query_param, scoped, title};
use crate::routes::API_PREFIX;
use crate::routes::changes::MAX_LIMIT;

/// The feed, and the audit trail of each declared resource.
pub(super) fn paths(paths: &mut Map<String, Value>, decls: &[&'static ResourceDecl]) {
    paths.insert(format!("{API_PREFIX}/changes"), json!({ "get": feed() }));
    for decl in decls {
        paths.insert(
            format!("{API_PREFIX}/{}/{{sourcedId}}/audit", decl.path()),
            json!({ "get": audit(decl) }),
        );
    }
}

/// `asOf` on single-record reads.
pub(super) fn as_of_param() -> Value {
    query_param(
        "asOf",
        "An ISO 8601 date-time: the record as it was then (404 if it did not exist yet; 410 if the change \
         retention no longer holds the changes needed)",
        json!({ "type": "string" }),
    )
}

fn limit() -> Value {
    query_param(
        "limit",
        &format!("Entries per page, 1 to {MAX_LIMIT} (default 100)"),
        json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT }),
    )
}

fn nullable_string() -> Value {
    json!({ "type": ["string", "null"] })
}

/// One changed field: values, or `changed` for a write-only field.
fn field_change() -> Value {
    json!({ "type": "object", "required": ["field"], "properties": {
        "field": { "type": "string", "description": "A dotted path: givenName, roles, metadata.x" },
        "before": {}, "after": {},
        "changed": { "const": true, "description": "A write-only field (a password): no values shown" } } })
}

fn feed() -> Value {
    let entry = json!({ "type": "object",
        "required": ["cursor", "type", "sourcedId", "operation", "dateTime", "origin", "client", "requestId"],
        "properties": {
            "cursor": { "type": "string" },
            "type": { "type": "string", "description": "The resource's path: users, academicSessions, …" },
            "sourcedId": { "type": "string" },
            "operation": { "enum": ["create", "update", "delete"] },
            "dateTime": { "type": "string", "description": "The write's dateLastModified" },
            "origin": { "enum": ["api", "bulk", "import", "restore", "console", "cli", "system"] },
            "client": nullable_string(),
            "requestId": nullable_string(),
            "record": { "type": "object", "description": "A create's record" },
            "fields": { "type": "array", "items": field_change() } } });
    let op = json!({
        "operationId": "getChanges", "tags": ["history"],
        "description": "Every create, update and soft delete across resources in commit order. Keep `next` \
            and continue with `after=<next>`: no change is missed or repeated. Without `after`, from the \
            oldest change kept. A cursor older than the retention, or issued before a restore, is 410: \
            read the resources again, then continue from the start. Demographics changes are left out \
            unless the token may read demographics.",
        "parameters": [
            query_param("after", "The `next` of a previous page", json!({ "type": "string" })),
            limit(),
        ],
        "responses": errors(json!({
            "200": { "description": "A page of changes", "content": { "application/json": { "schema": {
                "type": "object", "required": ["changes", "next"], "properties": {
                    "changes": { "type": "array", "items": entry },
                    "next": { "type": "string" } } } } } },
            "410": { "$ref": "#/components/responses/Error" } }), LIST_ERRORS),
    });
    scoped(op, Operation::ReadRelation, &USERS)
}

fn audit(decl: &ResourceDecl) -> Value {
    let mut entry = field_change();
    entry["required"] = json!(["field", "dateTime", "operation", "origin", "client", "requestId"]);
    let properties = &mut entry["properties"];
    properties["dateTime"] = json!({ "type": "string" });
    properties["operation"] = json!({ "enum": ["create", "update", "delete"] });
    properties["origin"] = json!({ "enum": ["api", "bulk", "import", "restore", "console", "cli", "system"] });
    properties["client"] = nullable_string();
    properties["requestId"] = nullable_string();
    let time = |name: &str, what: &str| query_param(name, what, json!({ "type": "string" }));
    let op = json!({
        "operationId": format!("get{}Audit", title(decl.singular)),
        "tags": ["history"],
        "description": "The record's changes, newest first, one entry per field. Entries cannot be edited \
            or deleted.",
        "parameters": [
            id_param(),
            limit(),
            query_param("offset", "Entries to skip", json!({ "type": "integer", "minimum": 0 })),
            time("since", "Only changes at or after this ISO 8601 date-time"),
            time("until", "Only changes at or before this ISO 8601 date-time"),
            query_param("field", "Only this field (a dotted path; a prefix matches the paths inside it)",
                json!({ "type": "string" })),
        ],
        "responses": errors(json!({ "200": {
            "description": "A page of the audit trail; the total in X-Total-Count",
            "headers": { "X-Total-Count": { "required": true, "schema": { "type": "integer", "minimum": 0 } } },
            "content": { "application/json": { "schema": { "type": "object", "required": ["audit"],
                "properties": { "audit": { "type": "array", "items": entry } } } } } } }), GET_ERRORS),
    });
    scoped(op, Operation::Read, decl)
}
