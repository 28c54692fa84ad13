//! The change feed's promise under concurrency: two server instances on one
//! database, many writers through both, one writer whose transaction stays
//! open long after it started writing (the commit that lands late), and a
//! reader paging the feed through both instances while they write. The
//! reader must see every committed change exactly once, each record's
//! changes in the order they were made, and the same sequence a reader
//! starting afterwards sees.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oneroster::model::user::USERS;
use oneroster::{Clock, SystemClock};
use rollcall_server::AppState;
use rollcall_server::testing::RunningServer;
use rollcall_service::{Rollcall, SigningKey};
use rollcall_store::Store;
use serde_json::{Value, json};

use crate::helpers::{API, CLIENT_ID, CLIENT_SECRET, SIGNING_KEY, user};

/// Writers per instance, and updates each makes to its own record.
const WRITERS: usize = 3;
const UPDATES: usize = 5;
/// Updates by the slow writer, each holding its transaction open this long.
const SLOW_UPDATES: usize = 3;
const SLOW: Duration = Duration::from_millis(300);

/// Two stores on one database, as two instances would open it.
async fn two_stores() -> (Arc<dyn Store>, Arc<dyn Store>, Box<dyn std::any::Any>) {
    if std::env::var("ROLLCALL_TEST_BACKEND").as_deref() == Ok("postgres") {
        let db = rollcall_store_postgres::testing::TestDb::create()
            .await
            .expect("PostgreSQL");
        let (a, b) = (db.open().await, db.open().await);
        return (Arc::new(a), Arc::new(b), Box::new(db));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollcall.db");
    let a = rollcall_store_sqlite::open(&path).unwrap();
    let b = rollcall_store_sqlite::open(&path).unwrap();
    (Arc::new(a), Arc::new(b), Box::new(dir))
}

async fn instance(store: Arc<dyn Store>) -> RunningServer {
    let key = SigningKey::new(SIGNING_KEY).unwrap();
    let rollcall = Rollcall::new(store, Arc::new(SystemClock), &key);
    rollcall_server::testing::start(AppState::new(rollcall, Default::default())).await
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/oauth2/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every change from `after` on, read through the instances in turn.
async fn read_all(http: &reqwest::Client, bases: &[String], token: &str, after: &mut Option<String>) -> Vec<Value> {
    let mut seen = Vec::new();
    for turn in 0.. {
        let base = &bases[turn % bases.len()];
        let mut url = format!("{base}{API}/changes?limit=7");
        if let Some(after) = after.as_deref() {
            url.push_str(&format!("&after={after}"));
        }
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        let changes = page["changes"].as_array().unwrap().clone();
        *after = Some(page["next"].as_str().unwrap().to_owned());
        if changes.is_empty() {
            return seen;
        }
        seen.extend(changes);
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_racing_writers_on_two_instances_sees_every_change_once_in_order() {
    let (a, b, _db) = two_stores().await;
    let key = SigningKey::new(SIGNING_KEY).unwrap();
    Rollcall::new(a.clone(), Arc::new(SystemClock), &key)
        .auth
        .put_admin_client(CLIENT_ID, "tests", CLIENT_SECRET)
        .await
        .unwrap();
    let (one, two) = (instance(a.clone()).await, instance(b).await);
    let bases = vec![one.base.clone(), two.base.clone()];
    let http = reqwest::Client::new();
    let token = token(&http, &bases[0]).await;
    let slow_id = "slow-user";
    let school = http
        .post(format!("{}{API}/orgs", bases[0]))
        .bearer_auth(&token)
        .json(&json!({"org": crate::helpers::org("school-1", "North High")}))
        .send()
        .await
        .unwrap();
    assert_eq!(school.status(), 201);
    let created = http
        .post(format!("{}{API}/users", bases[1]))
        .bearer_auth(&token)
        .json(&json!({"user": user(slow_id, "g0", "Slow")}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let expected_users = WRITERS * 2 + 1;
    let expected = 1 + expected_users + WRITERS * 2 * UPDATES + SLOW_UPDATES;
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (http, bases, token, done) = (http.clone(), bases.clone(), token.clone(), done.clone());
        tokio::spawn(async move {
            let (mut after, mut seen) = (None, Vec::new());
            // Once the writers are done, read on until the feed has caught
            // up: on PostgreSQL a long transaction elsewhere on the server
            // may hold the horizon back for a while.
            let mut deadline = None;
            loop {
                let finished = done.load(Ordering::SeqCst);
                seen.extend(read_all(&http, &bases, &token, &mut after).await);
                if finished {
                    let deadline = *deadline.get_or_insert_with(|| std::time::Instant::now() + Duration::from_secs(60));
                    if seen.len() >= expected || std::time::Instant::now() > deadline {
                        return seen;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut writers = Vec::new();
    for n in 0..WRITERS * 2 {
        let (http, base, token) = (http.clone(), bases[n % 2].clone(), token.clone());
        writers.push(tokio::spawn(async move {
            let id = format!("writer-{n}");
            let r = http
                .post(format!("{base}{API}/users"))
                .bearer_auth(&token)
                .json(&json!({"user": user(&id, "g0", "Writer")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            for k in 1..=UPDATES {
                let r = http
                    .patch(format!("{base}{API}/users/{id}"))
                    .bearer_auth(&token)
                    .json(&json!({"user": {"givenName": format!("g{k}")}}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
            }
        }));
    }
    let slow = tokio::spawn(async move {
        for k in 1..=SLOW_UPDATES {
            // The transaction has begun (and, on PostgreSQL, locked the row,
            // taking its transaction id) before the change is made; it
            // commits long after younger writers have committed theirs.
            let change: rollcall_store::Update = Box::new(move |mut doc: Value| {
                std::thread::sleep(SLOW);
                doc["givenName"] = json!(format!("g{k}"));
                doc["dateLastModified"] = json!(oneroster::Timestamp::new(SystemClock.now()).to_wire());
                Ok(doc)
            });
            a.update(&USERS, slow_id, change).await.unwrap();
        }
    });
    for w in writers {
        w.await.unwrap();
    }
    slow.await.unwrap();
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let cursors: HashSet<&str> = seen.iter().map(|c| c["cursor"].as_str().unwrap()).collect();
    assert_eq!(cursors.len(), seen.len(), "a change was handed out twice");
    let mut after = None;
    let again = read_all(&http, &bases, &token, &mut after).await;
    let missed: Vec<&Value> = again.iter().filter(|c| !seen.contains(c)).collect();
    assert_eq!(
        seen.len(),
        expected,
        "every committed change, exactly once; missed: {missed:?}"
    );
    let mut names: HashMap<&str, Vec<String>> = HashMap::new();
    for c in seen.iter().filter(|c| c["type"] == "users") {
        let id = c["sourcedId"].as_str().unwrap();
        let name = match c["operation"].as_str().unwrap() {
            "create" => c["record"]["givenName"].as_str().unwrap().to_owned(),
            _ => given_name_after(c),
        };
        names.entry(id).or_default().push(name);
    }
    assert_eq!(names.len(), expected_users);
    for (id, names) in &names {
        let want: Vec<String> = (0..names.len()).map(|k| format!("g{k}")).collect();
        assert_eq!(names, &want, "{id}: its changes out of order");
    }
    assert_eq!(again, seen, "a reader starting afterwards sees the same sequence");
}

fn given_name_after(change: &Value) -> String {
    change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "givenName")
        .and_then(|f| f["after"].as_str())
        .unwrap_or_else(|| panic!("no givenName in {change}"))
        .to_owned()
}
