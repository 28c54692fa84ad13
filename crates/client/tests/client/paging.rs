//! Streaming whole collections by following `Link: rel="next"`.

use std::collections::HashSet;

use futures_util::{StreamExt, TryStreamExt, stream};
use oneroster::model::user::User;
use rollcall_client::{Client, Error, ListParams};
use serde_json::{Value, json};

use crate::harness::{Server, user};

async fn create_users(client: &Client, n: usize) {
    stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            async move {
                let mut u = user(&format!("u{i:03}"), "Ann", &format!("Lee{i:03}"));
                if i % 2 == 1 {
                    u["roles"][0]["role"] = json!("teacher");
                }
                client.create_user(&u).await.map(|_| ())
            }
        })
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
        .unwrap();
}

#[tokio::test]
async fn streams_every_user_across_pages_without_dupes_or_misses() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    create_users(&client, 250).await;

    let users: Vec<User> = client
        .users_stream(&ListParams::new().limit(100).sort("familyName"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users.len(), 250);
    let ids: HashSet<String> = users.iter().map(|u| u.base.sourced_id.to_string()).collect();
    assert_eq!(ids.len(), 250);
    let expected: HashSet<String> = (0..250).map(|i| format!("u{i:03}")).collect();
    assert_eq!(ids, expected);
    let order: Vec<&str> = users.iter().map(|u| u.family_name.as_str()).collect();
    assert!(order.is_sorted(), "sorted across page boundaries");

    // Filters and an initial offset carry over to every followed page.
    let teachers: Vec<Value> = client
        .stream(
            "users",
            &ListParams::new().limit(30).offset(5).filter("roles.role='teacher'"),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(teachers.len(), 125 - 5);
    assert!(teachers.iter().all(|t| t["roles"][0]["role"] == "teacher"));
}

/// Users created mid-stream ahead of the position are rightly not seen;
/// that is not a truncation, and no user is yielded twice.
#[tokio::test]
async fn inserts_while_streaming_are_not_mistaken_for_truncation() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    create_users(&client, 30).await;
    let mut users = Box::pin(client.users_stream(&ListParams::new().limit(10).sort("familyName")));
    let mut ids = HashSet::new();
    for _ in 0..15 {
        ids.insert(users.next().await.unwrap().unwrap().base.sourced_id.to_string());
    }
    for i in 0..3 {
        client
            .create_user(&user(&format!("early{i}"), "Ann", "Aaron"))
            .await
            .unwrap();
    }
    while let Some(u) = users.try_next().await.unwrap() {
        assert!(ids.insert(u.base.sourced_id.to_string()), "no duplicates");
    }
    assert_eq!(ids.len(), 30);
}

#[tokio::test]
async fn an_empty_collection_streams_nothing_and_a_bad_query_fails_first() {
    let server = Server::spawn().await;
    let client = server.client();
    let none: Vec<Value> = client.stream("orgs", &ListParams::new()).try_collect().await.unwrap();
    assert!(none.is_empty());
    let mut bad = Box::pin(client.users_stream(&ListParams::new().sort("nope")));
    assert!(matches!(bad.next().await, Some(Err(Error::BadRequest(_)))));
    assert!(bad.next().await.is_none(), "the stream ends after an error");
}
