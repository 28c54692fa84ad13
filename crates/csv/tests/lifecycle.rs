//! Import semantics over time, on a real SQLite store: bulk marks what it
//! lacks `tobedeleted` (and brings it back), the mass-change guard, dry
//! runs, delta files, delta-only mode, passwords, unique emails.

mod common;

use common::*;
use rollcall_csv::{FileKind, ImportError, ImportOptions, Mode, import};
use rollcall_store::ResourceStore;
use serde_json::Value;

/// The files of a shared case, to edit into new packages.
fn case(id: &str) -> Vec<(String, String)> {
    let dir = cases().join("valid").join(id);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn edit(files: &mut [(String, String)], name: &str, f: impl FnOnce(&str) -> String) {
    let file = files.iter_mut().find(|(n, _)| n == name).unwrap();
    file.1 = f(&file.1);
}

fn without_lines(text: &str, needle: &str) -> String {
    text.lines()
        .filter(|l| !l.contains(needle))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn as_package(files: &[(String, String)]) -> rollcall_csv::Package {
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
    package(&refs)
}

async fn user(store: &impl ResourceStore, id: &str) -> Value {
    store.get(&oneroster::model::user::USERS, id).await.unwrap().unwrap()
}

/// V01 without the guardian user-g1 (and the references to it).
fn v01_without_guardian() -> Vec<(String, String)> {
    let mut files = case("V01");
    edit(&mut files, "users.csv", |t| {
        without_lines(&t.replace(",user-g1,", ",,"), "user-g1,")
    });
    edit(&mut files, "roles.csv", |t| without_lines(t, "user-g1"));
    files
}

#[tokio::test]
async fn bulk_soft_deletes_what_it_lacks_behind_the_guard() {
    let (_tmp, store) = store("bulk");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let before = snapshot(&store).await;

    // One of three users in org-school-1 is 33%: above the 25% default.
    let refused = import(&store, as_package(&v01_without_guardian()), &options(2)).await;
    let Err(ImportError::MassDelete { orgs, report, .. }) = refused else {
        panic!("expected the guard to refuse, got {refused:?}")
    };
    assert_eq!(
        (orgs[0].org.as_str(), orgs[0].active, orgs[0].to_be_deleted),
        ("org-school-1", 3, 1)
    );
    assert!(
        ImportError::MassDelete {
            orgs: orgs.clone(),
            max_share: 0.25,
            report: report.clone()
        }
        .to_string()
        .contains("33%")
    );
    let message = ImportError::MassDelete {
        orgs: orgs.clone(),
        max_share: 0.25,
        report: report.clone(),
    }
    .to_string();
    for flag in [
        "--force",
        "--delta-only",
        "--max-delete-share",
        "mode=deltaOnly",
        "force=true",
    ] {
        assert!(message.contains(flag), "the refusal names {flag}: {message}");
    }
    assert_eq!(report.resources["users"].to_be_deleted, 1);
    assert_eq!(snapshot(&store).await, before, "a refused import writes nothing");

    // A higher threshold, or force, lets it through.
    let lenient = ImportOptions {
        max_delete_share: 0.5,
        ..options(2)
    };
    let report = import(&store, as_package(&v01_without_guardian()), &lenient)
        .await
        .unwrap();
    let users = report.resources["users"];
    assert_eq!(
        (users.created, users.updated, users.unchanged, users.to_be_deleted),
        (0, 1, 1, 1)
    );
    let gone = user(&store, "user-g1").await;
    assert_eq!(gone["status"], "tobedeleted");
    assert_eq!(gone["dateLastModified"], "2026-03-02T12:00:00.000Z");
    assert_eq!(
        user(&store, "user-t1").await["dateLastModified"],
        "2026-03-01T12:00:00.000Z"
    );

    // Back in a later bulk file: active again.
    let report = import_dir(&store, &cases().join("valid/V01"), &options(3))
        .await
        .unwrap();
    assert_eq!(report.resources["users"].updated, 2);
    assert_eq!(user(&store, "user-g1").await["status"], "active");
}

#[tokio::test]
async fn force_overrides_the_guard_and_delta_only_never_deletes() {
    let (_tmp, store) = store("force");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let delta_only = ImportOptions {
        mode: Mode::DeltaOnly,
        ..options(2)
    };
    let report = import(&store, as_package(&v01_without_guardian()), &delta_only)
        .await
        .unwrap();
    assert_eq!(report.resources["users"].to_be_deleted, 0);
    assert_eq!(user(&store, "user-g1").await["status"], "active");
    let forced = ImportOptions {
        force: true,
        ..options(3)
    };
    import(&store, as_package(&v01_without_guardian()), &forced)
        .await
        .unwrap();
    assert_eq!(user(&store, "user-g1").await["status"], "tobedeleted");
}

#[tokio::test]
async fn dry_run_reports_and_writes_nothing() {
    let (_tmp, store) = store("dry");
    let dry = ImportOptions {
        dry_run: true,
        ..options(1)
    };
    let report = import_dir(&store, &cases().join("valid/V01"), &dry).await.unwrap();
    assert!(report.dry_run);
    assert_eq!(report.resources["users"].created, 3);
    assert!(snapshot(&store).await.is_empty());
}

#[tokio::test]
async fn delta_files_change_create_and_delete_against_the_store() {
    let (_tmp, store) = store("delta");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let stamp = "2026-03-02T08:00:00.000Z";
    let modes = [("users", "delta"), ("roles", "delta"), ("enrollments", "delta")];
    let users = format!(
        "{}user-s1,active,{stamp},true,asmith,,Alexandra,Smith,,S2001,asmith@example.edu,,,,10,,,,,,org-school-1,\n\
         user-n1,active,{stamp},true,newbie,,New,Kid,,,new@example.edu,,,,,,,,,,org-school-1,\n",
        FileKind::Users.header()
    );
    let roles = format!(
        "{}role-n1,active,{stamp},user-n1,primary,student,,,org-school-1,\n\
         role-s2,active,{stamp},user-s1,secondary,student,,,org-district-1,\n",
        FileKind::Roles.header()
    );
    let enrollments = format!(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
         enr-n1,active,{stamp},class-alg1-p1,org-school-1,user-n1,student,,,\n\
         enr-s1,tobedeleted,{stamp},class-alg1-p1,org-school-1,user-s1,student,,,\n"
    );
    let package = package(&[
        ("manifest.csv", &manifest(&modes)),
        ("users.csv", &users),
        ("roles.csv", &roles),
        ("enrollments.csv", &enrollments),
    ]);
    let report = import(&store, package, &options(2)).await.unwrap();
    let (u, e) = (report.resources["users"], report.resources["enrollments"]);
    assert_eq!((u.created, u.updated, u.to_be_deleted), (1, 1, 0));
    assert_eq!((e.created, e.to_be_deleted), (1, 1));
    let s1 = user(&store, "user-s1").await;
    assert_eq!(s1["givenName"], "Alexandra");
    assert_eq!(s1["grades"], serde_json::json!(["10"]));
    assert_eq!(
        s1["roles"].as_array().unwrap().len(),
        2,
        "delta roles add to the stored ones"
    );
    let enrollments = snapshot(&store).await;
    let status = |id: &str| enrollments.iter().find(|(_, i, _)| i == id).unwrap().2["status"].clone();
    assert_eq!(status("enr-s1"), "tobedeleted");
    assert_eq!(status("enr-n1"), "active");

    // A tobedeleted roles.csv row removes that role (matched by org and role).
    let gone = roles.replace("role-s2,active", "role-s2,tobedeleted").replace(
        &format!("role-n1,active,{stamp},user-n1,primary,student,,,org-school-1,\n"),
        "",
    );
    let package = package_of(&[("roles", "delta")], &[("roles.csv", &gone)]);
    let report = import(&store, package, &options(3)).await.unwrap();
    assert_eq!(report.resources["users"].updated, 1);
    assert_eq!(user(&store, "user-s1").await["roles"].as_array().unwrap().len(), 1);

    // Delta references resolve against the store; unknown ones are errors.
    let dangling = format!(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n\
         enr-x,active,{stamp},class-alg1-p1,org-school-1,user-nobody,student,,,\n"
    );
    let package = package_of(&[("enrollments", "delta")], &[("enrollments.csv", &dangling)]);
    let found = rejected(import(&store, package, &options(3)).await);
    assert!(found.iter().any(|p| p.rule == "reference.missing_target_record"
        && p.column.as_deref() == Some("userSourcedId")
        && p.line == Some(2)));
}

fn package_of(modes: &[(&str, &str)], files: &[(&str, &str)]) -> rollcall_csv::Package {
    let manifest = manifest(modes);
    let mut all = vec![("manifest.csv", manifest.as_str())];
    all.extend_from_slice(files);
    package(&all)
}

#[tokio::test]
async fn passwords_are_hashed_kept_and_never_exported() {
    let (tmp, store) = store("passwords");
    let mut files = case("V01");
    edit(&mut files, "users.csv", |t| {
        t.replace("tjones@example.edu,,,,,,", "tjones@example.edu,,,,,s3cret,")
    });
    edit(&mut files, "userProfiles.csv", |t| {
        t.replace("tjones.lms,", "tjones.lms,lms-pass")
    });
    import(&store, as_package(&files), &options(1)).await.unwrap();
    let t1 = user(&store, "user-t1").await;
    let hash = t1["password"].as_str().unwrap().to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let profile_hash = t1["userProfiles"][0]["credentials"][0]["password"].as_str().unwrap();
    assert!(profile_hash.starts_with("$argon2id$"));
    assert!(!t1.to_string().contains("s3cret") && !t1.to_string().contains("lms-pass"));

    // The same package again: same password, so the stored hash stays.
    let report = import(&store, as_package(&files), &options(2)).await.unwrap();
    assert_eq!(report.resources["users"].written(), 0);
    // A file without passwords keeps the stored ones.
    import_dir(&store, &cases().join("valid/V01"), &options(3))
        .await
        .unwrap();
    assert_eq!(user(&store, "user-t1").await["password"], hash.as_str());

    let out = tmp.path().join("export");
    rollcall_csv::export(&store, &out).await.unwrap();
    let users_csv = std::fs::read_to_string(out.join("users.csv")).unwrap();
    assert!(!users_csv.contains("s3cret"), "never a password in clear");
    let row = users_csv.lines().find(|l| l.starts_with("user-t1,")).unwrap();
    assert!(row.contains("argon2id"), "the hash travels in metadata.rollcall: {row}");
    // The export restores the hashes, so the passwords still verify.
    let (_tmp, copy) = common::store("passwords-copy");
    import_dir(&copy, &out, &options(4)).await.unwrap();
    assert_eq!(user(&copy, "user-t1").await, user(&store, "user-t1").await);
}

#[tokio::test]
async fn emails_taken_in_the_store_are_rejected_before_writing() {
    let (_tmp, store) = store("emails");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let stamp = "2026-03-02T08:00:00.000Z";
    let header = FileKind::Users.header();
    let users = format!("{header}user-x,active,{stamp},true,x,,X,Y,,,TJONES@example.edu,,,,,,,,,,,\n");
    let roles = format!(
        "{}role-x,active,{stamp},user-x,primary,student,,,org-school-1,\n",
        FileKind::Roles.header()
    );
    let package = package_of(
        &[("users", "delta"), ("roles", "delta")],
        &[("users.csv", &users), ("roles.csv", &roles)],
    );
    let found = rejected(import(&store, package, &options(2)).await);
    assert!(
        found.iter().any(|p| p.rule == "store.email_taken" && p.line == Some(2)),
        "{found:?}"
    );
}

/// Usernames are unique as emails are: one a stored user holds (under the
/// key) and one two rows of the package share are both reported, nothing
/// written.
#[tokio::test]
async fn usernames_taken_in_the_store_or_the_package_are_rejected_before_writing() {
    let (_tmp, store) = store("usernames");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let stamp = "2026-03-02T08:00:00.000Z";
    let header = FileKind::Users.header();
    let row = |id: &str, username: &str| format!("{id},active,{stamp},true,{username},,X,Y,,,{id}@x.org,,,,,,,,,,,\n");
    let role = |id: &str| format!("role-{id},active,{stamp},{id},primary,student,,,org-school-1,\n");
    let users = format!(
        "{header}{}{}{}",
        row("user-x", "TJones "),
        row("user-y", "new.name"),
        row("user-z", "NEW.NAME"),
    );
    let roles = format!(
        "{}{}{}{}",
        FileKind::Roles.header(),
        role("user-x"),
        role("user-y"),
        role("user-z")
    );
    let package = package_of(
        &[("users", "delta"), ("roles", "delta")],
        &[("users.csv", &users), ("roles.csv", &roles)],
    );
    let found = rejected(import(&store, package, &options(2)).await);
    for (rule, line) in [("store.username_taken", 2), ("semantic.duplicate_username", 4)] {
        assert!(
            found
                .iter()
                .any(|p| p.rule == rule && p.line == Some(line) && p.column.as_deref() == Some("username")),
            "no {rule} on line {line}: {found:?}"
        );
    }
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        store
            .get(&oneroster::model::user::USERS, "user-y")
            .await
            .unwrap()
            .is_none()
    );
}

/// The server can run an import inside a request handler or a spawned task.
#[test]
fn the_import_future_is_send() {
    fn send<T: Send>(_: T) {}
    let (_tmp, store) = store("send");
    send(import(&store, rollcall_csv::Package::default(), &options(1)));
    send(rollcall_csv::export(&store, std::path::Path::new("unused")));
}

#[tokio::test]
async fn progress_is_reported_up_to_every_record_written() {
    use std::sync::{Arc, Mutex};
    let (_tmp, store) = store("progress");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = ImportOptions {
        batch_size: 2,
        progress: Some(rollcall_csv::Progress(Arc::new(move |written, total| {
            sink.lock().unwrap().push((written, total))
        }))),
        ..options(1)
    };
    let report = import_dir(&store, &cases().join("valid/V01"), &options).await.unwrap();
    let written: u64 = report.resources.values().map(|c| c.written()).sum();
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 1, "reported once per batch: {seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress only moves forward: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&(written, written)), "{seen:?}");
}

/// The import compares emails on the key the store's unique index covers
/// (trimmed, Unicode-normalised, case-folded), within the package and
/// against stored users, whether it scans the users (bulk) or looks the
/// keys up (delta): otherwise a pair the store refuses would pass the check
/// and fail the write, or a pair the store holds would block every import.
#[tokio::test]
async fn emails_are_compared_on_the_stores_key() {
    let (_tmp, store) = store("email-keys");
    import_dir(&store, &cases().join("valid/V01"), &options(1))
        .await
        .unwrap();
    let users_decl = &oneroster::model::user::USERS;
    for (id, email) in [("api-a", "STRAßE@x.org"), ("api-b", "jose\u{301}@x.org")] {
        let mut doc = user(&store, "user-t1").await;
        doc["sourcedId"] = id.into();
        doc["email"] = email.into();
        doc["username"] = id.into();
        store.insert(users_decl, doc).await.unwrap();
    }
    let stamp = "2026-03-02T08:00:00.000Z";
    let header = FileKind::Users.header();
    let row = |id: &str, email: &str| format!("{id},active,{stamp},true,{id},,X,Y,,,{email},,,,,,,,,,,\n");
    let role = |id: &str| format!("role-{id},active,{stamp},{id},primary,student,,,org-school-1,\n");
    let roles_header = FileKind::Roles.header();
    let users = format!(
        "{header}{}{}{}{}",
        row("user-x", "strasse@x.org"),
        row("user-y", "JOS\u{c9}@x.org"),
        row("user-z", "zoë@x.org"),
        row("user-w", "ZOE\u{308}@X.ORG"),
    );
    let roles = format!(
        "{roles_header}{}{}{}{}",
        role("user-x"),
        role("user-y"),
        role("user-z"),
        role("user-w")
    );
    let package = package_of(
        &[("users", "delta"), ("roles", "delta")],
        &[("users.csv", &users), ("roles.csv", &roles)],
    );
    let found = rejected(import(&store, package, &options(2)).await);
    for (rule, line) in [
        ("store.email_taken", 2),
        ("store.email_taken", 3),
        ("semantic.duplicate_email", 5),
    ] {
        assert!(
            found.iter().any(|p| p.rule == rule && p.line == Some(line)),
            "no {rule} on line {line}: {found:?}"
        );
    }
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(store.get(users_decl, "user-x").await.unwrap().is_none());
}

/// A user with more userProfiles rows than a user may hold credentials is
/// refused before any of its passwords is hashed: a file of thousands of
/// such rows must not cost thousands of argon2 runs before its rejection.
#[tokio::test]
async fn a_user_over_the_credential_cap_is_refused_before_hashing() {
    let (_tmp, store) = store("credential-cap");
    let mut files = case("V01");
    edit(&mut files, "userProfiles.csv", |t| {
        let extra: String = (0..200)
            .map(|n| format!("up-x{n},,,user-t1,LMS,vendor-acme,app-lms,Extra,password,x{n},pass{n}\n"))
            .collect();
        format!("{t}{extra}")
    });
    let started = std::time::Instant::now();
    let found = rejected(import(&store, as_package(&files), &options(1)).await);
    let elapsed = started.elapsed();
    assert!(
        found.iter().any(|p| p.rule == "semantic.too_many_credentials"),
        "{found:?}"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(3),
        "took {elapsed:?}: hashed first?"
    );
}
