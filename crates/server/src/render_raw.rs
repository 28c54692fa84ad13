//! Rendering records from their stored JSON text. Most of a record goes to
//! the response as stored; only the top-level fields rendering changes
//! (references, write-only fields, profile-specific values) are parsed and
//! go through [`render::render_values`]. Parsing every record into a tree and
//! serialising it again was half of a list request's CPU. The strict
//! profile (which strips nulls at any depth) and records whose keys hold
//! escapes take the full path; a test holds both paths to the same output.

use oneroster::ResourceDecl;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::render::{self, Profile, RenderContext};

/// The top-level keys whose values rendering may change.
pub fn touched_keys(decl: &ResourceDecl, profile: Profile) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = decl
        .write_only
        .iter()
        .chain(decl.refs.iter().map(|r| &r.path))
        .map(|path| path.split('.').next().unwrap_or(path))
        .collect();
    if profile == Profile::Timeback202504 {
        keys.push("enabledUser");
    }
    keys
}

/// A record split into its top-level entries, with the touched ones parsed.
pub struct Split<'a> {
    entries: Vec<(&'a str, &'a RawValue)>,
    /// The keys of `touched`.
    touched_keys: Vec<&'a str>,
    /// The touched entries as an object, for `render` and name lookups.
    pub touched: Value,
}

/// Splits `raw`, or `None` when the record needs the full path.
pub fn split<'a>(raw: &'a RawValue, touched: &[&str], profile: Profile) -> Option<Split<'a>> {
    if profile == Profile::OneRoster {
        return None;
    }
    let Entries(entries) = serde_json::from_str(raw.get()).ok()?;
    let mut parsed = Map::new();
    let mut touched_keys = Vec::new();
    for (key, value) in entries.iter().filter(|(k, _)| touched.contains(k)) {
        parsed.insert((*key).to_owned(), serde_json::from_str(value.get()).ok()?);
        touched_keys.push(*key);
    }
    Some(Split {
        entries,
        touched_keys,
        touched: Value::Object(parsed),
    })
}

/// Appends the rendered record to `out` as JSON text: as `render` orders
/// it (declared keys, then the rest as stored; or the `fields` asked for, in
/// that order), with the touched entries rendered and every other entry
/// copied. Keys are written as they are: `split` only accepts records whose
/// keys hold no escapes, and selectable field names are plain.
pub fn render(decl: &ResourceDecl, split: Split<'_>, ctx: &RenderContext<'_>, out: &mut Vec<u8>) {
    let Split {
        entries,
        touched_keys,
        touched,
    } = split;
    let rendered = render::render_values(decl, touched, ctx);
    let mut first = true;
    let mut write = |key: &str, out: &mut Vec<u8>| {
        let copied = || entries.iter().find(|(k, _)| *k == key).map(|(_, raw)| raw.get());
        let value = if touched_keys.contains(&key) {
            match rendered.get(key) {
                Some(value) => Entry::Rendered(value),
                None => return,
            }
        } else {
            match copied() {
                Some(raw) => Entry::Copied(raw),
                None => return,
            }
        };
        out.push(if first { b'{' } else { b',' });
        first = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match value {
            Entry::Rendered(value) => serde_json::to_writer(&mut *out, value).expect("writing to a Vec"),
            Entry::Copied(raw) => out.extend_from_slice(raw.as_bytes()),
        }
    };
    match ctx.fields {
        Some(fields) => fields.iter().for_each(|key| write(key, out)),
        None => {
            let declared = decl.selectable.iter().copied();
            let rest = entries.iter().map(|(k, _)| *k).filter(|k| !decl.selectable.contains(k));
            declared.chain(rest).for_each(|key| write(key, out));
        }
    }
    if first {
        out.push(b'{');
    }
    out.push(b'}');
}

/// One entry of the rendered record.
enum Entry<'a> {
    Rendered(&'a Value),
    Copied(&'a str),
}

/// A JSON object's entries, borrowed from the text, in order.
struct Entries<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use oneroster::model::{class::CLASSES, user::USERS};
    use serde_json::json;

    fn docs() -> Vec<Value> {
        vec![
            json!({"sourcedId": "u1", "status": "active", "enabledUser": "true", "password": "$argon2id$x",
                   "metadata": {"a": null, "b": [1, {"c": "d"}]}, "givenName": "Zoë \"Z\"",
                   "roles": [{"role": "student", "roleType": "primary", "org": {"sourcedId": "o1"}, "metadata": {"x": 1}},
                             {"role": "teacher", "roleType": "secondary", "org": {"sourcedId": "o 2"}}],
                   "primaryOrg": {"sourcedId": "o1"}, "agents": [{"sourcedId": "u2"}], "unknownExtra": 5,
                   "userIds": [{"type": "SIS", "identifier": "1"}], "email": null}),
            json!({"extraFirst": true, "sourcedId": "u2", "familyName": "F", "enabledUser": "false"}),
            json!({"sourcedId": "u3", "primaryOrg": null, "roles": []}),
        ]
    }

    fn both_paths(decl: &ResourceDecl, doc: Value, ctx: &RenderContext<'_>) -> (String, Option<String>) {
        let raw = serde_json::value::to_raw_value(&doc).unwrap();
        let touched = touched_keys(decl, ctx.profile);
        let fast = split(&raw, &touched, ctx.profile).map(|s| {
            let mut out = Vec::new();
            render(decl, s, ctx, &mut out);
            String::from_utf8(out).unwrap()
        });
        (render::render(decl, doc, ctx).to_string(), fast)
    }

    #[test]
    fn copying_untouched_fields_renders_exactly_what_the_full_path_does() {
        let names = HashMap::from([("o1".to_string(), "North High".to_string())]);
        let fields = ["roles".to_string(), "sourcedId".to_string(), "password".to_string()];
        for profile in [Profile::Timeback, Profile::Timeback202504] {
            for fields in [None, Some(&fields[..])] {
                let ctx = RenderContext {
                    profile,
                    api_base: "http://h/ims/oneroster/rostering/v1p2",
                    names: &names,
                    fields,
                };
                for doc in docs() {
                    let (full, fast) = both_paths(&USERS, doc, &ctx);
                    assert_eq!(fast.as_deref(), Some(full.as_str()), "{profile:?} {fields:?}");
                }
                let class = json!({"sourcedId": "c1", "course": {"sourcedId": "k"}, "school": {"sourcedId": "o1"},
                                   "terms": [{"sourcedId": "t1"}], "title": "Maths"});
                let (full, fast) = both_paths(&CLASSES, class, &ctx);
                assert_eq!(fast.as_deref(), Some(full.as_str()));
            }
        }
    }

    #[test]
    fn the_strict_profile_and_escaped_keys_take_the_full_path() {
        let raw = serde_json::value::to_raw_value(&json!({"sourcedId": "u1"})).unwrap();
        assert!(split(&raw, &[], Profile::OneRoster).is_none());
        let escaped = RawValue::from_string(r#"{"source\u0064Id": "u1"}"#.to_owned()).unwrap();
        assert!(split(&escaped, &[], Profile::Timeback).is_none());
    }
}
