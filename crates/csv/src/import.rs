//! The import, in the order that makes it all-or-nothing: read and check the
//! package, load what the store holds, resolve references, plan every write,
//! check unique emails and the mass-change guard, and only then write.
//! CPU-heavy steps run on the blocking pool so an async server stays responsive.

use std::sync::Arc;

use oneroster::Timestamp;
use rollcall_store::ResourceStore;

use crate::load;
use crate::package::Package;
use crate::plan::{Acc, plan_table};
use crate::problem::Problems;
use crate::read;
use crate::report::{ImportError, ImportOptions, ImportReport, Mode};
use crate::spec::FileKind;
use crate::write::{self, Writes};
use crate::{emails, guard, passwords, refs, users};

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
    let passwords = passwords::resolve(&parsed, &existing).await?;
    let (parsed, existing) = (Arc::new(parsed), Arc::new(existing));
    let now = Timestamp::new(options.now).to_wire();
    let (p, e) = (parsed.clone(), existing.clone());
    let (accs, mut problems) = blocking(move || {
        let mut problems = problems;
        refs::check(&p, &e, &mut problems);
        let mut accs = Vec::new();
        for kind in FileKind::ALL.into_iter().filter(|k| k.is_resource()) {
            let acc = match (kind, p.table(kind)) {
                (FileKind::Users, _)
                    if [FileKind::Users, FileKind::Roles, FileKind::UserProfiles]
                        .iter()
                        .any(|k| p.table(*k).is_some()) =>
                {
                    users::plan(&p, &e, &passwords, &now, cap)
                }
                (FileKind::Users, _) | (_, None) => continue,
                (_, Some(table)) => plan_table(&p, table, &e, &now, cap),
            };
            accs.push((kind, acc));
        }
        for (_, acc) in &mut accs {
            problems.merge(std::mem::take(&mut acc.problems));
        }
        (accs, problems)
    })
    .await?;
    if let Some((_, users)) = accs.iter().find(|(k, _)| *k == FileKind::Users) {
        emails::check(store, &parsed, &existing, &users.emails, &mut problems)
            .await
            .map_err(ImportError::Store)?;
    }
    if !problems.is_empty() {
        let total = problems.total();
        return Err(ImportError::Rejected {
            problems: problems.into_sorted(),
            total,
        });
    }
    let report = ImportReport {
        resources: accs.iter().map(|(k, acc)| (k.decl().collection, acc.counts)).collect(),
        source_system: parsed.manifest.as_ref().and_then(|m| m.source_system_name.clone()),
        dry_run: options.dry_run,
    };
    let deleted: Vec<String> = accs.iter().flat_map(|(_, acc)| acc.deleted.iter().cloned()).collect();
    if !options.force && !deleted.is_empty() {
        let orgs = guard::check(store, &existing, &deleted, options.max_delete_share)
            .await
            .map_err(ImportError::Store)?;
        if !orgs.is_empty() {
            return Err(ImportError::MassDelete {
                orgs,
                max_share: options.max_delete_share,
                report,
            });
        }
    }
    // Freeing millions of small allocations takes a while: not on this path.
    tokio::task::spawn_blocking(move || drop((parsed, existing)));
    if !options.dry_run {
        let writes = accs.into_iter().map(|(kind, acc): (FileKind, Acc)| Writes {
            decl: kind.decl(),
            inserts: acc.inserts,
            updates: acc.updates,
        });
        write::apply(store, writes.collect(), options.batch_size, options.progress.as_ref()).await?;
    }
    Ok(report)
}

/// Runs CPU-heavy work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ImportError::Internal(format!("import worker failed: {e}")))
}
