//! Export round trips: every valid case, imported, exported (as a folder and
//! as a ZIP) and imported into a fresh store, gives the same records,
//! dateLastModified included; importing the export over the original
//! changes nothing.

mod common;

use common::*;
use rollcall_csv::{Package, export, import};

#[tokio::test]
async fn every_valid_case_round_trips() {
    let mut dirs: Vec<_> = std::fs::read_dir(cases().join("valid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (tmp, original) = store(&format!("{id}-a"));
        import_dir(&original, &dir, &options(1)).await.unwrap();
        let expected = snapshot(&original).await;
        for target in [tmp.path().join("out"), tmp.path().join("out.zip")] {
            let report = export(&original, &target).await.unwrap();
            let users = expected.iter().filter(|(c, _, _)| c == "users").count();
            assert_eq!(
                report.files.get("users.csv").copied().unwrap_or(0),
                users as u64,
                "{id}"
            );

            let (_tmp, copy) = store(&format!("{id}-b"));
            import(&copy, Package::open(&target).unwrap(), &options(2))
                .await
                .unwrap_or_else(|e| panic!("{id}: the export of {} does not import: {e:?}", target.display()));
            assert_eq!(snapshot(&copy).await, expected, "{id}: {}", target.display());

            let again = import(&original, Package::open(&target).unwrap(), &options(3))
                .await
                .unwrap();
            for (collection, counts) in &again.resources {
                assert_eq!(
                    counts.written(),
                    0,
                    "{id}: importing the export over the original rewrote {collection}"
                );
            }
        }
    }
}

#[tokio::test]
async fn an_empty_store_exports_a_manifest_only_package() {
    let (tmp, store) = store("empty");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("users.csv"), "stale").unwrap();
    let report = export(&store, &out).await.unwrap();
    assert!(report.files.is_empty());
    assert!(!out.join("users.csv").exists(), "stale OneRoster files are removed");
    let manifest = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    assert!(manifest.contains("file.users,absent") && manifest.contains("oneroster.version,1.2"));
    import(&store, Package::open(&out).unwrap(), &options(1)).await.unwrap();
}

/// Exports carry password hashes: every file written is owner-only, even
/// one that existed before with wider permissions.
#[cfg(unix)]
#[tokio::test]
async fn exported_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (tmp, store) = store("owner-only");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let zip = tmp.path().join("out.zip");
    std::fs::write(&zip, b"old").unwrap();
    std::fs::set_permissions(&zip, std::fs::Permissions::from_mode(0o644)).unwrap();
    let dir = tmp.path().join("out");
    for dest in [&zip, &dir] {
        export(&store, dest).await.unwrap();
    }
    let mut files = vec![zip];
    files.extend(std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()));
    assert!(files.len() > 2, "{files:?}");
    for file in files {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}
