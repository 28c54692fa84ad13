//! Which changes a subscription receives: its resource types, its
//! operations, and an optional OneRoster filter evaluated in memory against
//! the changed record, with the meaning the list endpoints give it
//! (`store::sql`): a multi-valued field matches when any element does
//! (`!=`: when none equals), `~` is a case-insensitive substring, an absent
//! scalar is unequal to everything, values compare as text (date-times in
//! their stored form, so `>` and `<` order them).

use oneroster::filter::{FilterValue, Op};
use oneroster::query::{Condition, Filter, ListQuery};
use oneroster::resource::{self, ResourceDecl};
use rollcall_store::changes::{Change, ChangeOperation};
use serde_json::Value;

/// A subscription's event filter, checked and resolved.
#[derive(Debug, Clone)]
pub struct EventFilter {
    resources: Vec<&'static ResourceDecl>,
    operations: Vec<ChangeOperation>,
    filter: Option<Filter>,
}

impl EventFilter {
    /// Checks the parts as an administrator gave them; the message says
    /// what is wrong (the API answers it with a 400).
    pub fn new(resources: &[String], operations: &[String], filter: Option<&str>) -> Result<Self, String> {
        let resources = resources
            .iter()
            .map(|name| {
                declaration(name).ok_or_else(|| {
                    let known: Vec<&str> = resource::all().iter().map(|d| d.collection).collect();
                    format!("unknown resource type '{name}'; known: {}", known.join(", "))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let operations = operations
            .iter()
            .map(|op| {
                ChangeOperation::parse(op)
                    .ok_or_else(|| format!("unknown operation '{op}'; known: create, update, delete"))
            })
            .collect::<Result<_, _>>()?;
        let filter = filter.map(|f| resolve(&resources, f)).transpose()?;
        Ok(Self {
            resources,
            operations,
            filter,
        })
    }

    /// Whether the change's type and operation are subscribed to (the
    /// filter, which may need the record, is [`EventFilter::admits`]).
    pub fn selects(&self, change: &Change) -> bool {
        let resource_ok =
            self.resources.is_empty() || declaration(&change.resource).is_some_and(|d| self.resources.contains(&d));
        resource_ok && (self.operations.is_empty() || self.operations.contains(&change.operation))
    }

    /// Whether the filter needs the record to decide.
    pub fn has_filter(&self) -> bool {
        self.filter.is_some()
    }

    /// Whether `record` meets the filter (always, without one).
    pub fn admits(&self, record: &Value) -> bool {
        self.filter.as_ref().is_none_or(|f| holds(f, record))
    }
}

/// The declaration a change's or a subscription's resource name names.
pub fn declaration(name: &str) -> Option<&'static ResourceDecl> {
    resource::by_collection(name).or_else(|| resource::all().into_iter().find(|d| d.path() == name))
}

/// A filter names fields of one resource, so it needs exactly one type.
fn resolve(resources: &[&'static ResourceDecl], filter: &str) -> Result<Filter, String> {
    let [decl] = resources else {
        return Err("a filter needs exactly one resource type in 'resources', whose fields it names".into());
    };
    let query = ListQuery::from_pairs(decl, [("filter", filter)]).map_err(|e| e.to_string())?;
    query.filter.ok_or_else(|| "the filter is empty".into())
}

fn holds(filter: &Filter, record: &Value) -> bool {
    match filter {
        Filter::And(items) => items.iter().all(|f| holds(f, record)),
        Filter::Or(items) => items.iter().any(|f| holds(f, record)),
        Filter::Cond(cond) => meets(cond, record),
    }
}

fn meets(cond: &Condition, record: &Value) -> bool {
    let path = match &cond.key {
        Some(key) => format!("{}.{key}", cond.field.name),
        None => cond.field.name.to_owned(),
    };
    let mut values = Vec::new();
    collect(record, &path.split('.').collect::<Vec<_>>(), &mut values);
    match cond.op {
        Op::Ne => !values.iter().any(|v| compare(v, Op::Eq, &cond.value)),
        op => values.iter().any(|v| compare(v, op, &cond.value)),
    }
}

/// The scalar values at `path`, through arrays, as text (JSON booleans
/// and numbers as written).
fn collect(node: &Value, path: &[&str], out: &mut Vec<String>) {
    match (node, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|item| collect(item, path, out)),
        (Value::Object(map), Some((key, rest))) => {
            if let Some(next) = map.get(*key) {
                collect(next, rest, out);
            }
        }
        (Value::String(s), None) => out.push(s.clone()),
        (Value::Bool(_) | Value::Number(_), None) => out.push(node.to_string()),
        _ => {}
    }
}

fn compare(value: &str, op: Op, wanted: &FilterValue) -> bool {
    let one = match wanted {
        FilterValue::One(s) => s.clone(),
        FilterValue::List(items) => items.join(","),
    };
    match op {
        Op::In => match wanted {
            FilterValue::List(items) => items.iter().any(|i| i == value),
            FilterValue::One(s) => s == value,
        },
        Op::Contains => value.to_lowercase().contains(&one.to_lowercase()),
        Op::Eq => value == one,
        Op::Ne => value != one,
        Op::Gt => value > one.as_str(),
        Op::Ge => value >= one.as_str(),
        Op::Lt => value < one.as_str(),
        Op::Le => value <= one.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn users(filter: &str) -> EventFilter {
        EventFilter::new(&["users".into()], &[], Some(filter)).unwrap()
    }

    #[test]
    fn filters_mean_what_they_mean_on_lists() {
        let ann = json!({"sourcedId": "u1", "givenName": "Ann", "status": "active",
            "dateLastModified": "2026-01-02T00:00:00.000Z",
            "roles": [{"role": "student"}, {"role": "aide"}], "metadata": {"grade": 5}});
        for (filter, expected) in [
            ("givenName='Ann'", true),
            ("givenName='ann'", false),
            ("givenName~'an'", true),
            ("roles.role='aide'", true),
            ("roles.role!='aide'", false),
            ("roles.role!='teacher'", true),
            ("familyName!='X'", true),
            ("familyName='X'", false),
            ("givenName@'Bob,Ann'", true),
            ("dateLastModified>'2026-01-01T00:00:00Z'", true),
            ("dateLastModified<'2026-01-01T00:00:00Z'", false),
            ("metadata.grade='5'", true),
            ("givenName='Bob' OR (status='active' AND roles.role='student')", true),
        ] {
            assert_eq!(users(filter).admits(&ann), expected, "{filter}");
        }
    }

    #[test]
    fn bad_filters_and_names_are_refused_with_a_reason() {
        let refused = |resources: &[&str], operations: &[&str], filter: Option<&str>| {
            let r: Vec<String> = resources.iter().map(|s| (*s).to_owned()).collect();
            let o: Vec<String> = operations.iter().map(|s| (*s).to_owned()).collect();
            EventFilter::new(&r, &o, filter).unwrap_err()
        };
        assert!(refused(&["pupils"], &[], None).contains("unknown resource type 'pupils'"));
        assert!(refused(&["users"], &["upsert"], None).contains("unknown operation 'upsert'"));
        assert!(refused(&[], &[], Some("status='active'")).contains("exactly one resource type"));
        assert!(refused(&["users"], &[], Some("shoeSize='9'")).contains("unknown filter field"));
        assert!(refused(&["users"], &[], Some("givenName=")).contains("invalid filter"));
    }
}
