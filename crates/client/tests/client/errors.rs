//! Each failure status arrives as its typed variant, carrying the server's
//! imsx body.

use oneroster::wire::CodeMinor;
use rollcall_client::{Client, Error, ListParams};
use serde_json::json;

use crate::harness::{CLIENT_ID, Server, user};

fn code(e: &Error) -> CodeMinor {
    e.info().expect("an imsx body").code_minor.fields[0].value
}

#[tokio::test]
async fn not_found_carries_the_imsx_description() {
    let server = Server::spawn().await;
    let client = server.client();
    let e = client.get_user("ghost").await.unwrap_err();
    let Error::NotFound(info) = &e else { panic!("{e:?}") };
    assert_eq!(info.code_major, "failure");
    assert!(info.description.contains("not found"), "{}", info.description);
    assert_eq!(code(&e), CodeMinor::UnknownObject);
    assert_eq!(e.status(), Some(404));
    assert!(matches!(client.delete_user("ghost").await, Err(Error::NotFound(_))));
    assert!(matches!(
        client.get_user_with_demographics("ghost").await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn a_taken_id_or_email_is_a_conflict() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    client.create_user(&user("u1", "Ann", "Lee")).await.unwrap();
    let mut same_id = user("u1", "Bo", "Ray");
    same_id["email"] = json!("bo@example.org");
    let e = client.create_user(&same_id).await.unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    let mut same_email = user("u2", "Bo", "Ray");
    same_email["email"] = json!("U1@example.org");
    assert!(matches!(client.create_user(&same_email).await, Err(Error::Conflict(_))));
}

#[tokio::test]
async fn a_user_breaking_the_model_is_unprocessable() {
    let server = Server::spawn().await;
    let client = server.client();
    server.seed_school(&client).await;
    client.create_user(&user("u1", "Ann", "Lee")).await.unwrap();
    let mut no_roles = user("u2", "Bo", "Ray");
    no_roles["roles"] = json!([]);
    let e = client.create_user(&no_roles).await.unwrap_err();
    let Error::Unprocessable(info) = &e else {
        panic!("{e:?}")
    };
    assert!(info.description.contains("roles"), "{}", info.description);
    let e = client
        .patch_user("u1", &json!({"enabledUser": "maybe"}))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unprocessable(_)), "{e:?}");
    assert!(client.get_user("u1").await.unwrap().enabled_user.0);
}

#[tokio::test]
async fn a_bad_filter_is_a_bad_request_naming_the_field() {
    let server = Server::spawn().await;
    let client = server.client();
    let e = client
        .get_all_users(&ListParams::new().filter("shoeSize='9'"))
        .await
        .unwrap_err();
    let Error::BadRequest(info) = &e else { panic!("{e:?}") };
    assert!(info.description.contains("shoeSize"), "{}", info.description);
    assert_eq!(code(&e), CodeMinor::InvalidFilterField);
    let e = client.get_all_users(&ListParams::new().limit(0)).await.unwrap_err();
    assert!(matches!(e, Error::BadRequest(_)), "{e:?}");
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized() {
    let server = Server::spawn().await;
    let client = Client::new(&server.base, CLIENT_ID, "not-the-secret").unwrap();
    let e = client.get_all_users(&ListParams::new()).await.unwrap_err();
    let Error::Unauthorized(info) = &e else { panic!("{e:?}") };
    assert!(!info.description.is_empty());
    assert_eq!(code(&e), CodeMinor::UnauthorisedRequest);
}

#[tokio::test]
async fn a_missing_scope_is_forbidden() {
    let server = Server::spawn().await;
    let scopes = vec!["roster-core.readonly".to_owned()];
    server
        .rollcall
        .auth
        .put_client("reader", "read only", "reader-secret", &scopes)
        .await
        .unwrap();
    let reader = Client::new(&server.base, "reader", "reader-secret").unwrap();
    assert!(reader.get_all_users(&ListParams::new()).await.is_ok());
    let e = reader.create_user(&user("u1", "Ann", "Lee")).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
    assert_eq!(e.status(), Some(403));
}

#[tokio::test]
async fn an_unreachable_server_is_an_http_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(&base, "x", "y").unwrap();
    assert!(matches!(client.get_user("u1").await, Err(Error::Http(_))));
    assert!(matches!(Client::new("ftp://h", "x", "y"), Err(Error::Protocol(_))));
}
