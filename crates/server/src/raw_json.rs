//! Editing JSON text along dotted paths without building a tree of it.
//!
//! Rendering a stored record changes a few values deep inside it (a
//! reference at `roles.org` is completed, `userProfiles.credentials.password`
//! is removed). Parsing each record's touched values into
//! `serde_json::Value` and serialising them again was most of a 1,000-row
//! page's CPU; here only the objects and arrays on the way to an edit are
//! split into their entries (borrowed from the text), and everything else is
//! copied as it is. Any text this cannot walk (keys holding escapes) makes
//! it give up, and the caller renders the record the slow way.

use std::borrow::Cow;

use oneroster::RefDecl;

use crate::json_text::{array_items, object_entries};

/// What to do with the value a path ends at.
#[derive(Debug, Clone, Copy)]
pub enum Edit<'d> {
    /// Leave the key out.
    Remove,
    /// Complete the reference object into `{href, sourcedId, type, name}`.
    Complete(&'d RefDecl),
    /// A `"true"`/`"false"` string becomes a JSON boolean.
    Flag,
    /// A string holding a whole number (a school year) becomes a JSON number.
    Number,
}

impl Edit<'_> {
    /// Whether the edit changes a string value itself, rather than leading
    /// into the value (which for an array means into each element).
    fn of_string(self) -> bool {
        matches!(self, Self::Flag | Self::Number)
    }
}

/// An edit and what remains of its path (`None`: the value at hand).
#[derive(Debug, Clone, Copy)]
pub struct Rule<'p> {
    pub rest: Option<&'p str>,
    pub edit: Edit<'p>,
}

impl<'p> Rule<'p> {
    pub fn at(path: &'p str, edit: Edit<'p>) -> Self {
        Self { rest: Some(path), edit }
    }

    /// The key this rule goes through next, and the rule past it.
    pub fn step(&self) -> Option<(&'p str, Self)> {
        let (head, tail) = step(self.rest?);
        Some((
            head,
            Self {
                rest: tail,
                edit: self.edit,
            },
        ))
    }
}

/// Writes a completed reference: `r`, the record's id unescaped and as JSON.
pub type Complete<'c> = dyn Fn(&RefDecl, &str, &str, &mut Vec<u8>) + 'c;

/// The rules that apply below `key`, with their paths advanced past it.
fn below<'p>(rules: &[Rule<'p>], key: &str) -> Vec<Rule<'p>> {
    rules
        .iter()
        .filter_map(|r| {
            let (head, rule) = r.step()?;
            (head == key).then_some(rule)
        })
        .collect()
}

/// Whether the rules that reached a key say to leave it out.
fn removed(rules: &[Rule<'_>]) -> bool {
    rules.iter().any(|r| r.rest.is_none() && matches!(r.edit, Edit::Remove))
}

/// Appends `text` to `out` with `rules` applied (arrays are walked: a path
/// names every element). `None` when the text cannot be walked.
pub fn write(text: &str, rules: &[Rule<'_>], complete: &Complete<'_>, out: &mut Vec<u8>) -> Option<()> {
    if rules.is_empty() {
        out.extend_from_slice(text.as_bytes());
        return Some(());
    }
    match text.as_bytes().first()? {
        b'[' => {
            let items = array_items(text)?;
            // A path names every element of an array on its way, but a
            // flag or number names the value itself (as `render` edits
            // only strings).
            let flag_here = |r: &Rule<'_>| r.rest.is_none() && r.edit.of_string();
            let inner: Cow<'_, [Rule<'_>]> = match rules.iter().any(flag_here) {
                true => rules.iter().filter(|r| !flag_here(r)).copied().collect(),
                false => Cow::Borrowed(rules),
            };
            out.push(b'[');
            for (n, item) in items.into_iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write(item, &inner, complete, out)?;
            }
            out.push(b']');
        }
        b'{' => write_object(text, rules, complete, out)?,
        b'"' if rules.iter().any(|r| r.rest.is_none() && matches!(r.edit, Edit::Flag)) => {
            let flag = string(text)? == "true";
            out.extend_from_slice(if flag { b"true" } else { b"false" });
        }
        b'"' if rules.iter().any(|r| r.rest.is_none() && matches!(r.edit, Edit::Number)) => {
            match crate::render::whole_number(&string(text)?) {
                Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
                None => out.extend_from_slice(text.as_bytes()),
            }
        }
        _ => out.extend_from_slice(text.as_bytes()),
    }
    Some(())
}

fn write_object(text: &str, rules: &[Rule<'_>], complete: &Complete<'_>, out: &mut Vec<u8>) -> Option<()> {
    let entries = object_entries(text)?;
    let reference = rules.iter().find_map(|r| match (r.rest, r.edit) {
        (None, Edit::Complete(decl)) => Some(decl),
        _ => None,
    });
    // A reference without a string `sourcedId` is left as it is.
    if let Some(decl) = reference
        && let Some((_, id)) = entries.iter().rev().find(|(k, _)| *k == "sourcedId")
        && let Some(unescaped) = string(id)
    {
        complete(decl, &unescaped, id, out);
        return Some(());
    }
    write_entries(
        entries.iter().copied(),
        |key| Cow::Owned(below(rules, key)),
        complete,
        out,
    )
}

/// Appends an object holding `entries`, each written with the rules
/// `rules_at` gives for its key.
pub fn write_entries<'a, 'r>(
    entries: impl Iterator<Item = (&'a str, &'a str)>,
    rules_at: impl Fn(&str) -> Cow<'r, [Rule<'r>]>,
    complete: &Complete<'_>,
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut first = true;
    for (key, value) in entries {
        let below = rules_at(key);
        if removed(&below) {
            continue;
        }
        out.push(if first { b'{' } else { b',' });
        first = false;
        write_key(key, out);
        write(value, &below, complete, out)?;
    }
    if first {
        out.push(b'{');
    }
    out.push(b'}');
    Some(())
}

/// `"key":`, for keys known to hold no character that needs escaping.
fn write_key(key: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Every scalar at `path` below `text`, as text (numbers and booleans in
/// their JSON spelling), as `oneroster::path::values_at` finds them in a tree.
pub fn strings_at(text: &str, path: Option<&str>, out: &mut Vec<String>) -> Option<()> {
    match (text.as_bytes().first()?, path) {
        (b'[', _) => {
            let items = array_items(text)?;
            items.into_iter().try_for_each(|item| strings_at(item, path, out))
        }
        (b'{', Some(path)) => {
            let entries = object_entries(text)?;
            let (head, tail) = step(path);
            match entries.iter().rev().find(|(k, _)| *k == head) {
                Some((_, child)) => strings_at(child, tail, out),
                None => Some(()),
            }
        }
        (b'{' | b'n', _) => Some(()),
        (b'"', None) => {
            out.push(string(text)?.into_owned());
            Some(())
        }
        (_, None) => {
            out.push(text.to_owned());
            Some(())
        }
        (_, Some(_)) => Some(()),
    }
}

/// A JSON string's value, borrowed unless it holds escapes.
fn string(text: &str) -> Option<Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The first segment of a dotted path and the rest (`None` once used up).
fn step(path: &str) -> (&str, Option<&str>) {
    match path.split_once('.') {
        Some((head, tail)) => (head, Some(tail)),
        None => (path, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: RefDecl = RefDecl {
        path: "roles.org",
        collection: "orgs",
        ref_type: "org",
        with_name: false,
        checked: true,
    };

    fn edited(text: &str, rules: &[Rule<'_>]) -> Option<String> {
        let complete = |r: &RefDecl, id: &str, json: &str, out: &mut Vec<u8>| {
            out.extend_from_slice(format!("<{}:{id}:{json}>", r.ref_type).as_bytes());
        };
        let mut out = Vec::new();
        write(text, rules, &complete, &mut out)?;
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn edits_reach_through_arrays_and_leave_the_rest_as_written() {
        let text =
            r#"{"roles":[{"role":"x","org":{"sourcedId":"o\"1"}},{"org":{"name":"no id"}}],"pw":"s","n":[1, 2]}"#;
        let rules = [
            Rule::at("roles.org", Edit::Complete(&ORG)),
            Rule::at("pw", Edit::Remove),
        ];
        assert_eq!(
            edited(text, &rules).unwrap(),
            r#"{"roles":[{"role":"x","org":<org:o"1:"o\"1">},{"org":{"name":"no id"}}],"n":[1, 2]}"#
        );
    }

    #[test]
    fn flags_become_booleans_and_other_values_stay() {
        let rules = [
            Rule::at("a", Edit::Flag),
            Rule::at("b", Edit::Flag),
            Rule::at("c", Edit::Flag),
        ];
        let out = edited(r#"{"a":"true","b":"no","c":1}"#, &rules).unwrap();
        assert_eq!(out, r#"{"a":true,"b":false,"c":1}"#);
    }

    #[test]
    fn keys_holding_escapes_give_up() {
        assert!(edited(r#"{"p\u0077":"s"}"#, &[Rule::at("pw", Edit::Remove)]).is_none());
        assert_eq!(edited(r#"{"p\u0077":"s"}"#, &[]).as_deref(), Some(r#"{"p\u0077":"s"}"#));
    }

    #[test]
    fn strings_are_found_as_values_at_finds_them() {
        let doc = serde_json::json!({"a": [{"b": "x"}, {"b": 5}, {"b": null}, {"b": {"c": 1}}], "d": true});
        let text = serde_json::to_string(&doc).unwrap();
        for path in ["a.b", "d", "a", "missing.path"] {
            let mut found = Vec::new();
            strings_at(&text, Some(path), &mut found).unwrap();
            assert_eq!(found, oneroster::path::values_at(&doc, path), "{path}");
        }
    }
}
