//! The reference documents Rollcall answers to, read as data: the official
//! OneRoster 1.2 rostering OpenAPI (the `oneroster` profile), TimeBack's
//! December 2025 document (`timeback`) and its April 2025 YAML
//! (`timeback-2025-04`). The route-table and walk tests
//! (`reference_routes`, `reference_walk`) take their operations and
//! schemas from here, so a change in a document changes what is checked.

use rollcall_server::Profile;
use serde_json::{Value, json};

use crate::helpers::API;

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/");

/// One reference document and the profile that must match it.
pub struct Reference {
    pub profile: Profile,
    pub file: &'static str,
    pub doc: Value,
    /// The prefix the document's paths carry before the rostering
    /// endpoints: none in 1.2 (its server URL holds it), the full base in
    /// TimeBack's, whose other services (gradebook, resources) are not ours.
    prefix: &'static str,
    draft: jsonschema::Draft,
}

/// One operation of a document: its method, its absolute path, and the
/// normalised key (`GET /ims/…/users/{}`) paths are compared by.
pub struct Operation {
    pub method: String,
    pub path: String,
    pub key: String,
    pub id: String,
    pub spec: Value,
}

impl Operation {
    /// `getUser (GET /ims/…/users/{sourcedId})`, for failure lists.
    pub fn name(&self) -> String {
        format!("{} ({} {})", self.id, self.method, self.path)
    }
}

pub fn official() -> Reference {
    Reference {
        profile: Profile::OneRoster,
        file: "oneroster-1p2-rostering-openapi.json",
        doc: load("oneroster-1p2-rostering-openapi.json"),
        prefix: "",
        // OpenAPI 3.0: a draft-4/7 dialect.
        draft: jsonschema::Draft::Draft7,
    }
}

pub fn timeback() -> Reference {
    Reference {
        profile: Profile::Timeback,
        file: "timeback-oneroster-openapi-2025-12.json",
        doc: load("timeback-oneroster-openapi-2025-12.json"),
        prefix: API,
        // OpenAPI 3.1: JSON Schema 2020-12.
        draft: jsonschema::Draft::Draft202012,
    }
}

pub fn timeback_2025_04() -> Reference {
    Reference {
        profile: Profile::Timeback202504,
        file: "timeback-oneroster-openapi-2025-04.yaml",
        doc: load("timeback-oneroster-openapi-2025-04.yaml"),
        prefix: API,
        draft: jsonschema::Draft::Draft202012,
    }
}

fn load(file: &str) -> Value {
    let mut doc = parse(file);
    honour_nullable(&mut doc);
    doc
}

/// TimeBack's 3.1 documents still mark some schemas `nullable: true`, an
/// OpenAPI 3.0 keyword JSON Schema 2020-12 ignores. Their authors (and the
/// clients generated from them) mean that `null` is allowed, so it is made
/// explicit: the type list and any enum gain `null`.
fn honour_nullable(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type") {
                    let t = t.clone();
                    map.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(choices)) = map.get_mut("enum") {
                    choices.push(Value::Null);
                }
            }
            map.values_mut().for_each(honour_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(honour_nullable),
        _ => {}
    }
}

fn parse(file: &str) -> Value {
    let path = format!("{SPECS}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("the reference document {path} is required ({e}); clone the `shared` repository beside this one")
    });
    if file.ends_with(".yaml") {
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `/users/{sourcedId}/` → `/users/{}`: parameter names and a trailing
/// slash do not make a different operation.
pub fn normalise(path: &str) -> String {
    let trimmed = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
    trimmed
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every operation of an OpenAPI document whose absolute path starts with
/// `keep`, in document order; `prefix` is put before each path first.
pub fn operations_of(doc: &Value, prefix: &str, keep: &str) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let path = format!("{prefix}{path}");
        if !path.starts_with(keep) {
            continue;
        }
        for method in METHODS {
            let Some(spec) = item.get(method) else { continue };
            let method = method.to_uppercase();
            out.push(Operation {
                key: format!("{method} {}", normalise(&path)),
                id: spec["operationId"].as_str().unwrap_or("(no operationId)").to_owned(),
                method,
                path: path.clone(),
                spec: spec.clone(),
            });
        }
    }
    out
}

impl Reference {
    /// The document's rostering operations, paths made absolute.
    pub fn operations(&self) -> Vec<Operation> {
        let prefix = if self.prefix.is_empty() { API } else { "" };
        operations_of(&self.doc, prefix, API)
    }

    /// Follows a local `$ref` (`#/components/…`) to what it names.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let target = self
                    .doc
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("dangling {r}"));
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// A validator for one schema of this document, with every
    /// `#/components/…` reference resolvable; formats are checked.
    pub fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let root = json!({ "components": self.doc["components"], "allOf": [schema] });
        jsonschema::options()
            .with_draft(self.draft)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("building a validator from {}: {e}", self.file))
    }

    /// The first few reasons `instance` breaks `schema`, empty when valid.
    pub fn errors(&self, schema: &Value, instance: &Value) -> Vec<String> {
        self.validator(schema)
            .iter_errors(instance)
            .take(3)
            .map(|e| clip(&format!("{}: {e}", e.instance_path())))
            .collect()
    }
}

/// An error quotes the offending instance, which may be a whole record:
/// enough of it to find the field.
fn clip(message: &str) -> String {
    const MAX: usize = 300;
    match message.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// The JSON request body schema of an operation, if it takes one.
pub fn request_schema(op: &Operation) -> Option<&Value> {
    op.spec.pointer("/requestBody/content/application~1json/schema")
}

/// The JSON schema the document gives a response with this status, if any.
pub fn response_schema(op: &Operation, status: u16) -> Option<&Value> {
    op.spec["responses"]
        .get(status.to_string())?
        .pointer("/content/application~1json/schema")
}

/// Whether the document lists this status for the operation (a `default`
/// does not count: a client generated from it would not expect the status).
pub fn lists_status(op: &Operation, status: u16) -> bool {
    op.spec["responses"].get(status.to_string()).is_some()
}
