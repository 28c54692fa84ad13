//! References that point somewhere: a write naming an org, course, class,
//! academic session, user or agent that does not exist is refused (422,
//! naming each reference: `roles[0].org.sourcedId: no org 'x'`), and nothing
//! is written. The references are the declarations' [`RefDecl`]s that are
//! `checked` and point into a declared resource (TimeBack's `resources`
//! are not stored here, so they are not checked).
//!
//! Checked before the write's transaction, in one `get_many` per
//! referenced resource. That is race-safe for what matters: records are
//! never removed through the API, only soft-deleted, so a target seen here
//! still exists when the write commits. A soft-deleted target still exists
//! (it answers GET as `tobedeleted`) and is accepted, as a reference to a
//! record deleted after the write would be.
//!
//! A PUT or a create names every reference it sends; a PATCH only those it
//! adds (references the record already held are not checked again, so a
//! PATCH of a phone number needs no lookups). Bulk loaders that send
//! children before parents turn the check off per request (the server's
//! `Rollcall-Reference-Check: off`, an `admin` privilege); the CSV import
//! checks its package as a whole instead.

use std::collections::{BTreeMap, HashSet};

use oneroster::{RefDecl, ResourceDecl, resource};
use serde_json::Value;

use crate::{Engine, ServiceError};

/// One reference in a record: where it is, what it must point at.
#[derive(Debug, Clone)]
pub struct Named {
    /// The path to the id, with indexes: `roles[0].org.sourcedId`.
    pub at: String,
    pub target: &'static ResourceDecl,
    pub id: String,
}

/// The resource a reference's `collection` (its `href` path) points into.
fn target(reference: &RefDecl) -> Option<&'static ResourceDecl> {
    resource::all()
        .into_iter()
        .find(|d| d.collection == reference.collection || d.path() == reference.collection)
}

/// Every checked reference in `doc` into a declared resource.
pub fn named(decl: &ResourceDecl, doc: &Value) -> Vec<Named> {
    let mut out = Vec::new();
    for reference in decl.refs.iter().filter(|r| r.checked) {
        let Some(target) = target(reference) else { continue };
        let segments: Vec<&str> = reference.path.split('.').collect();
        walk(doc, &segments, String::new(), &mut |at, node| {
            if let Some(id) = node.get("sourcedId").and_then(Value::as_str) {
                out.push(Named {
                    at: format!("{at}.sourcedId"),
                    target,
                    id: id.to_owned(),
                });
            }
        });
    }
    out
}

/// Calls `found` on each value at `segments` below `node`, with its path;
/// arrays on the way (and at the end) are walked with their indexes.
fn walk(node: &Value, segments: &[&str], at: String, found: &mut dyn FnMut(&str, &Value)) {
    if let Value::Array(items) = node {
        for (i, item) in items.iter().enumerate() {
            walk(item, segments, format!("{at}[{i}]"), found);
        }
        return;
    }
    match segments.split_first() {
        None => found(&at, node),
        Some((head, rest)) => {
            if let Some(child) = node.get(*head) {
                let at = if at.is_empty() {
                    (*head).to_owned()
                } else {
                    format!("{at}.{head}")
                };
                walk(child, rest, at, found);
            }
        }
    }
}

impl Engine {
    /// Refuses `doc` if a reference it adds to `before` (the stored record,
    /// for a PATCH) names no stored record (see the module documentation).
    pub(crate) async fn check_references(
        &self,
        decl: &'static ResourceDecl,
        doc: &Value,
        before: Option<&Value>,
    ) -> Result<(), ServiceError> {
        if !self.checks_references() {
            return Ok(());
        }
        let held: HashSet<(&str, String)> = before
            .map(|b| {
                named(decl, b)
                    .into_iter()
                    .map(|n| (n.target.collection, n.id))
                    .collect()
            })
            .unwrap_or_default();
        let added = named(decl, doc)
            .into_iter()
            .filter(|n| !held.contains(&(n.target.collection, n.id.clone())))
            .collect();
        refuse(self.missing(added, &HashSet::new()).await?)
    }

    /// The references in `wanted` that name no stored record and none of
    /// `written` (the (collection, sourcedId) of records written with them).
    pub(crate) async fn missing(
        &self,
        wanted: Vec<Named>,
        written: &HashSet<(&str, String)>,
    ) -> Result<Vec<Named>, ServiceError> {
        let mut by_target: BTreeMap<&str, (&'static ResourceDecl, Vec<String>)> = BTreeMap::new();
        for n in wanted
            .iter()
            .filter(|n| !written.contains(&(n.target.collection, n.id.clone())))
        {
            let entry = by_target.entry(n.target.collection).or_insert((n.target, Vec::new()));
            if !entry.1.contains(&n.id) {
                entry.1.push(n.id.clone());
            }
        }
        let mut found: HashSet<(&str, String)> = HashSet::new();
        for (collection, (target, ids)) in by_target {
            for doc in self.store().get_many(target, ids).await? {
                if let Some(id) = doc.get("sourcedId").and_then(Value::as_str) {
                    found.insert((collection, id.to_owned()));
                }
            }
        }
        Ok(wanted
            .into_iter()
            .filter(|n| {
                let key = (n.target.collection, n.id.clone());
                !written.contains(&key) && !found.contains(&key)
            })
            .collect())
    }
}

/// 422 naming every missing reference, or nothing.
pub(crate) fn refuse(missing: Vec<Named>) -> Result<(), ServiceError> {
    if missing.is_empty() {
        return Ok(());
    }
    let each: Vec<String> = missing
        .iter()
        .map(|n| format!("{}: no {} '{}'", n.at, n.target.singular, n.id))
        .collect();
    Err(ServiceError::Invalid(each.join("; ")))
}

#[cfg(test)]
mod tests {
    use oneroster::model::{class::CLASSES, org::ORGS, user::USERS};
    use serde_json::json;

    use super::*;

    #[test]
    fn references_are_named_by_their_path_with_indexes() {
        let user = json!({
            "roles": [{"org": {"sourcedId": "o1"}}, {"org": {"sourcedId": "o2"}}],
            "primaryOrg": {"sourcedId": "o1"},
            "agents": [{"sourcedId": "u9"}],
            "resources": [{"sourcedId": "r1"}],
        });
        let at: Vec<(String, &str, String)> = named(&USERS, &user)
            .into_iter()
            .map(|n| (n.at, n.target.collection, n.id))
            .collect();
        assert_eq!(
            at,
            [
                ("roles[0].org.sourcedId".into(), "orgs", "o1".into()),
                ("roles[1].org.sourcedId".into(), "orgs", "o2".into()),
                ("primaryOrg.sourcedId".into(), "orgs", "o1".into()),
                ("agents[0].sourcedId".into(), "users", "u9".into()),
            ]
        );
        let class = json!({"terms": [{"sourcedId": "t1"}], "course": {"sourcedId": "c1"}});
        let at: Vec<String> = named(&CLASSES, &class).into_iter().map(|n| n.at).collect();
        assert_eq!(at, ["course.sourcedId", "terms[0].sourcedId"]);
    }

    #[test]
    fn an_orgs_children_are_not_checked_its_parent_is() {
        let org = json!({"parent": {"sourcedId": "d1"}, "children": [{"sourcedId": "s1"}]});
        let at: Vec<String> = named(&ORGS, &org).into_iter().map(|n| n.at).collect();
        assert_eq!(at, ["parent.sourcedId"]);
    }
}
