//! The OpenAPI 3.1 document, generated from the resource declarations, the
//! same source the routes are built from, so the two cannot drift.

use oneroster::primitives::MAX_SOURCED_ID_LEN;
use oneroster::resource::{self, VIEWS, ViewDecl};
use oneroster::{FieldKind, ResourceDecl};
use rollcall_service::scope::{self, Operation};
use serde_json::{Map, Value, json};

use crate::routes::API_PREFIX;

mod addressing;
mod bulk;
pub mod extensions;
mod history;
mod relations;

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for decl in resource::all() {
        collection_paths(&mut paths, decl);
        bulk::paths(&mut paths, decl);
        schemas.insert(decl.schema.to_owned(), resource_schema(decl));
        schemas.insert(partial_name(decl), partial_schema(decl));
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
    history::paths(&mut paths, &resource::all());
    crate::routes::credentials::openapi_paths(&mut paths, |r| errors(r, CREATE_ERRORS));
    paths.insert("/oauth2/token".into(), token_path());
    let users = &oneroster::model::user::USERS;
    let admin = |mut item: Value, method: &str| {
        item[method] = scoped(item[method].take(), Operation::Admin, users);
        item
    };
    paths.insert("/admin/import".into(), admin(import_path(), "post"));
    paths.insert("/admin/import/jobs/{id}".into(), admin(import_job_path(), "get"));
    crate::routes::webhooks::openapi_paths(
        &mut paths,
        &|r, read| errors(r, if read { GET_ERRORS } else { CREATE_ERRORS }),
        &admin,
    );
    extensions::admin_paths(&mut paths);
    paths.insert(
        format!("{API_PREFIX}/capabilities"),
        json!({ "get": { "operationId": "getCapabilities", "tags": ["discovery"], "security": [],
            "description": "Per collection: filterable, sortable and selectable fields, search fields, \
                operators, page size and filter complexity limits.",
            "responses": { "200": { "description": "The capabilities document",
                "content": { "application/json": { "schema": { "type": "object" } } } } } } }),
    );
    unknown_ids_are_404(&mut paths);
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
        "security": [{ "OAuth2CC": [] }, { "BearerToken": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "OAuth2CC": {
                    "type": "oauth2",
                    "description": "Client credentials: a client id and secret exchanged at /oauth2/token for a token.",
                    "flows": { "clientCredentials": { "tokenUrl": "/oauth2/token", "scopes": scopes() } }
                },
                "BearerToken": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A token already obtained from POST /oauth2/token (access_token)."
                }
            },
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
    let mut item = json!({
            "get": op_get(decl, decl.singular, &format!("get{one}"), tag),
            "put": op_write(decl, decl.singular, &format!("{verb}{one}"), tag, "200", "Replaced; the stored record. Always 200 (TimeBack's documents say 200 for some updates and 201 for others); the body may be wrapped or bare. A top-level `FieldsToNull` array beside the wrapper clears the named fields (dotted paths reach into nested objects). `If-Match` makes it conditional, `If-None-Match: *` creates only"),
            "patch": op_write(decl, decl.singular, &format!("{}{one}", decl.patch_verb()), tag, "200", "Only the fields sent changed: a JSON Merge Patch (RFC 7396; `application/merge-patch+json` or JSON, wrapped or bare), where nested objects merge member by member and null removes a field; a top-level `FieldsToNull` array clears the named fields. `If-Match` makes it conditional"),
            "delete": scoped(json!({ "operationId": format!("delete{one}"), "tags": [tag],
                "parameters": [id_param()],
                "responses": errors(json!({ "204": { "description": "Soft-deleted: status is now tobedeleted" } }), DELETE_ERRORS) }),
                Operation::Delete, decl),
    });
    addressing::keys(&mut item, decl);
    paths.insert(format!("{API_PREFIX}/{}/{{sourcedId}}", decl.path()), item);
}

fn user_relation_paths(paths: &mut Map<String, Value>) {
    let users = &oneroster::model::user::USERS;
    let mut with_demo = op_get(users, "user", "getUserWithDemographics", "users");
    // The user as it is now: `asOf` is for the plain reads.
    if let Some(params) = with_demo["parameters"].as_array_mut() {
        params.retain(|p| p["name"] != "asOf");
    }
    let demographics = scope::permitting(Operation::Read, true).iter().map(|s| scope::uri(s));
    with_demo["description"] = format!(
        "The user with its demographics record embedded (or null).\n\n{} It also needs one of: {}.",
        with_demo["description"].as_str().unwrap_or_default(),
        demographics.collect::<Vec<_>>().join(", ")
    )
    .into();
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
            "responses": errors(json!({ "204": { "description": "Soft-deleted: status is now tobedeleted" } }), DELETE_ERRORS) });
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
    let mut op = json!({
        "operationId": "createCourseStructure", "tags": ["courses"], "parameters": [],
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
            "content": { "application/json": { "schema": sourced_id_pairs() } } } }), CREATE_ERRORS),
    });
    addressing::reference_check(&mut op, &oneroster::model::course::COURSES);
    op
}

fn op_list(decl: &ResourceDecl, wrapper: &str, id: &str, tag: &str) -> Value {
    let fields: Vec<&str> = decl.field_names();
    let mut parameters = vec![
        query_param(
            "limit",
            "Page size, 1 to 3000 (default 100); larger is a 400",
            json!({"type": "integer", "minimum": 1, "maximum": 3000, "default": 100}),
        ),
        query_param(
            "offset",
            "Index of the first record (default 0)",
            json!({"type": "integer", "minimum": 0, "default": 0}),
        ),
        query_param(
            "sort",
            &format!("Field to sort by: {}", fields.join(", ")),
            json!({"type": "string"}),
        ),
        query_param(
            "orderBy",
            "Sort direction",
            json!({"type": "string", "enum": ["asc", "desc"]}),
        ),
        query_param(
            "filter",
            &format!("Filter expression on: {}", fields.join(", ")),
            json!({"type": "string", "maxLength": 4096}),
        ),
        fields_param(decl),
    ];
    if !decl.search.is_empty() {
        parameters.push(query_param(
            "search",
            &format!("Case-insensitive partial match on: {}", decl.search.join(", ")),
            json!({"type": "string"}),
        ));
    }
    let op = json!({
        "operationId": id, "tags": [tag],
        "parameters": parameters,
        "responses": errors(json!({ "200": {
            "description": "A page; totals in X-Total-Count and Link headers (and in the body for TimeBack profiles)",
            "headers": {
                "X-Total-Count": { "required": true, "schema": { "type": "integer", "minimum": 0 } },
                "Link": { "schema": { "type": "string" }, "description": "RFC 8288 first, prev, next, last" }
            },
            "content": { "application/json": { "schema": {
                "type": "object",
                "properties": {
                    wrapper: { "type": "array", "items": partial_ref(decl) },
                    "totalCount": {"type": "integer"}, "pageCount": {"type": "integer"},
                    "pageNumber": {"type": "integer"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}
                },
                "required": [wrapper]
            }}}
        }}), LIST_ERRORS),
    });
    scoped(op, Operation::Read, decl)
}

fn op_get(decl: &ResourceDecl, wrapper: &str, id: &str, tag: &str) -> Value {
    let op = json!({
        "operationId": id, "tags": [tag],
        "parameters": [id_param(), fields_param(decl), history::as_of_param()],
        "responses": errors(json!({ "200": { "description": "The record (only the selected fields with `fields`)",
            "content": { "application/json": { "schema": wrapped(wrapper, partial_ref(decl)) }}}}), GET_ERRORS_AS_OF),
    });
    scoped(op, Operation::Read, decl)
}

/// POST, PUT and PATCH: the body's schema (a PATCH sends any subset of the
/// fields, the others the whole record) with an example, and the answer,
/// whose record is under `wrapper` (a view's name, or the singular).
fn op_write(decl: &ResourceDecl, wrapper: &str, id: &str, tag: &str, status: &str, description: &str) -> Value {
    let creates = id.starts_with("create") || id.starts_with("post");
    let patches = id.starts_with("patch");
    let parameters = if creates { vec![] } else { vec![id_param()] };
    let answer = if creates {
        sourced_id_pairs()
    } else {
        wrapped(wrapper, partial_ref(decl))
    };
    let record = if patches { partial_ref(decl) } else { schema_ref(decl) };
    let mut content = json!({ "schema": wrapped(decl.singular, record) });
    if let Some(example) = example(decl) {
        let example = if patches { patch_example(&example) } else { example };
        content["example"] = json!({ decl.singular: example });
    }
    let mut op = json!({
        "operationId": id, "tags": [tag], "parameters": parameters,
        "requestBody": { "required": true, "content": { "application/json": content } },
        "responses": errors(json!({ status: { "description": description,
            "content": { "application/json": { "schema": answer } } } }),
            if creates { CREATE_ERRORS } else { UPDATE_ERRORS }),
    });
    addressing::reference_check(&mut op, decl);
    scoped(op, Operation::Write, decl)
}

/// `{"<wrapper>": record}`, the body of a read or an update.
fn single_body(decl: &ResourceDecl, wrapper: &str) -> Value {
    wrapped(wrapper, schema_ref(decl))
}

/// `{"<wrapper>": record}`.
fn wrapped(wrapper: &str, record: Value) -> Value {
    json!({ "type": "object", "properties": { wrapper: record }, "required": [wrapper] })
}

/// The scopes that permit `op` on `decl`, as the operation's security
/// requirement and in its description, where the reader looks first.
fn scoped(mut op: Value, kind: Operation, decl: &ResourceDecl) -> Value {
    let uris: Vec<String> = scope::permitting(kind, decl == &oneroster::model::demographics::DEMOGRAPHICS)
        .iter()
        .map(|s| scope::uri(s))
        .collect();
    let needs = format!("Requires a token with one of the scopes: {}.", uris.join(", "));
    op["description"] = match op["description"].as_str() {
        Some(text) => format!("{text}\n\n{needs}"),
        None => needs,
    }
    .into();
    // One requirement per scope: the scopes of a single requirement would
    // all be needed, and any one of these is enough.
    let mut security: Vec<Value> = uris.iter().map(|uri| json!({ "OAuth2CC": [uri] })).collect();
    security.push(json!({ "BearerToken": [] }));
    op["security"] = security.into();
    op
}

/// A create's answer: one pair (TimeBack), or an array of them (1.2).
fn sourced_id_pairs() -> Value {
    let pair = json!({ "type": "object", "required": ["suppliedSourcedId", "allocatedSourcedId"],
        "properties": { "suppliedSourcedId": {"type": "string"}, "allocatedSourcedId": {"type": "string"} } });
    json!({ "type": "object", "required": ["sourcedIdPairs"], "properties": {
        "sourcedIdPairs": { "oneOf": [pair, { "type": "array", "items": pair }] } } })
}

/// The error statuses each kind of operation can answer with: any request
/// may be refused (401, 403), throttled (429, 503) or fail (500); writes
/// also carry bodies and Idempotency-Keys.
const LIST_ERRORS: &[&str] = &["400", "401", "403", "429", "500", "503"];
const GET_ERRORS: &[&str] = &["400", "401", "403", "404", "429", "500", "503"];
/// A single-record read with `asOf` may also find the history it needs pruned.
const GET_ERRORS_AS_OF: &[&str] = &["400", "401", "403", "404", "410", "429", "500", "503"];
const CREATE_ERRORS: &[&str] = &["400", "401", "403", "409", "413", "415", "422", "429", "500", "503"];
const UPDATE_ERRORS: &[&str] = &[
    "400", "401", "403", "404", "409", "413", "415", "422", "429", "500", "503",
];
const DELETE_ERRORS: &[&str] = &["400", "401", "403", "404", "409", "422", "429", "500", "503"];

/// Any operation addressed by an id in its path answers 404 when there is
/// no such record, whichever function built it.
fn unknown_ids_are_404(paths: &mut Map<String, Value>) {
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let by_id = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["in"] == "path");
        if by_id && op["responses"].get("404").is_none() {
            op["responses"]["404"] = json!({ "$ref": "#/components/responses/Error" });
        }
    }
}

fn errors(mut responses: Value, codes: &[&str]) -> Value {
    for code in codes {
        responses[*code] = json!({ "$ref": "#/components/responses/Error" });
    }
    responses
}

/// The whole record, with the keys a write must carry as `required`.
fn resource_schema(decl: &ResourceDecl) -> Value {
    let mut schema = partial_schema(decl);
    let required = required(decl);
    if !required.is_empty() {
        schema["required"] = required.into();
    }
    schema.as_object_mut().expect("object").remove("description");
    schema
}

/// Any subset of the record's keys: a PATCH body, or a read narrowed by `fields`.
fn partial_schema(decl: &ResourceDecl) -> Value {
    let mut properties = Map::new();
    for key in decl.selectable {
        properties.insert((*key).to_owned(), property_schema(decl, key));
    }
    json!({ "type": "object", "properties": properties,
        "description": format!("Any subset of {}'s properties: a PATCH body, or a read narrowed by `fields`.", decl.schema) })
}

fn partial_name(decl: &ResourceDecl) -> String {
    format!("{}Partial", decl.schema)
}

fn partial_ref(decl: &ResourceDecl) -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", partial_name(decl)) })
}

/// The keys a write must carry: each key of the example, dropped in turn
/// and put through the write path's own stamping and validation, so the
/// list cannot drift from what the server enforces.
fn required(decl: &ResourceDecl) -> Vec<String> {
    let Some(Value::Object(record)) = example(decl) else {
        return Vec::new();
    };
    record
        .keys()
        .filter(|key| {
            let mut without = record.clone();
            without.remove(*key);
            rollcall_service::rules::stamp(decl, without, "example", PROBE_TIME).is_err()
        })
        .cloned()
        .collect()
}

/// Any valid `dateLastModified`, for [`required`]'s trial writes.
const PROBE_TIME: &str = "2026-01-01T00:00:00.000Z";

/// A reference as reads return it; writes need only its `sourcedId`.
fn guid(collection: &str, kind: &str, id: &str) -> Value {
    json!({ "href": format!("{API_PREFIX}/{collection}/{id}"), "sourcedId": id, "type": kind })
}

/// A PATCH example: the example's first field besides the id.
fn patch_example(example: &Value) -> Value {
    let fields = example.as_object().into_iter().flatten();
    let changed = fields.filter(|(k, _)| *k != "sourcedId" && *k != "status").take(1);
    Value::Object(changed.map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// A valid record per resource, shown as the request example and used to
/// find the required keys; a resource without one gets neither.
fn example(decl: &ResourceDecl) -> Option<Value> {
    let school = guid("orgs", "org", "school-1");
    Some(match decl.collection {
        "users" => json!({ "sourcedId": "user-1", "status": "active", "enabledUser": "true",
            "username": "ada.lovelace", "givenName": "Ada", "familyName": "Lovelace",
            "email": "ada.lovelace@example.org",
            "roles": [{ "roleType": "primary", "role": "student", "org": school }],
            "grades": ["09"] }),
        "orgs" => json!({ "sourcedId": "school-1", "status": "active", "name": "North High",
            "type": "school", "identifier": "NH-001" }),
        "academicSessions" => json!({ "sourcedId": "term-1", "status": "active", "title": "Fall 2026",
            "type": "term", "startDate": "2026-09-01", "endDate": "2026-12-20", "schoolYear": "2027" }),
        "courses" => json!({ "sourcedId": "course-1", "status": "active", "title": "Algebra I",
            "courseCode": "ALG1", "grades": ["09"], "subjects": ["Mathematics"], "org": school }),
        "classes" => json!({ "sourcedId": "class-1", "status": "active", "title": "Algebra I, period 1",
            "classType": "scheduled", "course": guid("courses", "course", "course-1"), "school": school,
            "terms": [guid("academicSessions", "academicSession", "term-1")] }),
        "enrollments" => json!({ "sourcedId": "enrollment-1", "status": "active", "role": "student",
            "primary": "false", "user": guid("users", "user", "user-1"), "class": guid("classes", "class", "class-1"),
            "school": school }),
        "demographics" => json!({ "sourcedId": "user-1", "status": "active", "birthDate": "2011-04-02",
            "sex": "female" }),
        _ => return None,
    })
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
        "enabledUser" => {
            return json!({ "anyOf": [{ "enum": ["true", "false"] }, { "type": "boolean" }],
                "description": "1.2 sends the string \"true\" or \"false\"; a JSON boolean is accepted too (TimeBack)." });
        }
        "sourcedId" => return sourced_id(),
        "schoolYear" => {
            return json!({ "anyOf": [{ "type": "string" }, { "type": "integer" }],
                "description": "1.2's string (\"2027\"); a number in the TimeBack profiles' answers, as TimeBack sends it." });
        }
        _ => {}
    }
    // Optional fields TimeBack's answers require are sent as null when unset.
    match decl.fields.iter().find(|f| f.name == key) {
        Some(f) if f.many => json!({ "type": "array", "items": { "type": "string" } }),
        Some(f) => match f.kind {
            FieldKind::DateTime => json!({ "type": "string", "format": "date-time" }),
            FieldKind::Date => json!({ "type": ["string", "null"], "format": "date" }),
            FieldKind::Text => json!({ "type": ["string", "null"] }),
            FieldKind::Integer => json!({ "type": ["integer", "null"] }),
            FieldKind::Number => json!({ "type": ["number", "null"] }),
            FieldKind::Boolean => json!({ "type": ["boolean", "null"] }),
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
        }}}}}), &["400", "401", "413", "415", "429", "500", "503"]),
    }})
}

fn import_path() -> Value {
    let flag = |name: &str, description: &str| query_param(name, description, json!({"type": "boolean"}));
    json!({ "post": {
        "operationId": "importCsvPackage", "tags": ["bulk"],
        "description": "Imports a OneRoster 1.2 CSV package (zip, files at the root) as `rollcall import` does: \
            validated completely before anything is written; bulk files mark absent records tobedeleted. \
            The whole package is one transaction: all of it lands or none. \
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
            "content": { "application/json": { "schema": import_job() } } } }), CREATE_ERRORS),
    }})
}

fn import_job_path() -> Value {
    json!({ "get": {
        "operationId": "getImportJob", "tags": ["bulk"],
        "description": "A remote import's progress and, once finished, the answer the import would have given \
            (`httpStatus` and `result`). Jobs are kept in the memory of the instance that runs them \
            (the last 100 finished ones).",
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": errors(json!({ "200": { "description": "The job",
            "content": { "application/json": { "schema": import_job() } } } }), GET_ERRORS),
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
        "imsx_error_details": {"type": "array", "items": {"type": "object", "additionalProperties": {"type": "string"}}},
        "imsx_CodeMinor": {"type": "object", "properties": {"imsx_codeMinorField": {"type": "array", "items": {
            "type": "object", "required": ["imsx_codeMinorFieldName", "imsx_codeMinorFieldValue"],
            "properties": {"imsx_codeMinorFieldName": {"type": "string",
                "description": "TargetEndSystem; after it, for a refused body, the JSON path of each problem (user.roles[0].role)"},
                "imsx_codeMinorFieldValue": {"type": "string"}}}}}}
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
    json!({ "name": "sourcedId", "in": "path", "required": true,
        "description": "The record's sourcedId, as given when it was created (or allocated then).",
        "schema": { "type": "string" } })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example is a record the model accepts, or the `required`
    /// lists derived from them would be wrong.
    #[test]
    fn every_example_is_a_valid_record() {
        for decl in resource::all() {
            if let Some(Value::Object(record)) = example(decl) {
                rollcall_service::rules::stamp(decl, record, "example", PROBE_TIME)
                    .unwrap_or_else(|e| panic!("{}: {e}", decl.collection));
            }
        }
    }

    /// What the reader copies from `/docs` matches the schema shown beside it.
    #[test]
    fn every_request_example_conforms_to_its_schema() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let content = &op["requestBody"]["content"]["application/json"];
                if content["example"].is_null() {
                    continue;
                }
                let root = json!({ "components": doc["components"], "allOf": [content["schema"]] });
                let validator = jsonschema::validator_for(&root).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&content["example"])
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{method} {path}: {errors:?}");
            }
        }
    }

    #[test]
    fn a_user_requires_what_the_model_requires() {
        let required = required(&oneroster::model::user::USERS);
        for key in ["enabledUser", "givenName", "familyName", "roles"] {
            assert!(required.iter().any(|k| k == key), "{key} not in {required:?}");
        }
        for key in ["sourcedId", "status", "email"] {
            assert!(!required.iter().any(|k| k == key), "{key} in {required:?}");
        }
    }
}
