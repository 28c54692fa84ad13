//! Scale-out on PostgreSQL: two real `rollcall serve` processes on one
//! database behave as one service. Writes through either are visible
//! through the other at once, tokens from either are accepted by both (the
//! signing key lives in the database), and concurrent read-modify-write
//! updates of one user through both instances lose no acknowledged change.
//!
//! Needs PostgreSQL: fails without it, unless `ROLLCALL_SKIP_POSTGRES=1` skips it (loudly).

mod common;

use common::{API, Server};
use rollcall_store_postgres::testing::TestDb;
use serde_json::{Value, json};

/// An instance on `database_url`; the story sends one client's requests
/// five at a time per instance.
fn instance(database_url: &str) -> Server {
    Server::start_with(database_url, &[("ROLLCALL_CLIENT_IN_FLIGHT", "16")])
}

/// `GET …/users/u1` on one instance: the status and the body.
async fn get_user(http: &reqwest::Client, base: &str, token: &str) -> (u16, Value) {
    let r = http
        .get(format!("{base}{API}/users/u1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn two_instances_on_one_database_act_as_one_service() {
    let Some(db) = TestDb::create().await else { return };
    let (a, b) = (instance(&db.url), instance(&db.url));
    let http = reqwest::Client::new();
    let token_a = a.token().await;

    let school = json!({"org": {"sourcedId": "s1", "name": "North High", "type": "school", "identifier": "NH"}});
    let r = http
        .post(format!("{}{API}/orgs", a.base))
        .bearer_auth(&token_a)
        .json(&school)
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 201);

    // A token from A works on B; a write through A is read through B.
    let user = json!({"user": {"sourcedId": "u1", "enabledUser": true, "givenName": "Ann", "familyName": "Lee",
        "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "s1"}}]}});
    let created = http
        .post(format!("{}{API}/users", a.base))
        .bearer_auth(&token_a)
        .json(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let (status, read) = get_user(&http, &b.base, &token_a).await;
    assert_eq!(status, 200, "B accepts A's token and sees A's write: {read}");

    // Ten concurrent PATCHes, alternating instances, each setting a
    // different field: all ten must survive.
    let fields = [
        "middleName",
        "preferredFirstName",
        "preferredMiddleName",
        "preferredLastName",
        "pronouns",
        "sms",
        "phone",
        "identifier",
        "userMasterIdentifier",
        "username",
    ];
    let mut tasks = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, token) = (http.clone(), token_a.clone());
        let body = json!({"user": { *field: format!("v{i}") }});
        tasks.push(tokio::spawn(async move {
            http.patch(format!("{base}{API}/users/u1"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    for base in [&a.base, &b.base] {
        let (_, user) = get_user(&http, base, &token_a).await;
        for (i, field) in fields.iter().enumerate() {
            assert_eq!(
                user["user"][*field],
                format!("v{i}"),
                "{field} was lost: {}",
                user["user"]
            );
        }
    }
}
