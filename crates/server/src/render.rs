//! Turning a stored record into a response, per response profile.
//!
//! Stored records hold references as `{sourcedId}` only and secrets as
//! hashes. Rendering removes write-only fields, completes references into
//! `{href, sourcedId, type}` with an absolute `href`, and then applies the
//! profile: TimeBack's extras, or the strict 1.2 shape.

use std::collections::HashMap;
use std::str::FromStr;

use oneroster::ResourceDecl;
use oneroster::path;
use serde_json::{Map, Value};

/// Which generation of client the responses are shaped for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// TimeBack, December 2025 (default): body totals and headers,
    /// `primaryOrg.name`, `roles[].metadata`, embedded demographics.
    Timeback,
    /// Strict OneRoster 1.2: validates against the official schemas
    /// (`additionalProperties: false`): no body totals, no nulls, no extras.
    OneRoster,
    /// As `Timeback`, but `enabledUser` is a JSON boolean, as the April 2025
    /// TimeBack document (and the SDK generated from it) expects.
    Timeback202504,
}

impl Profile {
    pub fn body_totals(self) -> bool {
        self != Self::OneRoster
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeback => "timeback",
            Self::OneRoster => "oneroster",
            Self::Timeback202504 => "timeback-2025-04",
        }
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "timeback" => Ok(Self::Timeback),
            "oneroster" => Ok(Self::OneRoster),
            "timeback-2025-04" => Ok(Self::Timeback202504),
            other => Err(format!(
                "unknown profile '{other}': expected timeback, oneroster or timeback-2025-04"
            )),
        }
    }
}

/// Everything rendering needs besides the record.
pub struct RenderContext<'a> {
    pub profile: Profile,
    /// `…/ims/oneroster/rostering/v1p2`, absolute.
    pub api_base: &'a str,
    /// Names of referenced records, for references declared `with_name`.
    pub names: &'a HashMap<String, String>,
    pub fields: Option<&'a [String]>,
}

/// The client-facing form of one stored record.
pub fn render(decl: &ResourceDecl, doc: Value, ctx: &RenderContext<'_>) -> Value {
    select(in_declared_order(decl, render_values(decl, doc, ctx)), ctx.fields)
}

/// The client-facing values of a record's entries, keys left in the order
/// they come.
fn render_values(decl: &ResourceDecl, mut doc: Value, ctx: &RenderContext<'_>) -> Value {
    for field in decl.write_only {
        path::remove_at(&mut doc, field);
    }
    for r in decl.refs {
        let with_name = r.with_name && ctx.profile != Profile::OneRoster;
        path::for_each_object(&mut doc, r.path, &mut |m| complete_ref(m, r, ctx, with_name));
    }
    match ctx.profile {
        Profile::OneRoster => {
            for ext in decl.extensions {
                path::remove_at(&mut doc, ext);
            }
            strip_nulls(&mut doc);
        }
        Profile::Timeback202504 => {
            for key in BOOLEAN_FLAGS {
                flag_as_bool(&mut doc, key);
            }
            year_as_number(&mut doc);
        }
        Profile::Timeback => year_as_number(&mut doc),
    }
    doc
}

/// Top-level keys in the declaration's order: backends may hand documents
/// back with keys reordered (PostgreSQL's JSONB sorts them), and clients
/// and people reading responses deserve one stable shape.
fn in_declared_order(decl: &ResourceDecl, doc: Value) -> Value {
    let Value::Object(mut m) = doc else { return doc };
    // `shift_remove`: a plain `remove` swaps the last key into the gap,
    // and the keys left over would no longer be in their stored order.
    let mut out: Map<String, Value> = (decl.selectable.iter())
        .filter_map(|k| m.shift_remove_entry(*k))
        .collect();
    out.extend(m);
    Value::Object(out)
}

fn complete_ref(m: &mut Map<String, Value>, r: &oneroster::RefDecl, ctx: &RenderContext<'_>, with_name: bool) {
    let Some(id) = m.get("sourcedId").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    let href = format!("{}/{}/{}", ctx.api_base, r.collection, encode_segment(&id));
    let mut out = Map::new();
    out.insert("href".into(), href.into());
    out.insert("sourcedId".into(), id.clone().into());
    out.insert("type".into(), r.ref_type.into());
    if let Some(name) = ctx.names.get(&id).filter(|_| with_name) {
        out.insert("name".into(), name.clone().into());
    }
    *m = out;
}

/// The ids a page of records references through `with_name` references.
pub fn named_ref_ids<'a>(decl: &ResourceDecl, docs: impl IntoIterator<Item = &'a Value>) -> Vec<String> {
    let paths: Vec<String> = decl
        .refs
        .iter()
        .filter(|r| r.with_name)
        .map(|r| format!("{}.sourcedId", r.path))
        .collect();
    let mut ids: Vec<String> = docs
        .into_iter()
        .flat_map(|d| paths.iter().flat_map(|p| path::values_at(d, p)))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The `"true"`/`"false"` flags TimeBack's April 2025 document types as JSON
/// booleans: a user's `enabledUser`, an enrollment's `primary`.
pub const BOOLEAN_FLAGS: [&str; 2] = ["enabledUser", "primary"];

fn flag_as_bool(doc: &mut Value, key: &str) {
    if let Some(v) = doc.get_mut(key).filter(|v| v.is_string()) {
        *v = Value::Bool(v.as_str() == Some("true"));
    }
}

/// TimeBack's responses carry an academic session's `schoolYear` as a
/// number; 1.2 (and the store) as a string. A course's `schoolYear` is a
/// reference, not a string, and is left alone.
fn year_as_number(doc: &mut Value) {
    if let Some(v) = doc.get_mut(YEAR)
        && let Some(n) = v.as_str().and_then(whole_number)
    {
        *v = n.into();
    }
}

/// The key [`year_as_number`] edits.
pub const YEAR: &str = "schoolYear";

/// `s` as a whole number, if it is one.
pub fn whole_number(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn select(doc: Value, fields: Option<&[String]>) -> Value {
    match (doc, fields) {
        (Value::Object(mut m), Some(fields)) => {
            Value::Object(fields.iter().filter_map(|f| m.remove_entry(f.as_str())).collect())
        }
        (doc, _) => doc,
    }
}

/// Percent-encodes a path segment (sourcedIds may hold spaces or `%`).
pub fn encode_segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::model::user::USERS;
    use serde_json::json;

    fn ctx<'a>(profile: Profile, names: &'a HashMap<String, String>) -> RenderContext<'a> {
        RenderContext {
            profile,
            api_base: "http://h/ims/oneroster/rostering/v1p2",
            names,
            fields: None,
        }
    }

    fn user() -> Value {
        json!({"sourcedId": "u1", "enabledUser": "true", "password": "$argon2id$x",
               "roles": [{"role": "student", "roleType": "primary", "org": {"sourcedId": "o1"}, "metadata": {"a": 1}}],
               "primaryOrg": {"sourcedId": "o1"}})
    }

    #[test]
    fn timeback_adds_names_and_hrefs_and_hides_password() {
        let names = HashMap::from([("o1".to_string(), "North High".to_string())]);
        let out = render(&USERS, user(), &ctx(Profile::Timeback, &names));
        assert_eq!(
            out["primaryOrg"],
            json!({"href": "http://h/ims/oneroster/rostering/v1p2/orgs/o1", "sourcedId": "o1", "type": "org", "name": "North High"})
        );
        assert_eq!(out["roles"][0]["metadata"], json!({"a": 1}));
        assert!(out.get("password").is_none());
    }

    #[test]
    fn strict_profile_drops_extensions() {
        let names = HashMap::from([("o1".to_string(), "North High".to_string())]);
        let out = render(&USERS, user(), &ctx(Profile::OneRoster, &names));
        assert!(out["primaryOrg"].get("name").is_none());
        assert!(out["roles"][0].get("metadata").is_none());
    }

    #[test]
    fn old_timeback_gets_boolean_enabled_user() {
        let out = render(&USERS, user(), &ctx(Profile::Timeback202504, &HashMap::new()));
        assert_eq!(out["enabledUser"], json!(true));
    }
}
