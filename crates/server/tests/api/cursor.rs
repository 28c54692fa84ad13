//! Keyset cursors in `Link: rel="next"`: stable paging while data changes,
//! and cursors that cannot be replayed against a different query.

use serde_json::Value;

use crate::helpers::{TestApp, user};

/// The `rel="next"` URL, if any.
fn next_link(reply: &crate::helpers::Reply) -> Option<String> {
    let link = reply.header("link")?;
    link.split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| l.split_once('>').unwrap().0.trim_start_matches('<').to_owned())
}

fn ids(reply: &crate::helpers::Reply) -> Vec<String> {
    reply.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["sourcedId"].as_str().unwrap().to_owned())
        .collect()
}

async fn seed(app: &TestApp, n: usize) {
    app.seed_school().await;
    for i in 0..n {
        app.create(
            "users",
            "user",
            user(&format!("u{i:02}"), "Ann", &format!("Fam{:02}", (i * 7) % n)),
        )
        .await;
    }
}

#[tokio::test]
async fn following_next_is_stable_when_rows_are_inserted_before_the_position() {
    let app = TestApp::spawn().await;
    seed(&app, 30).await;
    let first = app.get("users?sort=familyName&limit=10").await;
    let page1 = ids(&first);
    // A new row that sorts before everything already served: with OFFSET
    // paging the next page would repeat the last row of page 1.
    app.create("users", "user", user("new-first", "Zed", "Aaa")).await;
    let next = next_link(&first).expect("a next link");
    assert!(next.contains("cursor="), "{next}");
    let second = app.send(app.http.get(&next).bearer_auth(&app.token)).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let page2 = ids(&second);
    assert!(
        page2.iter().all(|id| !page1.contains(id)),
        "duplicates: {page1:?} / {page2:?}"
    );
    assert_eq!(second.body["offset"], 10);
    // Page 2 starts exactly where page 1 ended in sort order.
    let all = app.get("users?sort=familyName&limit=100").await;
    let sorted = ids(&all);
    let at = sorted.iter().position(|id| id == page1.last().unwrap()).unwrap();
    assert_eq!(&sorted[at + 1..at + 11], &page2[..]);
}

#[tokio::test]
async fn cursor_pages_cover_every_row_once_in_descending_order() {
    let app = TestApp::spawn().await;
    seed(&app, 23).await;
    let mut url = app.url("users?sort=familyName&orderBy=desc&limit=5&filter=status%3D%27active%27");
    let mut seen: Vec<Value> = Vec::new();
    loop {
        let reply = app.send(app.http.get(&url).bearer_auth(&app.token)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        seen.extend(
            reply.body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["familyName"].clone()),
        );
        match next_link(&reply) {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 23);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.as_str().cmp(&a.as_str()));
    assert_eq!(seen, sorted);
}

#[tokio::test]
async fn a_cursor_cannot_be_replayed_against_another_query() {
    let app = TestApp::spawn().await;
    seed(&app, 12).await;
    let first = app.get("users?sort=familyName&limit=5").await;
    let next = next_link(&first).unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    app.get(&format!("users?sort=givenName&limit=5&cursor={cursor}"))
        .await
        .assert_imsx(400, "invaliddata");
    app.get("users?cursor=bm90LWEtY3Vyc29y")
        .await
        .assert_imsx(400, "invaliddata");
}

/// The payload of a cursor token, whatever signs it: base64url JSON before
/// any `.`.
fn payload(cursor: &str) -> Value {
    use base64::Engine as _;
    let text = cursor.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn encode(payload: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).unwrap())
}

#[tokio::test]
async fn a_cursor_rebuilt_by_a_client_is_refused() {
    let app = TestApp::spawn().await;
    seed(&app, 12).await;
    let first = app.get("users?sort=familyName&limit=5").await;
    let next = next_link(&first).unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    let tag = cursor.split_once('.').map_or("", |(_, tag)| tag);
    for offset in [1, u64::MAX] {
        let mut forged = payload(cursor);
        forged["o"] = offset.into();
        for token in [encode(&forged), format!("{}.{tag}", encode(&forged))] {
            app.get(&format!("users?sort=familyName&limit=5&cursor={token}"))
                .await
                .assert_imsx(400, "invaliddata");
        }
    }
    let followed = app.send(app.http.get(&next).bearer_auth(&app.token)).await;
    assert_eq!(followed.status, 200, "{}", followed.body);
}

#[tokio::test]
async fn offsets_are_bounded_and_every_link_is_one_the_server_accepts() {
    let app = TestApp::spawn().await;
    seed(&app, 3).await;
    // 2^53 - 1: the largest offset a JavaScript client reads exactly.
    let max: u64 = 9_007_199_254_740_991;
    assert_eq!(oneroster::query::MAX_OFFSET, max);
    app.get(&format!("users?offset={}", max + 1))
        .await
        .assert_imsx(400, "invaliddata");
    let deep = app.get(&format!("users?offset={max}&limit=3000")).await;
    assert_eq!(deep.status, 200, "{}", deep.body);
    let link = deep.header("link").unwrap().to_owned();
    for part in link.split(", ") {
        let url = part.split_once('>').unwrap().0.trim_start_matches('<');
        let r = app.send(app.http.get(url).bearer_auth(&app.token)).await;
        assert_eq!(r.status, 200, "{part}: {}", r.body);
    }
}
