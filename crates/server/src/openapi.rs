//! The OpenAPI 3.1 document, generated from the resource declarations, the
//! same source the routes are built from, so the two cannot drift.

use oneroster::primitives::MAX_SOURCED_ID_LEN;
use oneroster::resource::{self, VIEWS, ViewDecl};
use oneroster::{FieldKind, ResourceDecl};
use serde_json::{Map, Value, json};

use crate::routes::API_PREFIX;

mod relations;

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for decl in resource::all() {
        collection_paths(&mut paths, decl);
        schemas.insert(decl.schema.to_owned(), resource_schema(decl));
    }
    for view in VIEWS {
        view_paths(&mut paths, view);
    }
    paths.insert(
        format!("{API_PREFIX}/terms/{{termSourcedId}}/gradingPeriods"),
        json!({ "post": grading_period_for_term() }),
    );
    paths.insert(
        format!("{API_PREFIX}/courses/structure"),
        json!({ "post": course_structure() }),
    );
    user_relation_paths(&mut paths);
    relations::paths(&mut paths);
    crate::routes::credentials::openapi_paths(&mut paths, errors);
    paths.insert("/oauth2/token".into(), token_path());
    paths.insert("/admin/import".into(), import_path());
    paths.insert("/admin/import/jobs/{id}".into(), import_job_path());
    paths.insert(
        format!("{API_PREFIX}/capabilities"),
        json!({ "get": { "operationId": "getCapabilities", "tags": ["discovery"], "security": [],
            "description": "Per collection: filterable, sortable and selectable fields, search fields, \
                operators, page size and filter complexity limits.",
            "responses": { "200": { "description": "The capabilities document",
                "content": { "application/json": { "schema": { "type": "object" } } } } } } }),
    );
    schemas.insert("GUIDRef".into(), guid_ref());
    schemas.insert("imsx_StatusInfo".into(), status_info());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Rollcall OneRoster 1.2 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OneRoster 1.2 rostering with TimeBack's users-management extensions. \
                Collections accept limit (1-3000, default 100), offset, sort, orderBy (asc|desc), \
                filter (1.2 grammar plus parentheses and the @ list operator), fields and search. \
                TimeBack profiles (the default) accept TimeBack's request bodies (an org without identifier, \
                stored as \"\"; a course without courseCode; a class's org as its school; an enrollment \
                without school, given its class's school; a numeric schoolYear; an academic session's org; \
                a user's embedded demographics, stored as its demographics record; a class PUT without \
                title, course, school or terms, which keeps the stored ones) and answer in TimeBack's \
                shapes: nullable fields its responses require as null (a class created without classType \
                reads back with null, which TimeBack's getClass schema does not allow), schoolYear as a \
                number, list totals also as total, and user reads and updates with the demographics record \
                embedded for clients that may read demographics. An enrollment carries no course.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "OAuth2CC": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": { "OAuth2CC": {
                "type": "oauth2",
                "flows": { "clientCredentials": { "tokenUrl": "/oauth2/token", "scopes": scopes() } }
            }},
            "responses": { "Error": { "description": "An imsx_StatusInfo error", "content": {
                "application/json": { "schema": { "$ref": "#/components/schemas/imsx_StatusInfo" } } } } }
        }
    })
}

fn collection_paths(paths: &mut Map<String, Value>, decl: &ResourceDecl) {
    let name = title(decl.collection);
    let one = title(decl.singular);
    let tag = decl.collection;
    let verb = decl.replace_verb();
    paths.insert(
        format!("{API_PREFIX}/{}", decl.path()),
        json!({
            "get": op_list(decl, decl.collection, &format!("getAll{name}"), tag),
            "post": op_write(decl, decl.singular, &format!("{}{one}", decl.create_verb()), tag, "201", "Created; the allocated sourcedId is returned in sourcedIdPairs"),
        }),
    );
    paths.insert(
        format!("{API_PREFIX}/{}/{{sourcedId}}", decl.path()),
        json!({
            "get": op_get(decl, decl.singular, &format!("get{one}"), tag),
            "put": op_write(decl, decl.singular, &format!("{verb}{one}"), tag, "200", "Replaced; the stored record. Always 200 (TimeBack's documents say 200 for some updates and 201 for others); the body may be wrapped or bare"),
            "patch": op_write(decl, decl.singular, &format!("{}{one}", decl.patch_verb()), tag, "200", "Only the fields sent changed (null removes a field)"),
            "delete": { "operationId": format!("delete{one}"), "tags": [tag],
                "parameters": [id_param()],
                "responses": errors(json!({ "204": { "description": "Soft-deleted: status is now tobedeleted" } })) },
        }),
    );
}

fn user_relation_paths(paths: &mut Map<String, Value>) {
    let users = &oneroster::model::user::USERS;
    let mut with_demo = op_get(users, "user", "getUserWithDemographics", "users");
    with_demo["description"] = "The user with its demographics record embedded (or null).".into();
    paths.insert(
        format!("{API_PREFIX}/users/{{sourcedId}}/demographics"),
        json!({ "get": with_demo }),
    );
}

/// A view's reads, and its writes when it is writable. Responses carry
/// the view's wrappers (`terms`, `term`) in the TimeBack profiles and the
/// base's (`academicSessions`) in the strict 1.2 one.
fn view_paths(paths: &mut Map<String, Value>, view: &ViewDecl) {
    let (decl, tag, one) = (view.base, view.base.collection, view.one);
    let (many_wrapper, one_wrapper) = view.wrappers;
    let inside = format!(
        "Records whose {} is '{}'. Wrapped as `{many_wrapper}`/`{one_wrapper}` (`{}`/`{}` in the oneroster profile).",
        view.field, view.value, decl.collection, decl.singular
    );
    let mut list = json!({ "get": op_list(decl, many_wrapper, &format!("getAll{}", title(view.path)), tag) });
    let mut item = json!({ "get": op_get(decl, one_wrapper, &format!("get{one}"), tag) });
    if view.writable {
        let confined = format!(
            "{inside} The body's {} may be left out (it becomes '{}'); another value is a 422. \
             A record outside the view is a 404.",
            view.field, view.value
        );
        list["post"] = op_write(decl, decl.singular, &format!("create{one}"), tag, "201", "Created");
        item["put"] = op_write(
            decl,
            one_wrapper,
            &format!("update{one}"),
            tag,
            "200",
            "Replaced; the stored record",
        );
        item["delete"] = json!({ "operationId": format!("delete{one}"), "tags": [tag],
            "parameters": [id_param()],
            "description": format!("{confined} A soft delete of this record alone: records that refer to it \
                (a school's classes, a term's grading periods) are left as they are."),
            "responses": errors(json!({ "204": { "description": "Soft-deleted: status is now tobedeleted" } })) });
        for op in ["post", "put"] {
            let target = if op == "post" { &mut list } else { &mut item };
            target[op]["description"] = confined.clone().into();
        }
    }
    list["get"]["description"] = inside.clone().into();
    item["get"]["description"] = inside.into();
    paths.insert(format!("{API_PREFIX}/{}", view.path), list);
    paths.insert(format!("{API_PREFIX}/{}/{{sourcedId}}", view.path), item);
}

fn grading_period_for_term() -> Value {
    let sessions = &oneroster::model::academic_session::ACADEMIC_SESSIONS;
    let mut op = op_write(
        sessions,
        sessions.singular,
        "createGradingPeriodForTerm",
        sessions.collection,
        "201",
        "Created; the stored grading period",
    );
    op["parameters"] =
        json!([{ "name": "termSourcedId", "in": "path", "required": true, "schema": { "type": "string" } }]);
    op["responses"]["201"]["content"]["application/json"]["schema"] = single_body(sessions, sessions.singular);
    op["description"] = "A grading period (type gradingPeriod, supplied when absent) whose parent is the term \
        in the path; 404 when there is no such term, 422 for another parent or type."
        .into();
    op
}

fn course_structure() -> Value {
    let lesson = json!({ "type": "object",
        "required": ["url", "skillCode", "lessonCode", "title", "unit-title", "status", "xp"],
        "properties": { "url": {"type": "string"}, "skillCode": {"type": "string"}, "lessonCode": {"type": "string"},
            "title": {"type": "string"}, "unit-title": {"type": "string"}, "status": {"type": "string"},
            "xp": {"type": "number"},
            "stimulus": { "type": "object", "required": ["title", "identifier"],
                "properties": { "title": {"type": "string"}, "identifier": {"type": "string"} } },
            "video": { "type": "object", "required": ["url", "title"],
                "properties": { "url": {"type": "string"}, "title": {"type": "string"} } } } });
    json!({
        "operationId": "createCourseStructure", "tags": ["courses"],
        "description": "Creates the course and its outline in one transaction (all or nothing): one course \
            component per distinct unit-title, in the order first seen, and under it one component per lesson, \
            in the order given, whose metadata keeps the lesson as sent (`metadata.lesson`) and its key \
            (`metadata.courseStructureKey`). Their sourcedIds follow from the course's: `<course>.unit.<n>` (from 1) \
            and `<course>.lesson.<key>`, so the same structure sent twice is a 409. Answers with the course's \
            sourcedIdPairs.",
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "required": ["courseStructure", "course"], "properties": {
                "courseStructure": { "type": "object", "additionalProperties": lesson },
                "course": schema_ref(&oneroster::model::course::COURSES) } } } } },
        "responses": errors(json!({ "201": { "description": "Created",
            "content": { "application/json": { "schema": sourced_id_pairs() } } } })),
    })
}

fn op_list(decl: &ResourceDecl, wrapper: &str, id: &str, tag: &str) -> Value {
    let fields: Vec<&str> = decl.field_names();
    json!({
        "operationId": id, "tags": [tag],
        "parameters": [
            query_param("limit", "Page size, 1 to 3000 (default 100); larger is a 400", json!({"type": "integer", "minimum": 1, "maximum": 3000, "default": 100})),
            query_param("offset", "Index of the first record (default 0)", json!({"type": "integer", "minimum": 0, "default": 0})),
            query_param("sort", &format!("Field to sort by: {}", fields.join(", ")), json!({"type": "string"})),
            query_param("orderBy", "Sort direction", json!({"type": "string", "enum": ["asc", "desc"]})),
            query_param("filter", &format!("Filter expression on: {}", fields.join(", ")), json!({"type": "string", "maxLength": 4096})),
            fields_param(decl),
            query_param("search", &format!("Case-insensitive partial match on: {}", decl.search.join(", ")), json!({"type": "string"})),
        ],
        "responses": errors(json!({ "200": {
            "description": "A page; totals in X-Total-Count and Link headers (and in the body for TimeBack profiles)",
            "headers": {
                "X-Total-Count": { "required": true, "schema": { "type": "integer", "minimum": 0 } },
                "Link": { "schema": { "type": "string" }, "description": "RFC 8288 first, prev, next, last" }
            },
            "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    wrapper: { "type": "array", "items": schema_ref(decl) },
                    "totalCount": {"type": "integer"}, "pageCount": {"type": "integer"},
                    "pageNumber": {"type": "integer"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}
                },
                "required": [wrapper]
            }}}
        }})),
    })
}

fn op_get(decl: &ResourceDecl, wrapper: &str, id: &str, tag: &str) -> Value {
    json!({
        "operationId": id, "tags": [tag],
        "parameters": [id_param(), fields_param(decl)],
        "responses": errors(json!({ "200": { "description": "The record", "content": { "application/json": {
            "schema": single_body(decl, wrapper)
        }}}})),
    })
}

/// A create or update; `wrapper` names the record in an update's answer.
fn op_write(decl: &ResourceDecl, wrapper: &str, id: &str, tag: &str, status: &str, description: &str) -> Value {
    let creates = id.starts_with("create");
    let parameters = if creates { vec![] } else { vec![id_param()] };
    let body = if creates {
        sourced_id_pairs()
    } else {
        single_body(decl, wrapper)
    };
    json!({
        "operationId": id, "tags": [tag], "parameters": parameters,
        "requestBody": { "required": true, "content": { "application/json": { "schema": {
            "type": "object", "properties": { decl.singular: schema_ref(decl) }, "required": [decl.singular]
        }}}},
        "responses": errors(json!({ status: { "description": description,
            "content": { "application/json": { "schema": body } } } })),
    })
}

/// `{"<wrapper>": record}`, the body of a read or an update.
fn single_body(decl: &ResourceDecl, wrapper: &str) -> Value {
    json!({ "type": "object", "properties": { wrapper: schema_ref(decl) }, "required": [wrapper] })
}

/// A create's answer: one pair (TimeBack), or an array of them (1.2).
fn sourced_id_pairs() -> Value {
    let pair = json!({ "type": "object", "required": ["suppliedSourcedId", "allocatedSourcedId"],
        "properties": { "suppliedSourcedId": {"type": "string"}, "allocatedSourcedId": {"type": "string"} } });
    json!({ "type": "object", "required": ["sourcedIdPairs"], "properties": {
        "sourcedIdPairs": { "oneOf": [pair, { "type": "array", "items": pair }] } } })
}

fn errors(mut responses: Value) -> Value {
    for code in [
        "400", "401", "403", "404", "405", "409", "413", "415", "422", "429", "500", "503",
    ] {
        responses[code] = json!({ "$ref": "#/components/responses/Error" });
    }
    responses
}

fn resource_schema(decl: &ResourceDecl) -> Value {
    let mut properties = Map::new();
    for key in decl.selectable {
        properties.insert((*key).to_owned(), property_schema(decl, key));
    }
    json!({ "type": "object", "properties": properties })
}

/// A property's schema, inferred from the declaration: references, typed
/// fields, multi-valued fields; anything else is left open.
fn property_schema(decl: &ResourceDecl, key: &str) -> Value {
    let guid = json!({ "$ref": "#/components/schemas/GUIDRef" });
    if let Some(r) = decl.refs.iter().find(|r| r.path == key) {
        let many = decl
            .fields
            .iter()
            .any(|f| f.many && f.name == format!("{}.sourcedId", r.path));
        return if many || key == "agents" || key == "resources" {
            json!({ "type": "array", "items": guid })
        } else {
            guid
        };
    }
    match key {
        "status" => return json!({ "enum": ["active", "tobedeleted"] }),
        "sourcedId" => return sourced_id(),
        _ => {}
    }
    match decl.fields.iter().find(|f| f.name == key) {
        Some(f) if f.many => json!({ "type": "array", "items": { "type": "string" } }),
        Some(f) => match f.kind {
            FieldKind::DateTime => json!({ "type": "string", "format": "date-time" }),
            FieldKind::Date => json!({ "type": "string", "format": "date" }),
            FieldKind::Text => json!({ "type": "string" }),
        },
        None if key == "metadata" => json!({ "type": "object" }),
        None => json!({}),
    }
}

fn token_path() -> Value {
    json!({ "post": {
        "operationId": "token", "tags": ["oauth"], "security": [],
        "description": "OAuth 2.0 client credentials; client authentication by HTTP Basic or form fields.",
        "requestBody": { "required": true, "content": { "application/x-www-form-urlencoded": { "schema": {
            "type": "object", "required": ["grant_type"],
            "properties": { "grant_type": {"const": "client_credentials"}, "client_id": {"type": "string"},
                "client_secret": {"type": "string"}, "scope": {"type": "string"} }
        }}}},
        "responses": errors(json!({ "200": { "description": "An access token", "content": { "application/json": { "schema": {
            "type": "object", "required": ["access_token", "token_type", "expires_in"],
            "properties": { "access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"}, "scope": {"type": "string"} }
        }}}}})),
    }})
}

fn import_path() -> Value {
    let flag = |name: &str, description: &str| query_param(name, description, json!({"type": "boolean"}));
    json!({ "post": {
        "operationId": "importCsvPackage", "tags": ["bulk"],
        "description": "Imports a OneRoster 1.2 CSV package (zip, files at the root) as `rollcall import` does: \
            validated completely before anything is written; bulk files mark absent records tobedeleted. \
            Requires the admin scope. The whole package is one transaction: all of it lands or none. \
            422 lists every problem in imsx_error_details; 409 when the mass-change guard objects or a \
            record changed after the import read it. An import still running after the server's wait \
            (ROLLCALL_IMPORT_WAIT) answers 202 with a Location to poll; it carries on in the background.",
        "parameters": [
            flag("dryRun", "Validate and report without writing"),
            flag("force", "Apply even when the mass-change guard objects"),
            query_param("mode", "asManifest (default) or deltaOnly", json!({"enum": ["asManifest", "deltaOnly"]})),
            query_param("maxDeleteShare", "Largest share of an org's users one import may mark tobedeleted (default 0.25)",
                json!({"type": "number", "minimum": 0, "maximum": 1})),
        ],
        "requestBody": { "required": true, "content": { "application/zip": { "schema": { "type": "string", "format": "binary" } } } },
        "responses": errors(json!({ "200": { "description": "What was (or would be) created, updated and marked tobedeleted",
            "content": { "application/json": { "schema": { "type": "object" } } } },
            "202": { "description": "Still running: poll the job at the Location header",
            "content": { "application/json": { "schema": import_job() } } } })),
    }})
}

fn import_job_path() -> Value {
    json!({ "get": {
        "operationId": "getImportJob", "tags": ["bulk"],
        "description": "A remote import's progress and, once finished, the answer the import would have given \
            (`httpStatus` and `result`). Jobs are kept in the memory of the instance that runs them \
            (the last 100 finished ones). Requires the admin scope.",
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": errors(json!({ "200": { "description": "The job",
            "content": { "application/json": { "schema": import_job() } } } })),
    }})
}

fn import_job() -> Value {
    json!({ "type": "object", "required": ["job"], "properties": { "job": {
        "type": "object", "required": ["id", "status", "startedAt", "progress"], "properties": {
            "id": {"type": "string"},
            "status": {"enum": ["running", "succeeded", "failed"]},
            "startedAt": {"type": "string", "format": "date-time"},
            "finishedAt": {"type": "string", "format": "date-time"},
            "progress": {"type": "object", "properties": {"written": {"type": "integer"}, "total": {"type": "integer"}}},
            "httpStatus": {"type": "integer"},
            "result": {"type": "object"} } } } })
}

fn scopes() -> Value {
    rollcall_service::scope::ALL
        .iter()
        .map(|s| {
            (
                rollcall_service::scope::uri(s),
                Value::String(format!("OneRoster scope {s}")),
            )
        })
        .collect::<Map<_, _>>()
        .into()
}

fn guid_ref() -> Value {
    json!({ "type": "object", "required": ["href", "sourcedId", "type"], "properties": {
        "href": {"type": "string", "format": "uri"}, "sourcedId": {"type": "string"}, "type": {"type": "string"} } })
}

fn status_info() -> Value {
    json!({ "type": "object", "required": ["imsx_codeMajor", "imsx_severity"], "properties": {
        "imsx_codeMajor": {"enum": ["success", "processing", "failure", "unsupported"]},
        "imsx_severity": {"enum": ["status", "warning", "error"]},
        "imsx_description": {"type": "string"},
        "imsx_CodeMinor": {"type": "object", "properties": {"imsx_codeMinorField": {"type": "array", "items": {
            "type": "object", "required": ["imsx_codeMinorFieldName", "imsx_codeMinorFieldValue"],
            "properties": {"imsx_codeMinorFieldName": {"type": "string"}, "imsx_codeMinorFieldValue": {"type": "string"}}}}}}
    }})
}

/// What `SourcedId::parse` accepts.
fn sourced_id() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": MAX_SOURCED_ID_LEN,
        "description": format!("At most {MAX_SOURCED_ID_LEN} bytes of UTF-8; not blank, no surrounding whitespace, \
            not `.` or `..`; no control characters, /, \\, ? or #: it must stay one URL path segment"),
        "pattern": "^[^\\s/?#\\\\\\u0000-\\u001f\\u007f-\\u009f](?:[^/?#\\\\\\u0000-\\u001f\\u007f-\\u009f]*[^\\s/?#\\\\\\u0000-\\u001f\\u007f-\\u009f])?$" })
}

fn id_param() -> Value {
    json!({ "name": "sourcedId", "in": "path", "required": true, "schema": { "type": "string" } })
}

/// `fields`: a comma-separated selection of the resource's top-level keys
/// (anything else is a 400 `invalid_selection_field`).
fn fields_param(decl: &ResourceDecl) -> Value {
    let name = format!(" *({}) *", decl.selectable.join("|"));
    query_param(
        "fields",
        &format!("Comma-separated fields to return: {}", decl.selectable.join(", ")),
        json!({ "type": "string", "pattern": format!("^{name}(,{name})*$") }),
    )
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn schema_ref(decl: &ResourceDecl) -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", decl.schema) })
}

fn title(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
