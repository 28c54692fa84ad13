//! Users are three files in CSV and one record in Rollcall: `users.csv`
//! rows, with `roles.csv` folded into `roles[]` and `userProfiles.csv` into
//! `userProfiles[]`. A bulk roles (or userProfiles) file replaces the list of
//! every user it or users.csv names; a delta one changes entries, matched by
//! (org, role) for roles and by profile id for profiles. Plain-text
//! passwords arrive already hashed (see `passwords`).

use std::collections::{HashMap, HashSet};

use oneroster::model::user::MAX_CREDENTIALS;
use serde_json::{Map, Value};

use crate::load::Existing;
use crate::passwords::{self, Protected};
use crate::plan::{Acc, invalid, keep_stored};
use crate::problem::Problem;
use crate::read::Parsed;
use crate::spec::FileKind;
use crate::table::Row;

struct Ctx<'a> {
    parsed: &'a Parsed,
    existing: &'a Existing,
    protected: &'a Protected,
    roles: HashMap<&'a str, Vec<&'a Row>>,
    profiles: HashMap<&'a str, Vec<&'a Row>>,
    now: &'a str,
}

pub fn plan(parsed: &Parsed, existing: &Existing, protected: &Protected, now: &str, cap: usize) -> Acc {
    let ctx = Ctx {
        parsed,
        existing,
        protected,
        roles: by_owner(parsed, FileKind::Roles),
        profiles: by_owner(parsed, FileKind::UserProfiles),
        now,
    };
    let users = parsed.table(FileKind::Users);
    let mut touched: Vec<&str> = users.map_or(Vec::new(), |t| t.rows.iter().map(Row::id).collect());
    // Owners users.csv does not name (users.csv's own index says which:
    // a set of every id would cost a million inserts for nothing).
    let mut others: HashSet<&str> = HashSet::new();
    for owner in ctx.roles.keys().chain(ctx.profiles.keys()) {
        if users.is_none_or(|t| t.row(owner).is_none()) && others.insert(owner) {
            touched.push(owner);
        }
    }
    let parts = crate::par::map_chunks(&touched, |ids| {
        let mut acc = Acc::new(cap);
        for id in ids {
            plan_user(&ctx, id, &mut acc);
        }
        acc
    });
    let mut acc = Acc::new(cap);
    for part in parts {
        acc.merge(part);
    }
    if let (Some(table), true) = (users, parsed.replaces(FileKind::Users)) {
        acc.delete_absent(FileKind::Users, table, existing, now);
    }
    acc
}

fn by_owner(parsed: &Parsed, kind: FileKind) -> HashMap<&str, Vec<&Row>> {
    let rows = parsed.table(kind).map_or(&[][..], |t| t.rows.as_slice());
    let mut out: HashMap<&str, Vec<&Row>> = HashMap::with_capacity(rows.len());
    for row in rows {
        out.entry(row.owner().unwrap_or_default()).or_default().push(row);
    }
    out
}

fn plan_user(ctx: &Ctx, id: &str, acc: &mut Acc) {
    let users = ctx.parsed.table(FileKind::Users);
    let row = users.and_then(|t| t.row(id));
    let stored = ctx.existing.value(FileKind::Users, id);
    let stored = stored.as_ref();
    let restore = row.zip(users).and_then(|(r, t)| t.restore(r));
    // A Rollcall export lists all of a user's roles and profiles.
    let restoring = restore.is_some();
    if row.is_some_and(|r| r.deleted) && !restoring {
        acc.delete(FileKind::Users, stored, ctx.now);
        return;
    }
    let roles = ctx.roles.get(id).map_or(&[][..], Vec::as_slice);
    let profiles = ctx.profiles.get(id).map_or(&[][..], Vec::as_slice);
    let live_profiles: Vec<&&Row> = profiles.iter().filter(|p| !p.deleted).collect();
    if passwords::over_cap(live_profiles.len()) {
        let reason = format!(
            "user '{id}' has {} userProfiles rows (one credential each): at most {MAX_CREDENTIALS} are allowed per user",
            live_profiles.len()
        );
        let line = live_profiles[MAX_CREDENTIALS].line;
        acc.problems
            .push(Problem::new("userProfiles.csv", "semantic.too_many_credentials", reason).at(line));
        return;
    }
    // Where to report a problem with the user as a whole.
    let (kind, line) = match (row, roles.first(), profiles.first()) {
        (Some(r), _, _) => (FileKind::Users, r.line),
        (None, Some(r), _) => (FileKind::Roles, r.line),
        (None, None, Some(r)) => (FileKind::UserProfiles, r.line),
        (None, None, None) => return,
    };
    let mut doc = match (row.zip(users), stored.and_then(Value::as_object)) {
        (Some((r, table)), _) => {
            let mut doc = passwords::user_fragment(ctx.protected, id).unwrap_or_else(|| table.obj(r));
            keep_stored(&mut doc, stored, &table.metadata);
            doc
        }
        (None, Some(s)) => s.clone(),
        // Roles or profiles of an unknown user: already reported by `refs`.
        (None, None) => return,
    };
    let stored_list = |key: &str| stored.and_then(|s| s.get(key)).and_then(Value::as_array).cloned();
    let old_roles = stored_list("roles").unwrap_or_default();
    let mut new_roles = if ctx.parsed.replaces(FileKind::Roles) || restoring {
        Vec::new()
    } else {
        old_roles.clone()
    };
    let role_table = ctx.parsed.table(FileKind::Roles);
    for r in roles {
        let table = role_table.expect("roles rows come from roles.csv");
        let key = (r.get("orgSourcedId"), r.get("role"));
        let position = new_roles.iter().position(|v| role_key(v) == key);
        let mut role = table.obj(r);
        if let Some(old) = old_roles.iter().find(|v| role_key(v) == key) {
            keep(&mut role, old, "metadata");
        }
        apply(&mut new_roles, position, (!r.deleted).then_some(role));
    }
    if let Some(problem) = check_primary(roles, &new_roles) {
        acc.problems.push(problem);
        return;
    }
    let old_profiles = stored_list("userProfiles").unwrap_or_default();
    let mut new_profiles = if ctx.parsed.replaces(FileKind::UserProfiles) || restoring {
        Vec::new()
    } else {
        old_profiles.clone()
    };
    for p in profiles {
        let table = ctx
            .parsed
            .table(FileKind::UserProfiles)
            .expect("profile rows come from userProfiles.csv");
        let position = new_profiles.iter().position(|v| profile_id(v) == Some(p.id()));
        if p.deleted {
            apply(&mut new_profiles, position, None);
            continue;
        }
        let profile = match passwords::profile_fragment(ctx.protected, p.id()) {
            Some(protected) => protected,
            None => {
                // A row without a password keeps the credential's stored one.
                let mut profile = table.obj(p);
                if let Some(old) = old_profiles.iter().find(|v| profile_id(v) == Some(p.id()))
                    && let (Some(pw), Value::Object(c)) =
                        (old["credentials"][0].get("password"), &mut profile["credentials"][0])
                {
                    c.insert("password".into(), pw.clone());
                }
                profile
            }
        };
        apply(&mut new_profiles, position, Some(profile));
    }
    if let (Some(r), true) = (row, role_table.is_some()) {
        let org = r.get("primaryOrgSourcedId");
        if !org.is_empty() && !new_roles.iter().any(|v| role_key(v).0 == org) {
            let reason = format!("primaryOrgSourcedId '{org}' but the user has no role in that org in roles.csv");
            let problem = Problem::new("users.csv", "semantic.primary_org_missing_role", reason);
            acc.problems.push(problem.at(r.line).column("primaryOrgSourcedId"));
            return;
        }
    }
    doc.insert("roles".into(), Value::Array(new_roles));
    doc.insert("userProfiles".into(), Value::Array(new_profiles));
    if let Some(fields) = restore {
        crate::extension::lay_over(&mut doc, fields);
    }
    if doc.get("roles").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        let reason = format!("user '{id}' has no roles: every user needs at least one roles.csv row");
        acc.problems
            .push(Problem::new(kind.file_name(), "semantic.user_without_roles", reason).at(line));
        return;
    }
    let planned = match restoring {
        false => acc.put(FileKind::Users, doc, stored, ctx.now),
        true => acc.restore(FileKind::Users, doc, stored, ctx.now),
    };
    if let Err(reason) = planned {
        acc.problems.push(invalid(kind, line, &reason));
    }
}

/// Replaces, appends or (with `None`) removes the entry at `position`.
fn apply(list: &mut Vec<Value>, position: Option<usize>, entry: Option<Map<String, Value>>) {
    match (position, entry) {
        (Some(i), Some(e)) => list[i] = Value::Object(e),
        (None, Some(e)) => list.push(Value::Object(e)),
        (Some(i), None) => {
            list.remove(i);
        }
        (None, None) => {}
    }
}

fn keep(into: &mut Map<String, Value>, from: &Value, key: &str) {
    if let (false, Some(v)) = (into.contains_key(key), from.get(key)) {
        into.insert(key.to_owned(), v.clone());
    }
}

/// (org, role) of a stored or converted role: what delta rows match on.
fn role_key(v: &Value) -> (&str, &str) {
    let org = v.get("org").and_then(|o| o.get("sourcedId")).and_then(Value::as_str);
    (
        org.unwrap_or_default(),
        v.get("role").and_then(Value::as_str).unwrap_or_default(),
    )
}

fn profile_id(v: &Value) -> Option<&str> {
    v.get("profileId").and_then(Value::as_str)
}

/// At most one primary role per (user, org), reported on the roles.csv row
/// that makes the second.
fn check_primary(rows: &[&Row], roles: &[Value]) -> Option<Problem> {
    let mut primary: HashMap<&str, usize> = HashMap::new();
    for role in roles
        .iter()
        .filter(|r| r.get("roleType").and_then(Value::as_str) == Some("primary"))
    {
        *primary.entry(role_key(role).0).or_default() += 1;
    }
    let (org, _) = primary.into_iter().find(|(_, n)| *n > 1)?;
    let row = rows
        .iter()
        .rev()
        .find(|r| r.get("roleType") == "primary" && r.get("orgSourcedId") == org)?;
    let reason = format!("a second primary role in org '{org}': a user has at most one primary role per org");
    Some(
        Problem::new("roles.csv", "semantic.multiple_primary_roles_for_user_org", reason)
            .at(row.line)
            .column("roleType"),
    )
}
