//! Totals and deep-offset positions remembered between writes, and the two
//! plans for multi-valued filters: every page equals the same slice of the
//! whole ordered list, on first and repeated requests, and after writes by
//! this store or another one on the file.

mod common;

use common::{TempDb, ids, user};
use oneroster::model::user::USERS;
use rollcall_store::ResourceStore;
use rollcall_store_sqlite::SqliteStore;
use serde_json::{Value, json};

const RECORDS: u32 = 1_500;

fn record(i: u32) -> Value {
    let role = if i.is_multiple_of(5) { "teacher" } else { "student" };
    let mut doc = user(&format!("u{i:04}"), &format!("u{i}@x.org"), role);
    // Few distinct names, so ties are broken by sourcedId; some have none.
    let object = doc.as_object_mut().unwrap();
    match i % 7 {
        0 => object.remove("familyName"),
        n => object.insert("familyName".into(), json!(format!("Name{n}"))),
    };
    doc
}

/// Compares deep pages (first computed, then remembered) with slices of the
/// whole list, read with an offset too small to be remembered.
async fn pages_match_the_whole_list(store: &SqliteStore) {
    // Multi-valued filters run both plans (see `sql::ManyValued`): shallow
    // pages of many matches probe the terms index, the whole list collects.
    let queries: [&[(&str, &str)]; 6] = [
        &[("sort", "familyName")],
        &[("sort", "familyName"), ("orderBy", "desc")],
        &[],
        &[("filter", "roles.role='student'"), ("sort", "familyName")],
        &[("filter", "roles.role='student'")],
        &[("filter", "roles.role!='student' OR familyName='Name3'")],
    ];
    for base in queries {
        let mut all_pairs = base.to_vec();
        all_pairs.push(("limit", "3000"));
        let (total, all) = ids(store, &all_pairs).await;
        assert_eq!(total, all.len() as u64);
        // Repeated, sequential, nearby (read from a remembered position) and
        // past-the-end offsets.
        for offset in [
            "0", "10", "1000", "1100", "1000", "1090", "1037", "1450", "1100", "1333", "2000",
        ] {
            let mut pairs = base.to_vec();
            pairs.extend([("offset", offset), ("limit", "100")]);
            let (page_total, page) = ids(store, &pairs).await;
            let start = offset.parse::<usize>().unwrap().min(all.len());
            let expected = &all[start..(start + 100).min(all.len())];
            assert_eq!(page_total, total, "{pairs:?}");
            assert_eq!(page, expected, "{pairs:?}");
        }
    }
}

/// A sole multi-valued equality pages through the terms index alone; the
/// same matches through the general plan must come in the same order.
async fn terms_pages_match_the_general_plan(store: &SqliteStore) {
    for (offset, order) in [
        ("0", "asc"),
        ("990", "asc"),
        ("1000", "asc"),
        ("1000", "desc"),
        ("1020", "asc"),
    ] {
        let page = |filter: &'static str| {
            [
                ("filter", filter),
                ("offset", offset),
                ("limit", "50"),
                ("orderBy", order),
            ]
        };
        let terms = ids(store, &page("roles.role='student'")).await;
        let general = ids(store, &page("roles.role='student' AND roles.role!='nobody'")).await;
        assert_eq!(terms, general, "offset {offset} {order}");
        assert_eq!(terms.1.len(), 50);
    }
}

#[tokio::test]
async fn deep_pages_and_totals_stay_exact_across_writes() {
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open(&db.path()).unwrap();
    let docs: Vec<String> = (0..RECORDS).map(|i| record(i).to_string()).collect();
    store
        .insert_bulk(&USERS, Box::new(std::iter::once(Ok(docs))))
        .await
        .unwrap();
    pages_match_the_whole_list(&store).await;
    terms_pages_match_the_general_plan(&store).await;

    // A write through this store moves a record from the end to the start.
    let moved = store
        .update(
            &USERS,
            "u1499",
            Box::new(|mut d| {
                d["familyName"] = json!("Aardvark");
                Ok(d)
            }),
        )
        .await
        .unwrap();
    assert_eq!(moved["familyName"], "Aardvark");
    // Right after the records without a familyName (every 7th), which sort first.
    let (_, sorted) = ids(&store, &[("sort", "familyName"), ("limit", "3000")]).await;
    assert_eq!(sorted[RECORDS.div_ceil(7) as usize], "u1499");
    pages_match_the_whole_list(&store).await;

    // A write through another handle on the file (as another process would).
    let (before, _) = ids(&store, &[("filter", "roles.role='teacher'")]).await;
    {
        let other = rollcall_store_sqlite::open(&db.path()).unwrap();
        other
            .insert(&USERS, user("zz-new", "new@x.org", "teacher"))
            .await
            .unwrap();
    }
    let (after, _) = ids(&store, &[("filter", "roles.role='teacher'")]).await;
    assert_eq!(after, before + 1, "a commit by another connection makes totals stale");
    pages_match_the_whole_list(&store).await;
}

#[tokio::test]
async fn a_lone_store_sees_its_own_writes_in_totals() {
    // A connection's `data_version` does not change for its own commits,
    // and a single-connection store reads on the connection it writes on.
    let db = TempDb::new();
    let store = rollcall_store_sqlite::open_alone(&db.path()).unwrap();
    let students = [("filter", "roles.role='student'")];
    store.insert(&USERS, user("u1", "a@x.org", "student")).await.unwrap();
    assert_eq!(ids(&store, &students).await.0, 1);
    store.insert(&USERS, user("u2", "b@x.org", "student")).await.unwrap();
    assert_eq!(
        ids(&store, &students).await.0,
        2,
        "not the total remembered before the write"
    );
}
