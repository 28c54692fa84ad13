//! The mass-change guard. A bulk file that lost most of its rows (a failed
//! SIS query, the wrong school's export) looks exactly like a district that
//! deleted those users, and a bulk import would soft-delete them all. So an
//! import that would mark more than a set share of any org's active users
//! `tobedeleted` is refused unless forced.

use std::collections::BTreeMap;

use oneroster::model::user::USERS;
use oneroster::query::{Condition, Filter, ListQuery};
use rollcall_store::{ResourceStore, StoreError};
use serde_json::Value;

use crate::load::Existing;
use crate::report::OrgShare;
use crate::spec::FileKind;

/// The orgs where `deleted` (user ids) exceeds `max_share` of the org's
/// active users, worst first.
pub async fn check(
    store: &dyn ResourceStore,
    existing: &Existing,
    deleted: &[String],
    max_share: f64,
) -> Result<Vec<OrgShare>, StoreError> {
    let mut per_org: BTreeMap<String, u64> = BTreeMap::new();
    for id in deleted {
        let user = existing.value(FileKind::Users, id);
        let roles = user.as_ref().and_then(|u| u.get("roles")).and_then(Value::as_array);
        let mut orgs: Vec<&str> = roles
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("org")?.get("sourcedId")?.as_str())
            .collect();
        orgs.sort_unstable();
        orgs.dedup();
        for org in orgs {
            *per_org.entry(org.to_owned()).or_default() += 1;
        }
    }
    let field = |name| USERS.field(name).expect("declared user field");
    let mut refused = Vec::new();
    for (org, to_be_deleted) in per_org {
        let query = ListQuery {
            limit: 1,
            offset: 0,
            sort: None,
            filter: Some(Filter::And(vec![
                Filter::Cond(Condition::equals(field("roles.org.sourcedId"), org.as_str())),
                Filter::Cond(Condition::equals(field("status"), "active")),
            ])),
            search: None,
            fields: None,
            scope: Vec::new(),
            after: None,
            fingerprint: 0,
        };
        let active = store.list(&USERS, &query).await?.total;
        let share = OrgShare {
            org,
            active,
            to_be_deleted,
        };
        if share.share() > max_share {
            refused.push(share);
        }
    }
    refused.sort_by(|a, b| b.share().total_cmp(&a.share()));
    Ok(refused)
}
