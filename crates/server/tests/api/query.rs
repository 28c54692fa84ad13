//! Collection queries on `/users`: paging (body totals, `X-Total-Count`,
//! `Link`), sorting before paging, the filter language, `fields`, `search`,
//! and all of them together. Every expectation is computed from the same
//! table of people the test creates, so a wrong result names its users.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, org, user};

/// 25 people as `id given family roles` (s = student, t = teacher; the first
/// is primary): ties on familyName, names with `'`, `%` and `_`, and one
/// person with two roles. u01..u13 are created before the cut-off.
const TABLE: &str = "u01 Ann Smith s | u02 Anna Jones s | u03 Bob Smith t | u04 Brian O'Brien s
    | u05 Cara Ng s | u06 Dana Smith s | u07 Evan Jones t | u08 Fran Garcia st | u09 Gina Under_score s
    | u10 Hank UnderXscore s | u11 Ivan Fifty%Off s | u12 Jane FiftyXOff t | u13 Karl Smith s
    | u14 Lana Jones s | u15 Mona Adams s | u16 Nate Brown t | u17 Omar Clark s | u18 Pam Diaz s
    | u19 Quinn Evans s | u20 Rosa Fox t | u21 Sam Smith s | u22 Tina Hall s | u23 Uma Ives s
    | u24 Vic Jaxon s | u25 Wes Hannigan s";

struct Person {
    id: &'static str,
    given: &'static str,
    family: &'static str,
    roles: Vec<&'static str>,
}

fn people() -> Vec<Person> {
    let role = |c| if c == 's' { "student" } else { "teacher" };
    TABLE
        .split('|')
        .map(|row| match row.split_whitespace().collect::<Vec<_>>()[..] {
            [id, given, family, roles] => Person {
                id,
                given,
                family,
                roles: roles.chars().map(role).collect(),
            },
            _ => panic!("bad row {row}"),
        })
        .collect()
}

const BEFORE_CUTOFF: usize = 13;

/// Students (by primary role) are in grade 09 to 12.
fn grade(p: &Person) -> Option<String> {
    let n: usize = p.id[1..].parse().unwrap();
    (p.roles[0] == "student").then(|| format!("{:02}", 9 + n % 4))
}

fn only(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

fn payload(person: &Person) -> Value {
    let mut u = user(person.id, person.given, person.family);
    let role = |(i, role)| {
        json!({"roleType": if i == 0 { "primary" } else { "secondary" }, "role": role,
               "org": {"sourcedId": format!("school-{}", i + 1)}})
    };
    u["roles"] = person.roles.iter().enumerate().map(role).collect();
    let n: usize = person.id[1..].parse().unwrap();
    if n.is_multiple_of(3) {
        u["userIds"] = json!([{"type": "LDAP", "identifier": format!("ldap-{}", person.id)}]);
    }
    if let Some(g) = grade(person) {
        u["grades"] = json!([g]);
    }
    if person.id == "u24" {
        u["email"] = "vic.ANNex@example.org".into();
    }
    // TimeBack's free-form metadata, flagged as a JSON boolean or a string.
    match n % 4 {
        0 => u["metadata"] = json!({"isTestUser": true, "cohort": {"year": 2026}}),
        1 => u["metadata"] = json!({"isTestUser": "true"}),
        2 => u["metadata"] = json!({"isTestUser": false}),
        _ => {}
    }
    u
}

fn metadata_group(p: &Person) -> usize {
    p.id[1..].parse::<usize>().unwrap() % 4
}

/// Creates everyone and returns the cut-off: the `dateLastModified` of the
/// last person created before a pause; everyone after it is strictly later.
async fn seed(app: &TestApp) -> String {
    let people = people();
    assert_eq!(people.len(), 25);
    let schools = people.iter().map(|p| p.roles.len()).max().unwrap_or(0);
    for n in 1..=schools {
        app.create("orgs", "org", org(&format!("school-{n}"), "A school")).await;
    }
    for (i, person) in people.iter().enumerate() {
        if i == BEFORE_CUTOFF {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        app.create("users", "user", payload(person)).await;
    }
    let last = app.get(&format!("users/{}", people[BEFORE_CUTOFF - 1].id)).await;
    last.body["user"]["dateLastModified"].as_str().unwrap().to_owned()
}

async fn list(app: &TestApp, path: &str, params: &[(&str, &str)]) -> Reply {
    let mut query = form_urlencoded::Serializer::new(String::new());
    let url = format!("{}?{}", app.url(path), query.extend_pairs(params).finish());
    let r = app.send(app.http.get(url).bearer_auth(&app.token)).await;
    assert_eq!(r.status, 200, "GET {path} {params:?}: {}", r.body);
    r
}

/// One key of every user on the page, in order.
fn pluck(r: &Reply, key: &str) -> Vec<String> {
    let users = r.body["users"].as_array().expect("users array");
    users.iter().map(|u| text(u, key)).collect()
}

fn ids(r: &Reply) -> Vec<String> {
    pluck(r, "sourcedId")
}

fn expected(pred: impl Fn(&Person) -> bool) -> BTreeSet<String> {
    let people = people();
    people.iter().filter(|p| pred(p)).map(|p| p.id.to_owned()).collect()
}

fn total(r: &Reply) -> u64 {
    r.header("x-total-count").expect("X-Total-Count").parse().unwrap()
}

/// `rel` → URL from an RFC 8288 `Link` header.
fn links(r: &Reply) -> Vec<(String, String)> {
    let header = r.header("link").expect("Link header").split(',');
    header
        .map(|part| {
            let (url, rel) = part.trim().split_once(';').expect("<url>; rel=…");
            let url = url.trim().trim_start_matches('<').trim_end_matches('>');
            let rel = rel.trim().strip_prefix("rel=").expect("rel=").trim_matches('"');
            (rel.to_owned(), url.to_owned())
        })
        .collect()
}

fn link(r: &Reply, rel: &str) -> Option<String> {
    links(r).into_iter().find(|(r, _)| r == rel).map(|(_, u)| u)
}

fn offset_of(url: &str) -> u64 {
    let query = url.split_once('?').expect("query string").1;
    let mut pairs = form_urlencoded::parse(query.as_bytes());
    let offset = pairs.find(|(k, _)| k == "offset").expect("offset in link").1;
    offset.parse().unwrap()
}

/// `[totalCount, pageCount, pageNumber, offset, limit]` from the body.
fn totals(r: &Reply) -> Value {
    let keys = ["totalCount", "pageCount", "pageNumber", "offset", "limit"];
    keys.iter().map(|k| r.body[*k].clone()).collect()
}

#[tokio::test]
async fn pages_report_totals_and_links() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let r = list(&app, "users", &[]).await;
    assert_eq!(ids(&r).len(), 25, "the default limit is 100");
    assert_eq!(ids(&r).into_iter().collect::<BTreeSet<_>>(), expected(|_| true));
    assert_eq!(total(&r), 25);
    assert_eq!(totals(&r), json!([25, 1, 1, 0, 100]), "{}", r.body);
    assert!(link(&r, "next").is_none() && link(&r, "prev").is_none());

    let r = list(&app, "users", &[("limit", "10"), ("offset", "10")]).await;
    assert_eq!(ids(&r).len(), 10);
    assert_eq!(total(&r), 25);
    assert_eq!(totals(&r), json!([25, 3, 2, 10, 10]), "{}", r.body);
    let at = |rel| link(&r, rel).map(|u| offset_of(&u));
    assert_eq!(at("next"), Some(20));
    assert_eq!(at("prev"), Some(0));
    assert_eq!(at("first"), Some(0));
    assert_eq!(at("last"), Some(20));
    for (rel, url) in links(&r) {
        assert!(url.starts_with(&app.base) && url.contains("limit=10"), "{rel}: {url}");
    }
}

#[tokio::test]
async fn following_next_links_visits_every_match_exactly_once() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    // The links must carry the filter and sort along with the paging.
    let params = [("filter", "role='student'"), ("sort", "familyName"), ("limit", "4")];
    let whole = ids(&list(&app, "users", &[params[0], params[1]]).await);
    let mut r = list(&app, "users", &params).await;
    let (mut seen, mut pages) = (ids(&r), 1);
    while let Some(next) = link(&r, "next") {
        r = app.send(app.http.get(&next).bearer_auth(&app.token)).await;
        assert_eq!(r.status, 200, "{next}: {}", r.body);
        assert_eq!(total(&r), whole.len() as u64);
        seen.extend(ids(&r));
        pages += 1;
        assert!(pages <= 10, "next links never end");
    }
    assert!(link(&r, "next").is_none(), "the last page has no next");
    let students = expected(|p| p.roles.contains(&"student"));
    assert_eq!(seen, whole, "pages concatenated equal the unpaged result");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), students);
    assert_eq!(seen.len(), students.len(), "no duplicates");
    assert_eq!(pages, students.len().div_ceil(4));
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_owned()
}

fn family_names(r: &Reply) -> Vec<(String, String)> {
    pluck(r, "familyName").into_iter().zip(ids(r)).collect()
}

/// Sorted by name in the given direction; within a tie, ids strictly ordered one way.
fn assert_sorted(rows: &[(String, String)], descending: bool) {
    for w in rows.windows(2) {
        let ok = if descending { w[0].0 >= w[1].0 } else { w[0].0 <= w[1].0 };
        assert!(ok, "unsorted: {:?} then {:?} (desc: {descending})", w[0], w[1]);
        assert_ne!(w[0].1, w[1].1);
    }
    let ties: Vec<_> = rows.windows(2).filter(|w| w[0].0 == w[1].0).collect();
    assert!(!ties.is_empty(), "the data has ties");
    let up = ties.iter().all(|w| w[0].1 < w[1].1);
    let down = ties.iter().all(|w| w[0].1 > w[1].1);
    assert!(up || down, "ties are not broken by a consistent key: {rows:?}");
}

#[tokio::test]
async fn sort_applies_to_the_whole_result_before_paging() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let desc = [("sort", "familyName"), ("orderBy", "desc")];
    let whole = family_names(&list(&app, "users", &desc).await);
    assert_eq!(whole.len(), 25);
    assert_sorted(&whole, true);
    assert_eq!(whole[0].0, "Under_score", "code-point order puts '_' after 'X'");
    let mut paged = Vec::new();
    for offset in ["0", "10", "20"] {
        let r = list(&app, "users", &[desc[0], desc[1], ("limit", "10"), ("offset", offset)]).await;
        paged.extend(family_names(&r));
    }
    assert_eq!(paged, whole, "page 2 continues where page 1 stopped");
    // Deterministic: the same request gives the same order.
    assert_eq!(family_names(&list(&app, "users", &desc).await), whole);

    let asc = family_names(&list(&app, "users", &[("sort", "familyName")]).await);
    assert_sorted(&asc, false);
    assert_eq!(asc[0].0, "Adams");
    let explicit = list(&app, "users", &[("sort", "familyName"), ("orderBy", "asc")]).await;
    assert_eq!(family_names(&explicit), asc, "orderBy defaults to asc");
}

#[tokio::test]
async fn filters_select_exactly_the_matching_users() {
    let app = TestApp::spawn().await;
    let cutoff = seed(&app).await;
    let after = format!("dateLastModified>'{cutoff}'");
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("familyName='Smith'", expected(|p| p.family == "Smith")),
        ("givenName~'an'", expected(|p| p.given.to_lowercase().contains("an"))),
        ("givenName~'AN'", expected(|p| p.given.to_lowercase().contains("an"))),
        ("familyName='Smith' AND role='teacher'", expected(|p| p.id == "u03")),
        ("familyName='Ng' OR familyName='Garcia'", only(&["u05", "u08"])),
        (
            "(familyName='Smith' OR familyName='Jones') AND roles.role='teacher'",
            only(&["u03", "u07"]),
        ),
        (
            "familyName='Smith' OR familyName='Jones' AND roles.role='teacher'",
            expected(|p| p.family == "Smith" || p.id == "u07"),
        ),
        ("givenName@'Ann,Bob'", only(&["u01", "u03"])),
        ("givenName@'Ann, Bob'", only(&["u01", "u03"])),
        ("roles.role='teacher'", expected(|p| p.roles.contains(&"teacher"))),
        ("role='teacher'", expected(|p| p.roles.contains(&"teacher"))),
        ("role='student'", expected(|p| p.roles.contains(&"student"))),
        ("userIds.identifier='ldap-u12'", expected(|p| p.id == "u12")),
        ("grades='10'", expected(|p| grade(p).as_deref() == Some("10"))),
        (&after, expected(|p| p.id > "u13")),
        ("familyName='O''Brien'", expected(|p| p.id == "u04")),
        ("familyName~'y%O'", expected(|p| p.id == "u11")),
        ("familyName~'r_s'", expected(|p| p.id == "u09")),
        ("metadata.isTestUser='true'", expected(|p| metadata_group(p) < 2)),
        ("metadata.isTestUser='false'", expected(|p| metadata_group(p) == 2)),
        ("metadata.isTestUser!='true'", expected(|p| metadata_group(p) >= 2)),
        (
            "metadata.cohort.year='2026' AND role='teacher'",
            only(&["u08", "u12", "u16", "u20"]),
        ),
    ];
    for (filter, want) in cases {
        assert!(!want.is_empty() && want.len() < 25, "{filter}");
        let r = list(&app, "users", &[("filter", filter), ("limit", "2")]).await;
        let (n, body) = (want.len(), &r.body);
        let want_totals = (n as u64, &json!(n), &json!(n.div_ceil(2)));
        let got_totals = (total(&r), &body["totalCount"], &body["pageCount"]);
        assert_eq!(got_totals, want_totals, "totals for {filter}");
        let r = list(&app, "users", &[("filter", filter)]).await;
        let got: BTreeSet<String> = ids(&r).into_iter().collect();
        assert_eq!(got, want, "filter {filter}");
    }
}

#[tokio::test]
async fn status_filters_see_soft_deleted_users() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    for id in ["u05", "u12"] {
        assert_eq!(app.delete(&format!("users/{id}")).await.status, 204);
    }
    let live = list(&app, "users", &[("filter", "status!='tobedeleted'")]).await;
    assert_eq!((total(&live), &live.body["totalCount"]), (23, &json!(23)));
    let gone: BTreeSet<_> = ["u05", "u12"].map(String::from).into();
    assert!(ids(&live).iter().all(|id| !gone.contains(id)));
    let deleted = list(&app, "users", &[("filter", "status='tobedeleted'")]).await;
    assert_eq!(ids(&deleted).into_iter().collect::<BTreeSet<_>>(), gone);
    let r = list(&app, "users", &[("filter", "status='active' AND familyName~'fifty'")]).await;
    assert_eq!(ids(&r), ["u11"]);
}

#[tokio::test]
async fn fields_keep_exactly_the_selected_keys() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let r = list(&app, "users", &[("fields", "sourcedId,familyName")]).await;
    let users = r.body["users"].as_array().unwrap();
    assert_eq!(users.len(), 25);
    for u in users {
        let keys: BTreeSet<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["sourcedId", "familyName"]), "{u}");
    }
    let ann = users.iter().find(|u| u["sourcedId"] == "u01").unwrap();
    assert_eq!(ann["familyName"], "Smith");
}

/// `Link` URLs carry what shapes the result, once: `fields` as one list
/// however it was sent, and no cache-busters.
#[tokio::test]
async fn links_carry_the_query_once_and_nothing_else() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let r = list(
        &app,
        "users",
        &[
            ("fields", "sourcedId"),
            ("fields", "familyName"),
            ("_", "123"),
            ("limit", "5"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let next = link(&r, "next").expect("a next link");
    assert!(next.contains("fields=sourcedId%2CfamilyName&limit=5"), "{next}");
    assert!(!next.contains("_="), "{next}");
    let followed = app.send(app.http.get(&next).bearer_auth(&app.token)).await;
    assert_eq!(followed.status, 200, "{}", followed.body);
}

#[tokio::test]
async fn search_matches_names_and_email_in_any_case() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    // Ann, Anna (givenName), Hannigan (familyName), vic.ANNex@ (email).
    let want: BTreeSet<String> = ["u01", "u02", "u24", "u25"].map(String::from).into();
    for text in ["ann", "ANN", "aNn"] {
        let r = list(&app, "users", &[("search", text)]).await;
        assert_eq!(ids(&r).into_iter().collect::<BTreeSet<_>>(), want, "search={text}");
        assert_eq!((total(&r), &r.body["totalCount"]), (4, &json!(4)));
    }
    let r = list(&app, "users", &[("search", "ann"), ("filter", "familyName='Smith'")]).await;
    assert_eq!(ids(&r), ["u01"], "search and filter both apply");
}

#[tokio::test]
async fn filter_sort_fields_and_paging_in_one_request() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let base = [
        ("filter", "role='student' AND givenName!='Ann'"),
        ("sort", "familyName"),
        ("orderBy", "desc"),
    ];
    let whole = list(&app, "users", &base).await;
    let all = family_names(&whole);
    assert_sorted(&all, true);
    let want = expected(|p| p.roles.contains(&"student") && p.given != "Ann");
    assert_eq!(all.iter().map(|(_, id)| id.clone()).collect::<BTreeSet<_>>(), want);

    let mut params = base.to_vec();
    params.extend([("fields", "sourcedId,familyName"), ("limit", "5"), ("offset", "5")]);
    let r = list(&app, "users", &params).await;
    let page: Vec<Value> = all[5..10]
        .iter()
        .map(|(family, id)| json!({"sourcedId": id, "familyName": family}))
        .collect();
    assert_eq!(r.body["users"], Value::Array(page));
    assert_eq!(total(&r), want.len() as u64);
    assert_eq!(r.body["totalCount"], json!(want.len()));
    assert_eq!(r.body["pageNumber"], 2);
    let next = link(&r, "next").expect("a next page");
    assert_eq!(offset_of(&next), 10);
    assert!(next.contains("fields=sourcedId%2CfamilyName"), "{next}");
    assert!(next.contains("orderBy=desc"), "{next}");
}

#[tokio::test]
async fn trailing_slash_gives_the_same_result() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let params = [("filter", "familyName='Jones'"), ("sort", "givenName"), ("limit", "2")];
    let plain = list(&app, "users", &params).await;
    let slash = list(&app, "users/", &params).await;
    assert_eq!(plain.body, slash.body);
    assert_eq!((total(&plain), total(&slash)), (3, 3));
    assert_eq!(ids(&slash), ["u02", "u07"]);
}

#[tokio::test]
async fn case_insensitive_matching_covers_non_ascii_letters() {
    let app = TestApp::spawn().await;
    app.add_school().await;
    app.create("users", "user", user("x1", "Élodie", "Ødegård")).await;
    app.create("users", "user", user("x2", "Eloise", "Odell")).await;
    let cases = [
        ("search", "élodie"),
        ("search", "ØDEGÅRD"),
        ("filter", "givenName~'éLO'"),
        ("filter", "familyName~'ødeg'"),
    ];
    for (k, v) in cases {
        let r = list(&app, "users", &[(k, v)]).await;
        assert_eq!(ids(&r), ["x1"], "{k}={v} must match Élodie Ødegård in any case");
    }
}

#[tokio::test]
async fn the_capabilities_document_lists_what_actually_works() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let doc = app.send(app.http.get(app.url("capabilities"))).await;
    assert_eq!(doc.status, 200, "no token needed: {}", doc.body);
    assert_eq!(doc.body["limits"]["maxPageSize"], 3000);
    let users = &doc.body["collections"]["users"];
    let names = |key: &str| -> Vec<String> {
        users[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(names("filterable").contains(&"roles.role".to_owned()));
    assert!(names("sortable").contains(&"familyName".to_owned()));
    assert!(
        !names("sortable").contains(&"roles.role".to_owned()),
        "multi-valued fields cannot sort"
    );
    assert_eq!(names("filterableOpen"), ["metadata.<key>"]);
    // Every advertised field is accepted by filter (and sortable ones by sort).
    for field in names("filterable") {
        list(&app, "users", &[("filter", &format!("{field}>='2020-01-01'"))]).await;
    }
    for field in names("sortable") {
        list(&app, "users", &[("sort", &field)]).await;
    }
    list(&app, "users", &[("filter", "metadata.anything.here>='2'")]).await;
}
