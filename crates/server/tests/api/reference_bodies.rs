//! Request bodies built from a reference document's request schema: the
//! required fields only (what a client that follows the document must at
//! least send), `const` and `example` values where the document gives
//! them, an enum's first value otherwise, references pointing at records
//! the walk seeded, and a fresh sourcedId for the record being created.

use serde_json::{Map, Value, json};

use crate::reference::Reference;

/// The seeded roster, by role.
#[derive(Clone, Default)]
pub struct Seeds {
    pub district: String,
    pub school: String,
    pub year: String,
    pub term: String,
    pub grading_period: String,
    pub course: String,
    pub class: String,
    pub student: String,
    pub teacher: String,
    pub parent: String,
    /// A guardian not yet anyone's agent, for `addAgent`.
    pub guardian: String,
    /// A student and a teacher in no class yet, for the class-roster adds.
    pub new_student: String,
    pub new_teacher: String,
    pub enrollment: String,
    pub component: String,
    pub component_resource: String,
}

impl Seeds {
    /// The seeded record a reference named `name` (a property or a path
    /// parameter without `SourcedId`) should point at, inside a record
    /// wrapped as `wrapper`.
    pub fn for_ref(&self, name: &str, wrapper: &str) -> String {
        let id = match name {
            "org" | "primaryOrg" | "school" | "orgs" | "schools" => &self.school,
            "district" => &self.district,
            "parent" if matches!(wrapper, "org" | "school") => &self.district,
            "parent" if wrapper == "courseComponent" => &self.component,
            "parent" | "term" | "terms" | "academicSession" | "academicSessions" => &self.term,
            "children" if matches!(wrapper, "org" | "school") => &self.school,
            "children" | "gradingPeriod" | "gradingPeriods" => &self.grading_period,
            "schoolYear" => &self.year,
            "course" | "courses" => &self.course,
            "class" | "classes" => &self.class,
            "courseComponent" | "component" | "components" => &self.component,
            "componentResource" | "component-resources" => &self.component_resource,
            "teacher" | "teachers" => &self.teacher,
            "agent" | "agents" => &self.guardian,
            "enrollment" | "enrollments" => &self.enrollment,
            // A resource lives in the Resources service, not in Rollcall.
            "resource" | "resources" => return "walk-resource".into(),
            _ => &self.student,
        };
        id.clone()
    }
}

/// The OneRoster `type` a reference named `name` carries in a GUIDRef.
fn ref_type(name: &str) -> &'static str {
    match name {
        "org" | "primaryOrg" | "school" | "district" | "orgs" => "org",
        "parent" | "children" | "term" | "terms" | "schoolYear" | "academicSession" => "academicSession",
        "course" => "course",
        "class" | "classes" => "class",
        "courseComponent" | "component" => "courseComponent",
        "agents" | "user" | "users" => "user",
        _ => "user",
    }
}

pub struct BodyGen<'a> {
    pub reference: &'a Reference,
    pub seeds: &'a Seeds,
    /// The sourcedId of the record the body creates or replaces.
    pub own_id: String,
}

impl BodyGen<'_> {
    /// A body for `schema`, the operation's whole request body.
    pub fn body(&self, schema: &Value) -> Value {
        self.value(schema, "", "", None, 0)
    }

    /// `name` is the property being filled, `wrapper` the top-level
    /// property the record sits under, `in_ref` the name of the reference
    /// object being filled (its `sourcedId` points at a seeded record).
    fn value(&self, schema: &Value, name: &str, wrapper: &str, in_ref: Option<&str>, depth: usize) -> Value {
        let schema = self.reference.resolve(schema);
        if let Some(v) = schema.get("const") {
            return v.clone();
        }
        if let Some(id) = self.id_for(name, wrapper, in_ref, depth) {
            return Value::String(id);
        }
        if let Some(alternatives) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
            let first = alternatives.as_array().and_then(|a| a.iter().find(|s| !is_null(s)));
            return first.map_or(Value::Null, |s| self.value(s, name, wrapper, in_ref, depth));
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            return self.value(&merge(self.reference, parts), name, wrapper, in_ref, depth);
        }
        if let (Some(target), "type", Some(choices)) = (in_ref, name, schema["enum"].as_array()) {
            let wanted = ref_type(target);
            return choices.iter().find(|c| *c == wanted).unwrap_or(&choices[0]).clone();
        }
        let example = schema.get("example").or_else(|| schema.pointer("/examples/0"));
        if let (Some(example), false) = (example, is_object_schema(schema)) {
            return example.clone();
        }
        if let Some(first) = schema.pointer("/enum/0") {
            return first.clone();
        }
        match type_of(schema) {
            "object" => self.object(schema, name, wrapper, in_ref, depth),
            "array" => {
                let item = self.value(&schema["items"], name, wrapper, in_ref, depth + 1);
                json!([item])
            }
            "string" => Value::String(string_for(name, schema)),
            "integer" | "number" => json!(schema["minimum"].as_i64().map_or(number_for(name), |m| m.max(1))),
            "boolean" => json!(true),
            _ => Value::Null,
        }
    }

    fn object(&self, schema: &Value, name: &str, wrapper: &str, in_ref: Option<&str>, depth: usize) -> Value {
        let props = &schema["properties"];
        // A nested object with a sourcedId is a reference to a record.
        let is_ref = depth >= 2 && props.get("sourcedId").is_some();
        let in_ref = if is_ref { Some(name) } else { in_ref };
        let mut out = Map::new();
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().unwrap_or_default();
            let wrapper = if depth == 0 { field } else { wrapper };
            let value = self.value(&props[field], field, wrapper, in_ref, depth + 1);
            out.insert(field.to_owned(), value);
        }
        Value::Object(out)
    }

    /// The id a `sourcedId`-like property gets: the record's own in the
    /// wrapped record, the seeded target's in a reference, and the seeded
    /// record a `…SourcedId` property names.
    fn id_for(&self, name: &str, wrapper: &str, in_ref: Option<&str>, depth: usize) -> Option<String> {
        if name == "sourcedId" {
            return Some(match in_ref {
                Some(target) => self.seeds.for_ref(target, wrapper),
                None if depth <= 2 => self.own_id.clone(),
                None => self.seeds.for_ref(wrapper, wrapper),
            });
        }
        if name == "href" && in_ref.is_some() {
            return Some("https://rollcall.example/ims/oneroster/rostering/v1p2/orgs/x".into());
        }
        let target = name.strip_suffix("SourcedId")?;
        Some(self.seeds.for_ref(target, wrapper))
    }
}

fn is_null(schema: &Value) -> bool {
    schema["type"] == "null"
}

fn is_object_schema(schema: &Value) -> bool {
    schema.get("properties").is_some()
}

/// The first non-null type a schema allows (`type` may be a list).
fn type_of(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ if schema.get("items").is_some() => "array",
        _ => "",
    }
}

/// `allOf` parts as one object schema: properties and required lists joined.
fn merge(reference: &Reference, parts: &[Value]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for part in parts {
        let part = reference.resolve(part);
        if let Some(p) = part["properties"].as_object() {
            props.extend(p.clone());
        }
        required.extend(part["required"].as_array().cloned().unwrap_or_default());
    }
    json!({ "type": "object", "properties": props, "required": required })
}

/// A plausible string for a field, by its format, then its name.
fn string_for(name: &str, schema: &Value) -> String {
    let lower = name.to_ascii_lowercase();
    match schema["format"].as_str() {
        Some("date") => return date_for(&lower),
        Some("date-time") => return "2026-09-01T08:00:00.000Z".into(),
        Some("uri" | "url") => return "https://rollcall.example/resource".into(),
        Some("email") => return "walker@example.org".into(),
        Some("uuid") => return uuid::Uuid::new_v4().to_string(),
        _ => {}
    }
    if lower.ends_with("date") {
        return date_for(&lower);
    }
    match name {
        "schoolYear" => "2027".into(),
        "email" => "walker@example.org".into(),
        "password" => "Walker-pass-1".into(),
        _ => format!("{name} of the walk"),
    }
}

/// Start before end, and birth dates in the past.
fn date_for(lower_name: &str) -> String {
    match lower_name {
        n if n.starts_with("end") => "2027-06-15".into(),
        n if n.starts_with("birth") => "2012-03-04".into(),
        _ => "2026-08-15".into(),
    }
}

fn number_for(name: &str) -> i64 {
    if name == "schoolYear" { 2027 } else { 1 }
}
