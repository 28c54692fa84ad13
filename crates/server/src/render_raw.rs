//! Rendering records from their stored JSON text: the fast path of
//! [`render::render`] for list pages. Each record is split into its
//! top-level entries, put in the rendered order, and written with the
//! rendering's edits (references completed, write-only fields left out,
//! profile-specific values) applied to the text by [`raw_json`]; nothing is
//! parsed into a tree. The strict profile (which strips nulls at any depth)
//! and text `raw_json` cannot walk take the full path; a test holds both
//! paths to the same output.

use std::borrow::Cow;

use oneroster::{RefDecl, ResourceDecl};

use crate::json_text::object_entries;
use crate::raw_json::{self, Edit, Rule};
use crate::render::{self, Profile, RenderContext};

/// Whether the text path renders for `profile`: the strict profile strips
/// nulls at any depth, which only the full path does.
pub fn serves(profile: Profile) -> bool {
    profile != Profile::OneRoster
}

/// A record split into its top-level entries, borrowed from its text.
pub struct Split<'a> {
    entries: Vec<(&'a str, &'a str)>,
}

/// Splits `raw`, or `None` when it cannot be walked (keys with escapes) or
/// is not a JSON object.
pub fn split(raw: &str) -> Option<Split<'_>> {
    Some(Split {
        entries: object_entries(raw)?,
    })
}

impl Split<'_> {
    /// Appends the ids of the records this one references by a reference
    /// rendered with the target's name (as [`render::named_ref_ids`]).
    pub fn named_ids(&self, decl: &ResourceDecl, out: &mut Vec<String>) -> Option<()> {
        for r in decl.refs.iter().filter(|r| r.with_name) {
            let (head, tail) = r.path.split_once('.').map_or((r.path, None), |(h, t)| (h, Some(t)));
            let rest = match tail {
                None => Cow::Borrowed("sourcedId"),
                Some(t) => Cow::Owned(format!("{t}.sourcedId")),
            };
            if let Some((_, value)) = self.entries.iter().rev().find(|(k, _)| *k == head) {
                raw_json::strings_at(value, Some(&rest), out)?;
            }
        }
        Some(())
    }
}

/// How one page's records are rendered: the edits and the context.
pub struct Plan<'c> {
    decl: &'c ResourceDecl,
    ctx: &'c RenderContext<'c>,
    /// The edits below each top-level key they go through, paths advanced
    /// past it (worked out once per page, not per record and key).
    groups: Vec<(&'c str, Vec<Rule<'c>>)>,
    /// `ctx.api_base` as the inside of a JSON string.
    api_base: String,
}

impl<'c> Plan<'c> {
    /// The plan for `ctx`, or `None` when its profile needs the full path.
    pub fn new(decl: &'c ResourceDecl, ctx: &'c RenderContext<'c>) -> Option<Self> {
        if !serves(ctx.profile) {
            return None;
        }
        let removals = decl.write_only.iter().map(|p| Rule::at(p, Edit::Remove));
        let refs = decl.refs.iter().map(|r| Rule::at(r.path, Edit::Complete(r)));
        let flags = (ctx.profile == Profile::Timeback202504)
            .then_some(render::BOOLEAN_FLAGS.map(|key| Rule::at(key, Edit::Flag)))
            .into_iter()
            .flatten();
        let year = Some(Rule::at(render::YEAR, Edit::Number));
        let api_base = serde_json::to_string(ctx.api_base).expect("a string serialises");
        let mut groups: Vec<(&str, Vec<Rule>)> = Vec::new();
        for (head, rule) in removals.chain(refs).chain(flags).chain(year).filter_map(|r| r.step()) {
            match groups.iter_mut().find(|(k, _)| *k == head) {
                Some((_, rules)) => rules.push(rule),
                None => groups.push((head, vec![rule])),
            }
        }
        Some(Self {
            decl,
            ctx,
            groups,
            api_base: api_base[1..api_base.len() - 1].to_owned(),
        })
    }

    /// Appends the rendered record to `out` as `render` would write it:
    /// declared keys first in their order, then the rest as stored; or the
    /// `fields` asked for, in that order. `None` (with part of the record
    /// written) when the text cannot be walked.
    pub fn render(&self, split: &Split<'_>, out: &mut Vec<u8>) -> Option<()> {
        let entries = &split.entries;
        let complete = |r: &RefDecl, id: &str, json: &str, out: &mut Vec<u8>| self.complete(r, id, json, out);
        let rules_at = |key: &str| {
            let group = self.groups.iter().find(|(k, _)| *k == key);
            Cow::Borrowed(group.map_or(&[][..], |(_, rules)| rules.as_slice()))
        };
        match self.ctx.fields {
            Some(fields) => {
                let find = |f: &String| entries.iter().rev().find(|(k, _)| k == f).copied();
                raw_json::write_entries(fields.iter().filter_map(find), rules_at, &complete, out)
            }
            None => {
                let mut order = self.declared_positions(entries);
                if !order.is_sorted() {
                    order.sort_unstable();
                }
                let ordered = order.into_iter().map(|(_, i)| entries[i]);
                raw_json::write_entries(ordered, rules_at, &complete, out)
            }
        }
    }

    /// (position in the declaration or `usize::MAX`, index) of each entry.
    /// Stored records mostly hold their keys in declared order, so each key
    /// is looked for from just past the previous one first.
    fn declared_positions(&self, entries: &[(&str, &str)]) -> Vec<(usize, usize)> {
        let declared = self.decl.selectable;
        let mut next = 0;
        (entries.iter().enumerate())
            .map(|(i, (key, _))| {
                let found = (declared[next..].iter().position(|s| s == key).map(|p| next + p))
                    .or_else(|| declared[..next].iter().position(|s| s == key));
                if let Some(p) = found {
                    next = p + 1;
                }
                (found.unwrap_or(usize::MAX), i)
            })
            .collect()
    }

    /// `{href, sourcedId, type}` plus the target's `name` where declared.
    fn complete(&self, r: &RefDecl, id: &str, json: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"href\":\"");
        out.extend_from_slice(self.api_base.as_bytes());
        for segment in [
            "/",
            r.collection,
            "/",
            &render::encode_segment(id),
            "\",\"sourcedId\":",
            json,
        ] {
            out.extend_from_slice(segment.as_bytes());
        }
        out.extend_from_slice(b",\"type\":");
        serde_json::to_writer(&mut *out, r.ref_type).expect("writing to a Vec");
        if let Some(name) = self.ctx.names.get(id).filter(|_| r.with_name) {
            out.extend_from_slice(b",\"name\":");
            serde_json::to_writer(&mut *out, name).expect("writing to a Vec");
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use oneroster::model::{academic_session::ACADEMIC_SESSIONS, class::CLASSES, course::COURSES, user::USERS};
    use serde_json::{Value, json};

    fn docs() -> Vec<Value> {
        vec![
            json!({"sourcedId": "u1", "status": "active", "enabledUser": "true", "password": "$argon2id$x",
                   "metadata": {"a": null, "b": [1, {"c": "d"}]}, "givenName": "Zoë \"Z\"",
                   "roles": [{"role": "student", "roleType": "primary", "org": {"sourcedId": "o1"}, "metadata": {"x": 1}},
                             {"role": "teacher", "roleType": "secondary", "org": {"sourcedId": "o 2/ü"}}],
                   "primaryOrg": {"sourcedId": "o1"}, "agents": [{"sourcedId": "u2"}], "unknownExtra": 5,
                   "userProfiles": [{"profileId": "p", "credentials": [{"username": "x", "password": "$argon2id$y"}]}],
                   "userIds": [{"type": "SIS", "identifier": "1"}], "email": null}),
            json!({"extraFirst": true, "sourcedId": "u2", "familyName": "F", "enabledUser": "false",
                   "primaryOrg": {"sourcedId": "o\"3", "name": "stale"}, "roles": [{"org": {"name": "no id"}}]}),
            json!({"sourcedId": "u3", "primaryOrg": null, "roles": []}),
        ]
    }

    fn both_paths(decl: &ResourceDecl, doc: Value, ctx: &RenderContext<'_>) -> (String, String) {
        let raw = doc.to_string();
        let split = split(&raw).unwrap();
        let mut fast = Vec::new();
        Plan::new(decl, ctx).unwrap().render(&split, &mut fast).unwrap();
        (
            render::render(decl, doc, ctx).to_string(),
            String::from_utf8(fast).unwrap(),
        )
    }

    #[test]
    fn editing_the_text_renders_exactly_what_the_full_path_does() {
        let names = HashMap::from([
            ("o1".to_string(), "North High".to_string()),
            ("o\"3".to_string(), "S".to_string()),
        ]);
        let fields = ["roles".to_string(), "sourcedId".to_string(), "password".to_string()];
        for profile in [Profile::Timeback, Profile::Timeback202504] {
            for fields in [None, Some(&fields[..])] {
                let ctx = RenderContext {
                    profile,
                    api_base: "http://h\"/ims/oneroster/rostering/v1p2",
                    names: &names,
                    fields,
                };
                for doc in docs() {
                    let (full, fast) = both_paths(&USERS, doc, &ctx);
                    assert_eq!(fast, full, "{profile:?} {fields:?}");
                }
                let class = json!({"sourcedId": "c1", "course": {"sourcedId": "k"}, "school": {"sourcedId": "o1"},
                                   "terms": [{"sourcedId": "t1"}], "title": "Maths"});
                let (full, fast) = both_paths(&CLASSES, class, &ctx);
                assert_eq!(fast, full);
                for year in [json!("2027"), json!("27b"), json!(2027), json!(["2027"]), Value::Null] {
                    let session = json!({"sourcedId": "t1", "schoolYear": year, "org": {"sourcedId": "o1"},
                                         "children": null, "parent": {"sourcedId": "y1"}});
                    let (full, fast) = both_paths(&ACADEMIC_SESSIONS, session, &ctx);
                    assert_eq!(fast, full);
                }
                let course = json!({"sourcedId": "k", "schoolYear": {"sourcedId": "2027"}, "courseCode": null});
                let (full, fast) = both_paths(&COURSES, course, &ctx);
                assert_eq!(fast, full);
            }
        }
    }

    #[test]
    fn named_ids_are_the_ones_the_full_path_looks_up() {
        for doc in docs() {
            let raw = doc.to_string();
            let mut ids = Vec::new();
            split(&raw).unwrap().named_ids(&USERS, &mut ids).unwrap();
            assert_eq!(ids, render::named_ref_ids(&USERS, [&doc]));
        }
    }

    #[test]
    fn the_strict_profile_and_escaped_keys_take_the_full_path() {
        let names = HashMap::new();
        let ctx = RenderContext {
            profile: Profile::OneRoster,
            api_base: "http://h",
            names: &names,
            fields: None,
        };
        assert!(Plan::new(&USERS, &ctx).is_none());
        assert!(split(r#"{"source\u0064Id": "u1"}"#).is_none());
        assert!(split(r#"{"sourcedId": "u1""#).is_none(), "not JSON");
    }
}
