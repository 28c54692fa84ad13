//! Every users-management operation, with typed results, in each response
//! profile; and the generic operations on the supporting collections.

use oneroster::model::class::Class;
use oneroster::model::org::Org;
use oneroster::primitives::Status;
use rollcall_client::{ListParams, Order};
use rollcall_server::Profile;
use serde_json::{Value, json};

use crate::harness::{Server, class, user};

#[tokio::test]
async fn create_get_update_patch_delete_a_user() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;

    let pair = client.create_user(&user("u1", "Ann", "Lee")).await.unwrap();
    assert_eq!(
        (pair.supplied_sourced_id.as_str(), pair.allocated_sourced_id.as_str()),
        ("u1", "u1")
    );
    let mut anonymous = user("x", "Bo", "Ray");
    anonymous.as_object_mut().unwrap().remove("sourcedId");
    let allocated = client.create_user(&anonymous).await.unwrap().allocated_sourced_id;
    assert!(uuid::Uuid::parse_str(&allocated).is_ok(), "{allocated}");

    let ann = client.get_user("u1").await.unwrap();
    assert_eq!((ann.given_name.as_str(), ann.family_name.as_str()), ("Ann", "Lee"));
    assert!(ann.enabled_user.0);
    assert_eq!(ann.base.status, Status::Active);
    assert_eq!(ann.roles[0].org.sourced_id.as_str(), "school-1");
    assert_eq!(ann.primary_org.unwrap().sourced_id.as_str(), "school-1");

    let mut replaced = user("u1", "Annabel", "Lee");
    replaced["enabledUser"] = json!("false");
    let stored = client.update_user("u1", &replaced).await.unwrap();
    assert_eq!(stored.given_name, "Annabel");
    assert!(!stored.enabled_user.0);

    let patched = client
        .patch_user("u1", &json!({"preferredFirstName": "Bel"}))
        .await
        .unwrap();
    assert_eq!(patched.preferred_first_name.as_deref(), Some("Bel"));
    assert_eq!(patched.given_name, "Annabel");

    client.delete_user("u1").await.unwrap();
    assert_eq!(client.get_user("u1").await.unwrap().base.status, Status::Tobedeleted);
}

#[tokio::test]
async fn field_selection_reads_partial_users_as_json() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    client.create_user(&user("u1", "Ann", "Lee")).await.unwrap();
    let partial: Value = client
        .get("users", "user", "u1", Some("sourcedId,givenName"))
        .await
        .unwrap();
    assert_eq!(partial, json!({"sourcedId": "u1", "givenName": "Ann"}));
    let page = client
        .list::<Value>("users", &ListParams::new().fields("familyName"))
        .await
        .unwrap();
    assert_eq!(page.items, vec![json!({"familyName": "Lee"})]);
}

#[tokio::test]
async fn get_all_users_filters_sorts_and_counts() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    for (id, given) in [("u1", "Ann"), ("u2", "Cy"), ("u3", "Bo")] {
        client.create_user(&user(id, given, "Lee")).await.unwrap();
    }
    let mut teacher = user("t1", "Dee", "Kay");
    teacher["roles"][0]["role"] = json!("teacher");
    client.create_user(&teacher).await.unwrap();

    let params = ListParams::new()
        .filter("roles.role='student'")
        .sort("givenName")
        .order_by(Order::Desc)
        .limit(2);
    let page = client.get_all_users(&params).await.unwrap();
    let names: Vec<_> = page.items.iter().map(|u| u.given_name.as_str()).collect();
    assert_eq!(names, ["Cy", "Bo"]);
    assert_eq!(page.total, Some(3));
    let next = page.next.expect("a second page");
    assert!(next.as_str().starts_with(&server.base), "{next}");
    assert!(next.query().unwrap().contains("offset=2"), "{next}");

    let last = client.get_all_users(&params.clone().offset(2)).await.unwrap();
    assert_eq!(last.items.len(), 1);
    assert!(last.next.is_none());
    let found = client.get_all_users(&ListParams::new().search("dee")).await.unwrap();
    assert_eq!(found.items[0].given_name, "Dee");
}

#[tokio::test]
async fn user_with_demographics_and_classes_for_user() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    client
        .create("classes", "class", &class("class-2", "Algebra 1B"))
        .await
        .unwrap();
    client.create_user(&user("u1", "Ann", "Lee")).await.unwrap();

    let bare = client.get_user_with_demographics("u1").await.unwrap();
    assert_eq!(bare.user.given_name, "Ann");
    assert!(bare.demographics.is_none());
    let demo = json!({"sourcedId": "u1", "birthDate": "2012-04-01", "asian": true});
    client.create("demographics", "demographics", &demo).await.unwrap();
    let full = client.get_user_with_demographics("u1").await.unwrap();
    let demographics = full.demographics.expect("demographics");
    assert_eq!(demographics.asian.map(|f| f.0), Some(true));

    for (id, class) in [("e1", "class-1"), ("e2", "class-2")] {
        let enrollment = json!({"sourcedId": id, "user": {"sourcedId": "u1"}, "class": {"sourcedId": class},
                                "school": {"sourcedId": "school-1"}, "role": "student"});
        client.create("enrollments", "enrollment", &enrollment).await.unwrap();
    }
    let classes = client
        .get_classes_for_user("u1", &ListParams::new().sort("title"))
        .await
        .unwrap();
    let titles: Vec<_> = classes.items.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Algebra 1A", "Algebra 1B"]);
    assert_eq!(classes.total, Some(2));
}

#[tokio::test]
async fn generic_operations_cover_the_supporting_collections() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    let org: Org = client.get("orgs", "org", "school-1", None).await.unwrap();
    assert_eq!(org.name, "North High");
    let class: Class = client
        .patch("classes", "class", "class-1", &json!({"location": "Room 4"}))
        .await
        .unwrap();
    assert_eq!(class.location.as_deref(), Some("Room 4"));
    let term: Value = client
        .replace(
            "academicSessions",
            "academicSession",
            "term-1",
            &json!({"title": "Autumn", "type": "term", "startDate": "2026-08-15",
                    "endDate": "2026-12-20", "schoolYear": "2027"}),
        )
        .await
        .unwrap();
    assert_eq!(term["title"], "Autumn");
    let courses = client.list::<Value>("courses", &ListParams::new()).await.unwrap();
    assert_eq!(courses.items[0]["courseCode"], "ALG1");
    // A view's page holds the base collection's array (`orgs` under `/schools`).
    let schools = client.list::<Org>("schools", &ListParams::new()).await.unwrap();
    assert_eq!(schools.items.len(), 1);
    client.delete("courses", "course-1").await.unwrap();
    let course: Value = client.get("courses", "course", "course-1", None).await.unwrap();
    assert_eq!(course["status"], "tobedeleted");
}

/// Strict 1.2 answers `sourcedIdPairs` as an array and drops nulls and
/// extensions; the April 2025 TimeBack profile sends boolean `enabledUser`.
/// The typed reads work in every profile.
#[tokio::test]
async fn every_profile_reads_as_typed_users() {
    for profile in [Profile::OneRoster, Profile::Timeback202504, Profile::Timeback] {
        let server = Server::with_profile(profile).await;
        let client = server.client();
        server.seed_school(&client).await;
        let pair = client.create_user(&user("u1", "Ann", "Lee")).await.unwrap();
        assert_eq!(pair.allocated_sourced_id, "u1", "{profile:?}");
        let ann = client.get_user("u1").await.unwrap();
        assert!(ann.enabled_user.0, "{profile:?}");
        let page = client.get_all_users(&ListParams::new()).await.unwrap();
        assert_eq!((page.items.len(), page.total), (1, Some(1)), "{profile:?}");
        let with = client.get_user_with_demographics("u1").await.unwrap();
        assert_eq!(with.user.family_name, "Lee", "{profile:?}");
    }
}
