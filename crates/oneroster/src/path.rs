//! Dotted paths into JSON documents (`roles.org.sourcedId`), walking through
//! arrays so that a path names every matching element ("any element" semantics).

use serde_json::Value;

/// Every scalar value found at `path`, as text (numbers and booleans in
/// their JSON spelling). Arrays met along the way are flattened.
pub fn values_at(doc: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect(doc, Some(path), &mut out);
    out
}

/// The value at a dotted path through objects only (no arrays), if any.
pub fn value_at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |node, key| node.get(key))
}

/// The first segment of what remains of a path, and the rest (`None` once
/// the path is used up). Walking by slices of the path allocates nothing,
/// which matters when every record of a page is walked per reference.
fn step(rest: &str) -> (&str, Option<&str>) {
    match rest.split_once('.') {
        Some((head, tail)) => (head, Some(tail)),
        None => (rest, None),
    }
}

fn collect(node: &Value, rest: Option<&str>, out: &mut Vec<String>) {
    match (node, rest) {
        (Value::Array(items), _) => items.iter().for_each(|i| collect(i, rest, out)),
        (Value::Object(map), Some(rest)) => {
            let (head, tail) = step(rest);
            if let Some(child) = map.get(head) {
                collect(child, tail, out);
            }
        }
        (Value::String(s), None) => out.push(s.clone()),
        (Value::Number(n), None) => out.push(n.to_string()),
        (Value::Bool(b), None) => out.push(b.to_string()),
        _ => {}
    }
}

/// Calls `f` on every object found at `path` (arrays flattened).
pub fn for_each_object(doc: &mut Value, path: &str, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    visit(doc, Some(path), f);
}

fn visit(node: &mut Value, rest: Option<&str>, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match (node, rest) {
        (Value::Array(items), _) => items.iter_mut().for_each(|i| visit(i, rest, f)),
        (Value::Object(map), None) => f(map),
        (Value::Object(map), Some(rest)) => {
            let (head, tail) = step(rest);
            if let Some(child) = map.get_mut(head) {
                visit(child, tail, f);
            }
        }
        _ => {}
    }
}

/// Removes the key at the end of `path` wherever it occurs, keeping the
/// other keys in their order (a plain `remove` swaps the last key into the
/// gap).
pub fn remove_at(doc: &mut Value, path: &str) {
    match path.rsplit_once('.') {
        Some((parent, key)) => for_each_object(doc, parent, &mut |m| {
            m.shift_remove(key);
        }),
        None => {
            if let Value::Object(m) = doc {
                m.shift_remove(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_flatten_arrays() {
        let doc = json!({"roles": [{"role": "teacher", "org": {"sourcedId": "s1"}}, {"role": "aide", "org": {"sourcedId": "s2"}}]});
        assert_eq!(values_at(&doc, "roles.role"), ["teacher", "aide"]);
        assert_eq!(values_at(&doc, "roles.org.sourcedId"), ["s1", "s2"]);
        assert!(values_at(&doc, "roles.missing").is_empty());
        assert!(values_at(&doc, "roles").is_empty(), "objects are not values");
        let flags = json!({"a": {"b": [true, 5, "x"]}});
        assert_eq!(values_at(&flags, "a.b"), ["true", "5", "x"]);
    }

    #[test]
    fn objects_are_visited_through_arrays_at_any_depth() {
        let mut doc = json!({"a": [{"b": {"c": 1}}, {"b": [{"c": 2}, {"d": 3}]}], "e": {}});
        let mut seen = Vec::new();
        for_each_object(&mut doc, "a.b", &mut |m| seen.push(m.len()));
        assert_eq!(seen, [1, 1, 1]);
        let mut top = 0;
        for_each_object(&mut doc, "e", &mut |_| top += 1);
        assert_eq!(top, 1);
    }

    #[test]
    fn remove_nested_keys() {
        let mut doc = json!({"roles": [{"role": "x", "metadata": {}}], "primaryOrg": {"name": "n", "sourcedId": "o"}});
        remove_at(&mut doc, "roles.metadata");
        remove_at(&mut doc, "primaryOrg.name");
        assert_eq!(doc, json!({"roles": [{"role": "x"}], "primaryOrg": {"sourcedId": "o"}}));
    }
}
