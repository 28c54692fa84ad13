//! An import is one transaction: whatever fails while it writes (a record
//! changed after the import read it, a key taken meanwhile, the caller going
//! away) leaves the store exactly as before, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{cases, manifest, options, package};
use oneroster::ResourceDecl;
use oneroster::model::{org::ORGS, user::USERS};
use oneroster::query::ListQuery;
use oneroster::resource::FieldDecl;
use rollcall_csv::{FileKind, ImportError, import};
use rollcall_store::{Page, RawPage, ResourceStore, StoreError, Update, Writes};
use rollcall_store_postgres::testing::TestDb;
use serde_json::{Value, json};

/// A store where another client writes `user` (an update of a stored user,
/// or a new one) just before the import's writes start: the API write
/// that lands between an import's planning and its commit.
struct Interleaved {
    inner: Arc<dyn ResourceStore>,
    user: Value,
}

#[async_trait]
impl ResourceStore for Interleaved {
    async fn get(&self, decl: &'static ResourceDecl, id: &str) -> Result<Option<Value>, StoreError> {
        self.inner.get(decl, id).await
    }
    async fn get_many(&self, decl: &'static ResourceDecl, ids: Vec<String>) -> Result<Vec<Value>, StoreError> {
        self.inner.get_many(decl, ids).await
    }
    async fn list(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, StoreError> {
        self.inner.list(decl, query).await
    }
    async fn list_raw(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<RawPage, StoreError> {
        self.inner.list_raw(decl, query).await
    }
    async fn insert(&self, decl: &'static ResourceDecl, doc: Value) -> Result<(), StoreError> {
        self.inner.insert(decl, doc).await
    }
    async fn update(&self, decl: &'static ResourceDecl, id: &str, change: Update) -> Result<Value, StoreError> {
        self.inner.update(decl, id, change).await
    }
    async fn unique_holders(
        &self,
        decl: &'static ResourceDecl,
        field: &'static FieldDecl,
        keys: Vec<String>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.unique_holders(decl, field, keys).await
    }
    async fn apply(&self, writes: Writes) -> Result<u64, StoreError> {
        let (id, user) = (self.user["sourcedId"].as_str().unwrap().to_owned(), self.user.clone());
        match self.inner.get(&USERS, &id).await? {
            Some(_) => drop(self.inner.update(&USERS, &id, Box::new(move |_| Ok(user))).await?),
            None => self.inner.insert(&USERS, user).await?,
        }
        self.inner.apply(writes).await
    }
}

const STAMP: &str = "2026-03-02T08:00:00.000Z";

/// A delta package that creates an org, updates `user-s1` and creates
/// `user-n1`.
fn delta() -> rollcall_csv::Package {
    let orgs = format!(
        "{}org-new,active,{STAMP},New School,school,NS-1,org-district-1\n",
        FileKind::Orgs.header()
    );
    let users = format!(
        "{}user-s1,active,{STAMP},true,asmith,,Changed,Smith,,S2001,asmith@example.edu,,,,10,,,,,,org-school-1,\n\
         user-n1,active,{STAMP},true,newbie,,New,Kid,,,new@example.edu,,,,,,,,,,org-school-1,\n",
        FileKind::Users.header()
    );
    let roles = format!(
        "{}role-n1,active,{STAMP},user-n1,primary,student,,,org-school-1,\n",
        FileKind::Roles.header()
    );
    let modes = [("orgs", "delta"), ("users", "delta"), ("roles", "delta")];
    package(&[
        ("manifest.csv", &manifest(&modes)),
        ("orgs.csv", &orgs),
        ("users.csv", &users),
        ("roles.csv", &roles),
    ])
}

fn api_user(id: &str, given: &str) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-03-02T09:30:00.000Z",
        "enabledUser": true, "givenName": given, "familyName": "Api", "roles": []})
}

/// Runs each scenario on a store holding case V01, through `Interleaved`.
async fn scenario(
    inner: Arc<dyn ResourceStore>,
    interleaved: Value,
) -> (Result<(), ImportError>, Arc<dyn ResourceStore>) {
    let base = cases().join("valid/V01");
    rollcall_csv::import(inner.as_ref(), rollcall_csv::Package::open(&base).unwrap(), &options(1))
        .await
        .unwrap();
    let store = Interleaved {
        inner: inner.clone(),
        user: interleaved,
    };
    let result = import(&store, delta(), &options(2)).await.map(drop);
    (result, inner)
}

async fn assert_untouched_by_the_delta(store: &dyn ResourceStore) {
    assert!(
        store.get(&ORGS, "org-new").await.unwrap().is_none(),
        "the new org was kept"
    );
    let s1 = store.get(&USERS, "user-s1").await.unwrap().unwrap();
    assert_ne!(s1["givenName"], "Changed", "the update was kept");
}

async fn stale_update_is_refused_and_nothing_lands(store: Arc<dyn ResourceStore>) {
    let (result, store) = scenario(store, api_user("user-s1", "Edited-Through-The-API")).await;
    let Err(ImportError::Write(StoreError::Conflict(message))) = result else {
        panic!("expected a conflict, got {result:?}")
    };
    assert!(message.contains("user-s1"), "{message}");
    assert_untouched_by_the_delta(store.as_ref()).await;
    assert!(
        store.get(&USERS, "user-n1").await.unwrap().is_none(),
        "the new user was kept"
    );
    let s1 = store.get(&USERS, "user-s1").await.unwrap().unwrap();
    assert_eq!(
        s1["givenName"], "Edited-Through-The-API",
        "the API's write was overwritten"
    );
}

async fn key_taken_meanwhile_fails_everything(store: Arc<dyn ResourceStore>) {
    let (result, store) = scenario(store, api_user("user-n1", "Got-There-First")).await;
    assert!(
        matches!(result, Err(ImportError::Write(StoreError::Conflict(_)))),
        "{result:?}"
    );
    assert_untouched_by_the_delta(store.as_ref()).await;
    let n1 = store.get(&USERS, "user-n1").await.unwrap().unwrap();
    assert_eq!(n1["givenName"], "Got-There-First");
}

#[tokio::test]
async fn sqlite_a_record_changed_after_the_import_read_it_fails_the_whole_import() {
    let (_dir, store) = common::store("stale");
    stale_update_is_refused_and_nothing_lands(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_a_key_taken_after_the_import_checked_it_fails_the_whole_import() {
    let (_dir, store) = common::store("taken");
    key_taken_meanwhile_fails_everything(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_a_record_changed_after_the_import_read_it_fails_the_whole_import() {
    let Some(db) = TestDb::create().await else { return };
    stale_update_is_refused_and_nothing_lands(Arc::new(db.open().await)).await;
}

#[tokio::test]
async fn postgres_a_key_taken_after_the_import_checked_it_fails_the_whole_import() {
    let Some(db) = TestDb::create().await else { return };
    key_taken_meanwhile_fails_everything(Arc::new(db.open().await)).await;
}

/// A package of 5,000 new users (loaded while the rest is still being
/// checked) or of 5,000 new orgs (written after the verdict).
fn large(users_too: bool) -> Vec<(&'static str, String)> {
    let rows = |f: &dyn Fn(u32) -> String| (0..5_000).map(f).collect::<String>();
    if !users_too {
        return vec![
            ("manifest.csv", manifest(&[("orgs", "bulk")])),
            (
                "orgs.csv",
                FileKind::Orgs.header() + &rows(&|i| format!("o{i},,,School {i},school,S{i},\n")),
            ),
        ];
    }
    vec![
        (
            "manifest.csv",
            manifest(&[("orgs", "bulk"), ("users", "bulk"), ("roles", "bulk")]),
        ),
        ("orgs.csv", FileKind::Orgs.header() + "school,,,School,school,S,\n"),
        (
            "users.csv",
            FileKind::Users.header()
                + &rows(&|i| format!("u{i},,,true,user{i},,Given,Family,,,u{i}@x.org,,,,,,,,,,school,\n")),
        ),
        (
            "roles.csv",
            FileKind::Roles.header() + &rows(&|i| format!("r{i},,,u{i},primary,student,,,school,\n")),
        ),
    ]
}

/// The caller goes away (a dropped request) while the import writes: the
/// transaction is rolled back, not committed behind its back.
async fn abandoned_imports_leave_nothing(open: impl AsyncFn() -> Arc<dyn ResourceStore>) {
    for users_too in [true, false] {
        let store = open().await;
        let files = large(users_too);
        let files: Vec<(&str, &str)> = files.iter().map(|(n, c)| (*n, c.as_str())).collect();
        let (started, mut started_rx) = tokio::sync::watch::channel(false);
        let mut opts = options(1);
        opts.batch_size = 500;
        opts.progress = Some(rollcall_csv::Progress(Arc::new(move |n, _| {
            if n > 0 {
                let _ = started.send(true);
            }
        })));
        tokio::select! {
            done = import(store.as_ref(), package(&files), &opts) => panic!("the import finished before it was abandoned: {done:?}"),
            _ = started_rx.wait_for(|s| *s) => {}
        }
        // On SQLite, queued behind the abandoned transaction on the writer.
        store
            .insert(
                &ORGS,
                json!({"sourcedId": "after", "status": "active",
            "dateLastModified": STAMP, "name": "After", "type": "school"}),
            )
            .await
            .unwrap();
        let count = |decl| {
            let store = &store;
            async move {
                let query = ListQuery::from_pairs(decl, [("limit", "1")]).unwrap();
                store.list(decl, &query).await.unwrap().total
            }
        };
        assert_eq!(count(&USERS).await, 0, "users of an abandoned import were committed");
        assert_eq!(
            count(&ORGS).await,
            1,
            "orgs of an abandoned import were committed (users too: {users_too})"
        );
    }
}

#[tokio::test]
async fn sqlite_an_import_abandoned_while_writing_leaves_nothing() {
    let dir = common::TempDir::new("abandoned");
    let n = std::sync::atomic::AtomicUsize::new(0);
    abandoned_imports_leave_nothing(async || {
        let file = dir
            .path()
            .join(format!("{}.db", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        Arc::new(rollcall_store_sqlite::open(&file).unwrap()) as Arc<dyn ResourceStore>
    })
    .await;
}

#[tokio::test]
async fn postgres_an_import_abandoned_while_writing_leaves_nothing() {
    let (Some(a), Some(b)) = (TestDb::create().await, TestDb::create().await) else {
        return;
    };
    let dbs = std::sync::Mutex::new(vec![a, b]);
    let kept = std::sync::Mutex::new(Vec::new());
    abandoned_imports_leave_nothing(async || {
        let db = dbs.lock().unwrap().pop().unwrap();
        let store = Arc::new(db.open().await) as Arc<dyn ResourceStore>;
        kept.lock().unwrap().push(db);
        store
    })
    .await;
}

/// An email an import changes moves its uniqueness key with it: the new
/// address is taken (under any case), the old one free again.
async fn an_imported_email_change_moves_its_key(store: Arc<dyn ResourceStore>) {
    let base = cases().join("valid/V01");
    import(store.as_ref(), rollcall_csv::Package::open(&base).unwrap(), &options(1))
        .await
        .unwrap();
    let users = format!(
        "{}user-s1,active,{STAMP},true,asmith,,Alexandra,Smith,,S2001,moved@example.edu,,,,10,,,,,,org-school-1,\n",
        FileKind::Users.header()
    );
    let moved = package(&[
        ("manifest.csv", &manifest(&[("users", "delta")])),
        ("users.csv", &users),
    ]);
    import(store.as_ref(), moved, &options(2)).await.unwrap();
    let with_email = |id: &str, email: &str| {
        let mut user = api_user(id, "Other");
        user["email"] = email.into();
        user
    };
    let taken = store.insert(&USERS, with_email("x1", "MOVED@example.edu")).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    store
        .insert(&USERS, with_email("x2", "asmith@example.edu"))
        .await
        .expect("the old address is free again");
}

#[tokio::test]
async fn sqlite_an_imported_email_change_moves_its_key() {
    let (_dir, store) = common::store("moved");
    an_imported_email_change_moves_its_key(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_an_imported_email_change_moves_its_key() {
    let Some(db) = TestDb::create().await else { return };
    an_imported_email_change_moves_its_key(Arc::new(db.open().await)).await;
}
