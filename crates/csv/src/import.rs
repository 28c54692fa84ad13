//! The import, in the order that makes it all-or-nothing: read and check the
//! package, load what the store holds, resolve references, plan every write,
//! check unique emails and the mass-change guard, and only then commit.
//!
//! Users are planned and checked first. When they are all new, the store
//! starts writing them while the rest of the package is planned, and the
//! load commits only if the whole package passes (see `write::gated`): on
//! a 1,000,000-user import this hides the other files' planning behind the
//! users' load. Their checks read the store, so they run before the load
//! takes its writer. CPU-heavy steps run on the blocking pool so an async
//! server stays responsive.

use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use oneroster::Timestamp;
use rollcall_store::ResourceStore;

use crate::load::{self, Existing};
use crate::package::Package;
use crate::passwords::{self, Protected};
use crate::plan::{Acc, plan_table};
use crate::problem::Problems;
use crate::read::{self, Parsed};
use crate::report::{ImportError, ImportOptions, ImportReport, Mode, OrgShare};
use crate::spec::FileKind;
use crate::write::{self, ResourceWrites, Tally};
use crate::{guard, refs, unique, users};

/// Imports `package` into `store` (see the crate documentation).
pub async fn import(
    store: &dyn ResourceStore,
    package: Package,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let cap = options.max_problems;
    let delta_only = options.mode == Mode::DeltaOnly;
    let (parsed, problems) = blocking(move || {
        let mut problems = Problems::with_cap(cap);
        let mut parsed = read::read(package, &mut problems);
        parsed.delta_only = delta_only;
        (parsed, problems)
    })
    .await?;
    let existing = load::load(store, &parsed).await.map_err(ImportError::Store)?;
    let protected = passwords::resolve(&parsed, &existing).await?;
    let (parsed, existing) = (Arc::new(parsed), Arc::new(existing));
    let now = Timestamp::new(options.now).to_wire();
    let (p, e, n) = (parsed.clone(), existing.clone(), now.clone());
    let (mut users, mut problems) = blocking(move || plan_users(&p, &e, &protected, &n, problems)).await?;
    let refused = match &users {
        Some(users) => check_users(store, &parsed, &existing, users, &mut problems, options).await?,
        None => Vec::new(),
    };
    let tally = Tally::new(options.progress.as_ref());
    let (p, e) = (parsed.clone(), existing.clone());
    let plan_rest = blocking(move || plan_others(&p, &e, &now, cap));
    let early = match &mut users {
        Some(users) if problems.is_empty() && refused.is_empty() && starts_early(users, options) => {
            std::mem::take(&mut users.inserts)
        }
        _ => Vec::new(),
    };
    let source_system = parsed.manifest.as_ref().and_then(|m| m.source_system_name.clone());
    // Freeing millions of small allocations takes a while: not on this path.
    let release = move || drop(tokio::task::spawn_blocking(move || drop((parsed, existing))));
    let conclude = move |rest: Result<Planned, ImportError>| {
        release();
        conclude(users, merged(rest?, problems), refused, source_system, options)
    };
    if !early.is_empty() {
        let rest = async move { conclude(plan_rest.await) };
        return load_early(store, early, rest, options.batch_size, &tally).await;
    }
    let (report, writes) = conclude(plan_rest.await)?;
    if !options.dry_run {
        write::apply(store, writes, options.batch_size, &tally).await?;
    }
    Ok(report)
}

/// The plan's verdict: every problem, else the mass-change guard's
/// refusal, else the report and the writes (users in their place among the
/// other resources, which reference them or are referenced by them).
fn conclude(
    users: Option<Acc>,
    (mut accs, problems): Planned,
    refused: Vec<OrgShare>,
    source_system: Option<String>,
    options: &ImportOptions,
) -> Result<(ImportReport, Vec<ResourceWrites>), ImportError> {
    reject_on(problems)?;
    if let Some(users) = users {
        let at = accs
            .iter()
            .position(|(k, _)| *k > FileKind::Users)
            .unwrap_or(accs.len());
        accs.insert(at, (FileKind::Users, users));
    }
    let report = ImportReport {
        resources: accs.iter().map(|(k, acc)| (k.decl().collection, acc.counts)).collect(),
        source_system,
        dry_run: options.dry_run,
    };
    if !refused.is_empty() {
        return Err(ImportError::MassDelete {
            orgs: refused,
            max_share: options.max_delete_share,
            report,
        });
    }
    Ok((
        report,
        accs.into_iter().map(|(kind, acc)| to_writes(kind, acc)).collect(),
    ))
}

/// Plans the users, when the package holds any of the three files they
/// are made of. (References are checked with the rest of the package: a
/// user whose roles name an unknown org is planned, and the package
/// rejected once that is found.)
fn plan_users(
    parsed: &Parsed,
    existing: &Existing,
    protected: &Protected,
    now: &str,
    mut problems: Problems,
) -> (Option<Acc>, Problems) {
    let files = [FileKind::Users, FileKind::Roles, FileKind::UserProfiles];
    if files.iter().all(|k| parsed.table(*k).is_none()) {
        return (None, problems);
    }
    let mut users = users::plan(parsed, existing, protected, now, problems.cap());
    problems.merge(std::mem::take(&mut users.problems));
    (Some(users), problems)
}

/// The package's rejection, when anything was found.
fn reject_on(problems: Problems) -> Result<(), ImportError> {
    if problems.is_empty() {
        return Ok(());
    }
    let total = problems.total();
    Err(ImportError::Rejected {
        problems: problems.into_sorted(),
        total,
    })
}

/// The users' checks against the store: unique emails and usernames (into `problems`),
/// and the orgs where the mass-change guard refuses the users' soft deletes
/// (not looked for once there is a problem: a rejection says more).
async fn check_users(
    store: &dyn ResourceStore,
    parsed: &Parsed,
    existing: &Existing,
    users: &Acc,
    problems: &mut Problems,
    options: &ImportOptions,
) -> Result<Vec<OrgShare>, ImportError> {
    unique::check(store, parsed, existing, &users.uniques, problems)
        .await
        .map_err(ImportError::Store)?;
    if options.force || users.deleted.is_empty() || !problems.is_empty() {
        return Ok(Vec::new());
    }
    guard::check(store, existing, &users.deleted, options.max_delete_share)
        .await
        .map_err(ImportError::Store)
}

/// Only new users start early: updates must run before a resource's
/// inserts (an email moving away frees it), and only after the verdict.
fn starts_early(users: &Acc, options: &ImportOptions) -> bool {
    !options.dry_run && users.updates.is_empty() && !users.inserts.is_empty()
}

type Planned = (Vec<(FileKind, Acc)>, Problems);

/// Every reference checked, and every resource file but users planned
/// (with the problems found).
fn plan_others(parsed: &Parsed, existing: &Existing, now: &str, cap: usize) -> Planned {
    let mut problems = Problems::with_cap(cap);
    refs::check(parsed, existing, &mut problems);
    let mut accs = Vec::new();
    for kind in FileKind::ALL
        .into_iter()
        .filter(|k| k.is_resource() && *k != FileKind::Users)
    {
        if let Some(table) = parsed.table(kind) {
            let mut acc = plan_table(parsed, table, existing, now, cap);
            problems.merge(std::mem::take(&mut acc.problems));
            accs.push((kind, acc));
        }
    }
    (accs, problems)
}

/// The rest of the plan, with the problems found before it.
fn merged((accs, more): Planned, mut problems: Problems) -> Planned {
    problems.merge(more);
    (accs, problems)
}

/// Loads the new users (`early`) while the rest of the package is planned
/// (`rest`), in the one transaction that then writes the rest: it commits
/// only if the whole package passes, and is withdrawn otherwise. Only for a
/// package whose users passed every check of their own (problems, emails,
/// the guard).
async fn load_early(
    store: &dyn ResourceStore,
    early: Vec<String>,
    rest: impl Future<Output = Result<(ImportReport, Vec<ResourceWrites>), ImportError>>,
    batch_size: usize,
    tally: &Tally,
) -> Result<ImportReport, ImportError> {
    let (verdict, verdict_rx) = sync_channel(1);
    let steps = write::gated(FileKind::Users.decl(), early, batch_size, tally.clone(), verdict_rx);
    let load = store.apply(steps);
    let rest = async move {
        let mut rest = rest.await;
        // `None` (a rejection) withdraws the users' load.
        let _ = verdict.send(rest.as_mut().ok().map(|(_, writes)| std::mem::take(writes)));
        rest.map(|(report, _)| report)
    };
    let (loaded, report) = futures_util::future::join(load, rest).await;
    let report = report?;
    loaded.map_err(ImportError::Write)?;
    Ok(report)
}

fn to_writes(kind: FileKind, acc: Acc) -> ResourceWrites {
    ResourceWrites {
        decl: kind.decl(),
        inserts: acc.inserts,
        updates: acc.updates,
    }
}

/// Runs CPU-heavy work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImportError::Internal(format!("import worker failed: {e}")))
}
