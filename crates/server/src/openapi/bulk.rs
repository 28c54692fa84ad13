//! The OpenAPI entries of the bulk writes (`routes::bulk`), one per
//! declared collection.

use oneroster::ResourceDecl;
use rollcall_service::bulk::{MAX_RECORDS, MAX_SECRETS};
use rollcall_service::scope::Operation;
use serde_json::{Map, Value, json};

use super::{CREATE_ERRORS, errors, example, schema_ref, scoped, title};
use crate::routes::{API_PREFIX, bulk};

/// `POST /{collection}/bulk` for every declared collection.
pub(super) fn paths(paths: &mut Map<String, Value>, decl: &ResourceDecl) {
    let wrapper = decl.collection;
    let mut content = json!({ "schema": { "type": "object", "required": [wrapper], "properties": {
        wrapper: { "type": "array", "maxItems": MAX_RECORDS, "items": schema_ref(decl) } } } });
    if let Some(record) = example(decl) {
        content["example"] = json!({ wrapper: [record] });
    }
    let mut op = json!({
        "operationId": format!("bulkWrite{}", title(decl.collection)), "tags": [decl.collection, "bulk"],
        "parameters": [],
        "description": format!("A Rollcall extension: up to {MAX_RECORDS} records under `{wrapper}`, written in one \
            transaction or none. Each record is checked as a single write checks it; one whose sourcedId is stored \
            replaces it (as PUT does, keeping a stored password the record leaves out), any other is created. \
            If any record is refused nothing is written and the answer is a 422 naming every problem of every \
            refused record by its path (`{wrapper}[3].givenName`) in `imsx_description`, one \
            `imsx_codeMinorField` per problem and `imsx_error_details` (`index`, `sourcedId`, `path`, \
            `message`); a sourcedId sent twice is refused at its second place. More than {MAX_RECORDS} \
            records is a 413 before the rest of the body is read; more than {MAX_SECRETS} records with \
            passwords (each an argon2 hash) is a 422. An email or username another record of the request or a \
            stored record already has is refused per item, as above. The body may be \
            up to {} MiB.", bulk::BODY_LIMIT / (1024 * 1024)),
        "requestBody": { "required": true, "content": { "application/json": content } },
        "responses": errors(json!({ "200": { "description": "Every record written",
            "content": { "application/json": { "schema": written() } } } }), CREATE_ERRORS),
    });
    super::addressing::reference_check(&mut op, decl);
    paths.insert(
        format!("{API_PREFIX}/{}/{}", decl.path(), bulk::SEGMENT),
        json!({ "post": scoped(op, Operation::Write, decl) }),
    );
}

/// What a written bulk request answers: counts, and each record's fate in
/// the order sent.
fn written() -> Value {
    let item = json!({ "type": "object", "required": ["index", "sourcedId", "status"], "properties": {
        "index": { "type": "integer", "minimum": 0 }, "sourcedId": { "type": "string" },
        "status": { "enum": ["created", "replaced"] } } });
    json!({ "type": "object", "required": ["created", "replaced", "items"], "properties": {
        "created": { "type": "integer", "minimum": 0 }, "replaced": { "type": "integer", "minimum": 0 },
        "items": { "type": "array", "items": item } } })
}
