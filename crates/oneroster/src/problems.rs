//! Every problem of a record at once. A declaration's `normalize` stops at
//! the first thing it dislikes, so a client fixing a body learns one field
//! per round trip. [`collect`] keeps asking `normalize` itself (the one
//! source of truth, no second set of rules to drift): it notes the problem
//! and its JSON path, puts a placeholder the model accepts at that path, and
//! asks again, until the record passes or nothing more can be learnt.
//! Placeholders are never reported and never stored: they only let the
//! model look past a problem already noted.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::resource::ModelError;

/// One problem of a body: where (a JSON path such as `roles[0].role`,
/// relative to the record; empty for the record as a whole) and what rule
/// it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    /// The same problem seen from an outer document: `user` + `roles[0]`
    /// is `user.roles[0]`, `users[3]` + `` is `users[3]`.
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = match (prefix.is_empty(), self.path.is_empty()) {
            (true, _) => self.path,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{}", self.path),
        };
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The most problems one record reports: past that the client has plenty
/// to fix, and each one costs further trial runs of the model.
pub const MAX_PROBLEMS: usize = 50;

/// Trial runs of the model one record may cost, placeholders included.
const BUDGET: usize = 2_000;

/// How deep a placeholder may itself need placeholders (`roles` → a role →
/// its `org`).
const DEPTH: usize = 4;

/// Every problem `normalize` finds in `record` (empty when it passes).
/// The first is always the error `normalize` gives on its own.
pub fn collect(normalize: fn(Value) -> Result<Value, ModelError>, record: Value) -> Vec<Problem> {
    let mut trial = Trial {
        normalize,
        budget: BUDGET,
    };
    let mut probe = record;
    let mut problems: Vec<Problem> = Vec::new();
    while problems.len() < MAX_PROBLEMS {
        let Outcome::Failed(found) = trial.run(&probe) else {
            break;
        };
        let repeated = problems.iter().any(|p| p.path == found.problem.path);
        if !repeated {
            problems.push(found.problem.clone());
        }
        if repeated || found.at.is_none() || !trial.fill(&mut probe, &found, 0) {
            break;
        }
    }
    problems
}

/// A failed run: the problem as reported, and its path as segments
/// (`None` when the message names no path we can find in the record).
#[derive(Clone)]
struct Found {
    problem: Problem,
    at: Option<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// What one trial run of the model gave.
enum Outcome {
    Passed,
    Failed(Found),
    /// The budget is spent: stop looking.
    Spent,
}

struct Trial {
    normalize: fn(Value) -> Result<Value, ModelError>,
    budget: usize,
}

impl Trial {
    fn run(&mut self, probe: &Value) -> Outcome {
        let Some(left) = self.budget.checked_sub(1) else {
            return Outcome::Spent;
        };
        self.budget = left;
        match (self.normalize)(probe.clone()) {
            Ok(_) => Outcome::Passed,
            Err(e) => Outcome::Failed(locate(&e.0, probe)),
        }
    }

    /// Puts a placeholder at `found`'s path that moves the model's
    /// complaint elsewhere (placeholders of its own inside, if need be).
    /// A complaint that names the values it expects adds the first of
    /// them to the candidates.
    fn fill(&mut self, probe: &mut Value, found: &Found, depth: usize) -> bool {
        let Some(at) = &found.at else {
            return false;
        };
        let mut queue: VecDeque<Value> = candidates(&found.problem.message).into();
        let mut tried: Vec<Value> = Vec::new();
        while let Some(candidate) = queue.pop_front() {
            if tried.contains(&candidate) {
                continue;
            }
            tried.push(candidate.clone());
            if !set_at(probe, at, candidate) {
                return false;
            }
            loop {
                let next = match self.run(probe) {
                    Outcome::Passed => return true,
                    Outcome::Spent => return false,
                    Outcome::Failed(next) => next,
                };
                let Some(next_at) = next.at.as_ref().filter(|p| p.starts_with(at)) else {
                    return true;
                };
                if next_at.len() == at.len() {
                    if let Some(hint) = offered(&next.problem.message) {
                        queue.push_front(Value::from(hint));
                    }
                    break;
                }
                if depth >= DEPTH || !self.fill(probe, &next, depth + 1) {
                    break;
                }
            }
        }
        false
    }
}

/// Values the model may accept where it refused one: the first value a
/// vocabulary's message offers, then one of each JSON shape the models use.
fn candidates(message: &str) -> Vec<Value> {
    let mut out: Vec<Value> = offered(message).into_iter().map(Value::from).collect();
    out.extend([
        json!("x"),
        json!("ext:x"),
        json!("true"),
        json!("2026-01-01"),
        json!("2026-01-01T00:00:00.000Z"),
        json!(1),
        json!({ "sourcedId": "x" }),
        json!([{}]),
        json!({}),
        json!([]),
    ]);
    out
}

/// The first value an "expected one of …" message lists (serde's
/// `` `primary` `` or a vocabulary's bare `aide, counselor, …`).
fn offered(message: &str) -> Option<String> {
    let (_, list) = message.split_once("expected ")?;
    let list = list.strip_prefix("one of ").unwrap_or(list);
    let first = list.split([',', ' ']).next()?.trim_matches(['`', '\'']);
    let plain = !first.is_empty() && first.chars().all(|c| c.is_ascii_alphanumeric() || "_-:".contains(c));
    plain.then(|| first.to_owned())
}

/// Splits a model error into its path and rule. Messages read
/// `path: rule` (`roles[0].role: unknown …`) or just the rule; serde's
/// "missing field `x`" is reported at the field, as "required".
fn locate(message: &str, probe: &Value) -> Found {
    let (mut at, rule) = match message.split_once(": ") {
        Some((path, rule)) => match parse_path(path).filter(|p| reaches(probe, p)) {
            Some(at) => (Some(at), rule),
            None => (Some(Vec::new()), message),
        },
        None => (Some(Vec::new()), message),
    };
    let missing = rule.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`'));
    let rule = match (missing, at.as_mut()) {
        (Some(field), Some(at)) => {
            at.push(Segment::Key(field.to_owned()));
            "required, but missing".to_owned()
        }
        _ => rule.to_owned(),
    };
    if at.as_ref().is_some_and(Vec::is_empty) {
        at = None;
    }
    let path = at.as_deref().map(display).unwrap_or_default();
    Found {
        problem: Problem { path, message: rule },
        at,
    }
}

/// `roles[0].org` as segments; `None` for anything else (prose).
fn parse_path(text: &str) -> Option<Vec<Segment>> {
    let mut out = Vec::new();
    for piece in text.split('.') {
        let (key, mut rest) = piece.split_once('[').map_or((piece, ""), |(k, r)| (k, r));
        let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
        if !key_ok {
            return None;
        }
        out.push(Segment::Key(key.to_owned()));
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            out.push(Segment::Index(index.parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return None;
            }
        }
    }
    Some(out)
}

/// Whether the record holds the path's parent (a path the model found,
/// not words of a message that happen to look like one).
fn reaches(probe: &Value, path: &[Segment]) -> bool {
    let parent = &path[..path.len().saturating_sub(1)];
    let mut node = probe;
    for segment in parent {
        node = match (segment, node) {
            (Segment::Key(k), Value::Object(m)) => match m.get(k) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Index(i), Value::Array(a)) => match a.get(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    matches!(
        (path.last(), node),
        (Some(Segment::Key(_)), Value::Object(_)) | (Some(Segment::Index(_)), Value::Array(_))
    )
}

/// Sets the value at `path`, whose parent exists; false if it does not.
fn set_at(probe: &mut Value, path: &[Segment], value: Value) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut node = probe;
    for segment in parent {
        node = match (segment, node) {
            (Segment::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Key(k), Value::Object(m)) => {
            m.insert(k.clone(), value);
            true
        }
        (Segment::Index(i), Value::Array(a)) if *i < a.len() => {
            a[*i] = value;
            true
        }
        _ => false,
    }
}

fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) if out.is_empty() => out.push_str(k),
            Segment::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A record's problems as one message, for errors that carry only text.
pub fn describe(problems: &[Problem]) -> String {
    problems.iter().map(Problem::to_string).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::user::USERS;

    fn stamped(mut record: Value) -> Value {
        record["sourcedId"] = "u1".into();
        record["status"] = "active".into();
        record["dateLastModified"] = "2026-01-01T00:00:00.000Z".into();
        record
    }

    fn paths(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.path.as_str()).collect()
    }

    #[test]
    fn an_empty_user_lists_every_required_field() {
        let problems = collect(USERS.normalize, stamped(json!({})));
        assert_eq!(paths(&problems), ["enabledUser", "givenName", "familyName", "roles"]);
        assert!(
            problems.iter().all(|p| p.message == "required, but missing"),
            "{problems:?}"
        );
    }

    #[test]
    fn problems_inside_arrays_name_the_element() {
        let user = json!({ "enabledUser": "maybe", "givenName": "Ada", "familyName": 5,
            "roles": [{ "roleType": "primary", "role": "pupil", "org": { "sourcedId": "o" } },
                      { "role": "teacher", "org": { "sourcedId": "o" } }] });
        let problems = collect(USERS.normalize, stamped(user));
        assert_eq!(
            paths(&problems),
            ["enabledUser", "familyName", "roles[0].role", "roles[1].roleType"]
        );
        assert!(
            problems[2].message.starts_with("unknown RoleName 'pupil'"),
            "{problems:?}"
        );
    }

    #[test]
    fn rules_across_fields_come_after_the_field_problems() {
        let user = json!({ "enabledUser": "x", "givenName": " ", "familyName": "L",
            "roles": [{ "roleType": "primary", "role": "student", "org": { "sourcedId": "o" } }] });
        let problems = collect(USERS.normalize, stamped(user));
        assert_eq!(paths(&problems), ["enabledUser", ""]);
        assert_eq!(problems[1].message, "givenName and familyName must not be blank");
    }

    #[test]
    fn a_valid_record_has_no_problems() {
        let user = json!({ "enabledUser": true, "givenName": "A", "familyName": "L",
            "roles": [{ "roleType": "primary", "role": "student", "org": { "sourcedId": "o" } }] });
        assert!(collect(USERS.normalize, stamped(user)).is_empty());
    }

    #[test]
    fn paths_parse_and_print_back() {
        for text in ["roles[0].role", "userProfiles[1].credentials[0].password", "givenName"] {
            assert_eq!(display(&parse_path(text).unwrap()), text);
        }
        for prose in ["givenName and familyName must not be blank", "a[x]", "a]"] {
            assert!(parse_path(prose).is_none(), "{prose}");
        }
        assert_eq!(
            offered("unknown variant `x`, expected `primary` or `secondary`").as_deref(),
            Some("primary")
        );
        assert_eq!(
            offered("unknown RoleName 'x', expected one of aide, counselor").as_deref(),
            Some("aide")
        );
    }
}
