//! Declared extension fields on PostgreSQL: the expression index is built
//! on declaration (and serves the compiled filter and sort: EXPLAIN), a
//! unique one refuses clashing writes and clashing existing values, and
//! removing the declaration drops its index.

use oneroster::extension::{ExtensionField, ExtensionType, field_decl};
use oneroster::model::user::USERS;
use oneroster::query::ListQuery;
use rollcall_store::sql::{self, SqlValue};
use rollcall_store::{ExtensionStore, ResourceStore, StoreError};
use rollcall_store_postgres::Postgres;
use rollcall_store_postgres::testing::TestDb;
use serde_json::{Value, json};
use tokio_postgres::types::ToSql;

fn user(id: &str, locker: i64) -> Value {
    json!({"sourcedId": id, "status": "active", "dateLastModified": "2026-01-01T00:00:00.000Z",
           "enabledUser": "true", "givenName": "G", "familyName": "F", "roles": [],
           "metadata": {"ext": {"locker": locker}}})
}

fn locker(unique: bool) -> ExtensionField {
    ExtensionField {
        resource: "users".into(),
        name: "locker".into(),
        kind: ExtensionType::Integer,
        values: vec![],
        unique,
        indexed: true,
        required: false,
    }
}

async fn indexes(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'users__ext%'",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn the_declared_index_serves_typed_filters_and_sorts() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    let docs: Vec<Value> = (0..20_000).map(|n| user(&format!("u{n:05}"), n)).collect();
    for batch in docs.chunks(5000) {
        store.insert_many(&USERS, batch.to_vec()).await.unwrap();
    }
    store.declare_extension_field(locker(false)).await.unwrap();
    let client = db.sql().await;
    client.batch_execute("ANALYZE").await.unwrap();
    assert_eq!(indexes(&client).await, ["users__ext__locker"]);

    let declared = [field_decl(&locker(false))];
    for pairs in [
        vec![("filter", "metadata.ext.locker='42'")],
        vec![("sort", "metadata.ext.locker"), ("orderBy", "desc")],
    ] {
        let key = oneroster::cursor::CursorKey::derive(b"k");
        let query = ListQuery::from_request_with(&USERS, &declared, pairs.iter().copied(), &key).unwrap();
        let (page, _) = sql::list(&Postgres, &USERS, &query);
        let params: Vec<&(dyn ToSql + Sync)> = page
            .params
            .iter()
            .map(|v| match v {
                SqlValue::Text(s) => s as &(dyn ToSql + Sync),
                SqlValue::Int(i) => i as &(dyn ToSql + Sync),
                SqlValue::TextList(l) => l as &(dyn ToSql + Sync),
            })
            .collect();
        let rows = client.query(&format!("EXPLAIN {}", page.sql), &params).await.unwrap();
        let plan: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert!(
            plan.join("\n").contains("users__ext__locker"),
            "{pairs:?}:\n{}",
            plan.join("\n")
        );
        let found = store.list(&USERS, &query).await.unwrap();
        assert_eq!(
            found.items[0]["sourcedId"],
            if pairs.len() == 1 { "u00042" } else { "u19999" }
        );
    }

    assert!(store.remove_extension_field("users", "locker").await.unwrap());
    assert!(indexes(&client).await.is_empty());
    assert!(!store.remove_extension_field("users", "locker").await.unwrap());
}

#[tokio::test]
async fn unique_fields_refuse_clashes_old_and_new() {
    let Some(db) = TestDb::create().await else { return };
    let store = db.open().await;
    store
        .insert_many(&USERS, vec![user("u1", 1), user("u2", 1)])
        .await
        .unwrap();
    let clash = store.declare_extension_field(locker(true)).await.unwrap_err();
    assert!(
        matches!(clash, StoreError::Conflict(ref m) if m.contains("metadata.ext.locker")),
        "{clash}"
    );
    assert!(store.extension_fields().await.unwrap().is_empty(), "nothing kept");

    store
        .update(&USERS, "u2", Box::new(|_| Ok(user("u2", 2))))
        .await
        .unwrap();
    store.declare_extension_field(locker(true)).await.unwrap();
    let taken = store.insert(&USERS, user("u3", 2)).await.unwrap_err();
    assert_eq!(taken.to_string(), "another user already has this metadata.ext.locker");
    let again = store.declare_extension_field(locker(false)).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again}");
}
