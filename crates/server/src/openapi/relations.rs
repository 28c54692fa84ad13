//! The OpenAPI entries of the declared relations and roster writes
//! (`oneroster::relation`), built with the collections' own pieces.

use oneroster::relation::{self, RELATIONS, WRITES, WriteKind};
use serde_json::{Map, Value, json};

use super::{UPDATE_ERRORS, errors, op_list, single_body, sourced_id, sourced_id_pairs};
use crate::routes::API_PREFIX;

/// Every declared relation and roster write, at the documents' paths.
pub(super) fn paths(paths: &mut Map<String, Value>) {
    for relation in RELATIONS {
        let tag = relation.path.split('/').nth(1).unwrap_or("relations");
        let mut op = op_list(relation.target, relation.target.collection, relation.operation_id, tag);
        let mut parameters = path_params(relation.path);
        if relation.paged {
            parameters.extend(op["parameters"].as_array().cloned().unwrap_or_default());
        }
        op["parameters"] = parameters.into();
        op["description"] = relation.description.into();
        let schema = &mut op["responses"]["200"]["content"]["application/json"]["schema"];
        let items = schema["properties"][relation.target.collection].take();
        let (strict, timeback) = (relation.wrapper_for(false), relation.wrapper_for(true));
        schema["properties"] = relist(
            &schema["properties"],
            relation.target.collection,
            &[strict, timeback],
            items,
        );
        if strict == timeback {
            schema["required"] = json!([strict]);
        } else {
            if let Some(schema) = schema.as_object_mut() {
                schema.remove("required");
            }
            schema["oneOf"] = json!([{ "required": [timeback] }, { "required": [strict] }]);
            op["description"] = format!(
                "{} The records are under `{timeback}` in the TimeBack profiles, `{strict}` in the oneroster profile.",
                relation.description
            )
            .into();
        }
        insert_op(paths, relation.path, "get", op);
    }
    for write in WRITES {
        let tag = write.path.split('/').nth(1).unwrap_or("relations");
        let users = &oneroster::model::user::USERS;
        let (request, status, response) = match write.kind {
            WriteKind::Enroll(_) => (Some(enroll_body()), "201", sourced_id_pairs()),
            WriteKind::AddAgent => (Some(agent_body()), "200", single_body(users, users.singular)),
            WriteKind::RemoveAgent => (None, "200", single_body(users, users.singular)),
        };
        let mut op = json!({
            "operationId": write.operation_id, "tags": [tag], "description": write.description,
            "parameters": path_params(write.path),
            "responses": errors(json!({ status: { "description": "Done",
                "content": { "application/json": { "schema": response } } } }), UPDATE_ERRORS),
        });
        if let Some(schema) = request {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
        }
        insert_op(paths, write.path, write.method, op);
    }
}

fn insert_op(paths: &mut Map<String, Value>, path: &str, method: &str, op: Value) {
    let entry = paths.entry(format!("{API_PREFIX}{path}")).or_insert_with(|| json!({}));
    entry[method] = op;
}

/// The properties with the records' array under each of `wrappers`
/// instead of the collection's name.
fn relist(properties: &Value, collection: &str, wrappers: &[&str], items: Value) -> Value {
    let mut out: Map<String, Value> = properties
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != collection)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for wrapper in wrappers {
        out.insert((*wrapper).to_owned(), items.clone());
    }
    out.into()
}

fn path_params(path: &'static str) -> Vec<Value> {
    relation::path_params(path)
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect()
}

/// addStudentToClass / addTeacherToClass: TimeBack's body.
fn enroll_body() -> Value {
    json!({ "type": "object", "required": ["enrollment"], "properties": { "enrollment": {
        "type": "object", "required": ["user"], "properties": {
            "sourcedId": sourced_id(),
            "user": { "type": "object", "required": ["sourcedId"], "properties": { "sourcedId": {"type": "string"} } },
            "primary": { "anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}] },
            "beginDate": { "type": "string", "format": "date" },
            "endDate": { "type": "string", "format": "date" },
            "metadata": { "type": "object" } } } } })
}

fn agent_body() -> Value {
    json!({ "type": "object", "required": ["agentSourcedId"],
        "properties": { "agentSourcedId": { "type": "string" } } })
}
