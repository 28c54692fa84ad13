//! Import of a generated district: 2,000 users in every test run (so the
//! benchmark's own code cannot rot), any size as a benchmark, in release:
//!
//! ```sh
//! ROLLCALL_CSV_BENCH_USERS=1000000 cargo nextest run --release -p rollcall-csv \
//!     --test bench --no-capture
//! ```
//!
//! Writes a bulk package of N users, each with a role and demographics, in
//! 200 schools, then times a dry run into a fresh SQLite file (every check
//! and the whole plan, no writes), the import itself, and a second import of
//! the same package (every record unchanged).

mod common;

use std::fmt::Write as _;
use std::time::Instant;

use common::*;
use rollcall_csv::{FileKind, ImportOptions, Package, import};

/// As in the `rollcall` binary, whose import this measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A copy of `keep_freed_memory` in `crates/cli/src/allocator.rs` (which
/// says why, and tests the option's number): the binary is not a library
/// this test could call. Freed memory is kept for reuse, never handed back
/// to the OS.
fn keep_freed_memory() {
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: stores an integer option; -1 is a valid purge delay.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1)
    };
}

fn generate(dir: &std::path::Path, users: u64) {
    let schools = 200;
    let mut orgs = FileKind::Orgs.header();
    orgs.push_str("district,,,District,district,D,\n");
    for s in 0..schools {
        writeln!(orgs, "school-{s},,,School {s},school,S{s},district").unwrap();
    }
    let mut u = FileKind::Users.header();
    let mut r = FileKind::Roles.header();
    let mut d = FileKind::Demographics.header();
    for i in 0..users {
        let school = i % schools;
        let grade = format!("{:02}", i % 12 + 1);
        writeln!(
            u,
            "user-{i:07},,,true,user{i},{{SIS:S{i:07}}},Given{},Family{},,ID{i},user{i}@district.example.org,,,,\
             {grade},,,,,,school-{school},",
            i % 97,
            i % 89
        )
        .unwrap();
        writeln!(r, "role-{i:07},,,user-{i:07},primary,student,,,school-{school},").unwrap();
        let sex = ["female", "male", "unspecified"][(i % 3) as usize];
        writeln!(
            d,
            "user-{i:07},,,20{:02}-0{}-1{},{sex},false,false,false,false,true,false,false,US,NY,Albany,",
            8 + i % 8,
            1 + i % 9,
            i % 10
        )
        .unwrap();
    }
    let modes = [
        ("orgs", "bulk"),
        ("users", "bulk"),
        ("roles", "bulk"),
        ("demographics", "bulk"),
    ];
    for (name, text) in [
        ("manifest.csv", manifest(&modes)),
        ("orgs.csv", orgs),
        ("users.csv", u),
        ("roles.csv", r),
        ("demographics.csv", d),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_a_generated_district() {
    keep_freed_memory();
    let users: u64 = std::env::var("ROLLCALL_CSV_BENCH_USERS").map_or(2_000, |v| v.parse().unwrap());
    let (tmp, store) = store_alone("bench");
    let package_dir = tmp.path().join("package");
    std::fs::create_dir_all(&package_dir).unwrap();
    let started = Instant::now();
    generate(&package_dir, users);
    eprintln!("generated {users} users in {:.1} s", started.elapsed().as_secs_f64());

    let rounds = [
        ("dry run", 1, true),
        ("first import", 1, false),
        ("same package again", 2, false),
    ];
    for (round, day, dry_run) in rounds {
        let started = Instant::now();
        let package = Package::open(&package_dir).unwrap();
        let read = started.elapsed().as_secs_f64();
        let options = ImportOptions {
            force: true,
            dry_run,
            ..options(day)
        };
        let report = import(&store, package, &options).await.unwrap();
        let text = report.to_string();
        assert!(
            text.contains(&users.to_string()),
            "every user is accounted for in {round}:\n{text}"
        );
        eprintln!(
            "{round}: {:.1} s (package read {read:.1} s)\n{report}",
            started.elapsed().as_secs_f64()
        );
    }
}
