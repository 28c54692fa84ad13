//! The operations. Users management mirrors the TimeBack SDK
//! (`usersManagement.getAllUsers` → `get_all_users`, `createUser` →
//! `create_user`, …) and returns the typed `oneroster` models. The generic
//! operations serve every other collection without a method per resource,
//! decoding into any type: a model, or `serde_json::Value` for partial
//! records (`fields`) and tools that pass records through.

use futures_util::Stream;
use oneroster::model::class::Class;
use oneroster::model::demographics::Demographics;
use oneroster::model::user::User;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{Client, Error, ListParams, Page, decode, take};

/// The ids of a created record: the one sent (or allocated, when none was
/// sent) and the one the server keeps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourcedIdPair {
    pub supplied_sourced_id: String,
    pub allocated_sourced_id: String,
}

/// getUserWithDemographics: the user and, if recorded, their demographics.
#[derive(Debug, Clone)]
pub struct UserWithDemographics {
    pub user: User,
    pub demographics: Option<Demographics>,
}

/// Users management, as the TimeBack SDK names it.
impl Client {
    /// getAllUsers: one page of users. For `fields` selections use
    /// [`Client::list`] with `serde_json::Value`: partial users are not `User`s.
    pub async fn get_all_users(&self, params: &ListParams) -> Result<Page<User>, Error> {
        self.list("users", params).await
    }

    /// Every user matching `params`, page after page (see [`Client::stream`]).
    pub fn users_stream(&self, params: &ListParams) -> impl Stream<Item = Result<User, Error>> + Send + 'static {
        self.stream("users", params)
    }

    /// createUser: `user` is the record (a `serde_json::Value` or any
    /// serialisable type), without the `{"user": …}` envelope.
    pub async fn create_user(&self, user: &impl Serialize) -> Result<SourcedIdPair, Error> {
        self.create("users", "user", user).await
    }

    /// getUser.
    pub async fn get_user(&self, id: &str) -> Result<User, Error> {
        self.get("users", "user", id, None).await
    }

    /// updateUser: replaces the whole record (PUT); answers the stored user.
    pub async fn update_user(&self, id: &str, user: &impl Serialize) -> Result<User, Error> {
        self.replace("users", "user", id, user).await
    }

    /// Changes only the fields sent (PATCH; `null` clears one); answers the stored user.
    pub async fn patch_user(&self, id: &str, changes: &impl Serialize) -> Result<User, Error> {
        self.patch("users", "user", id, changes).await
    }

    /// deleteUser: a soft delete; the user stays readable as `tobedeleted`.
    pub async fn delete_user(&self, id: &str) -> Result<(), Error> {
        self.delete("users", id).await
    }

    /// getUserWithDemographics.
    pub async fn get_user_with_demographics(&self, id: &str) -> Result<UserWithDemographics, Error> {
        let url = self.url(&["users", id, "demographics"]);
        let mut user: Value = self.one(Method::GET, url, "user", None).await?;
        let demographics = user
            .as_object_mut()
            .and_then(|u| u.remove("demographics"))
            .unwrap_or(Value::Null);
        Ok(UserWithDemographics {
            user: decode("user", user)?,
            demographics: decode("demographics", demographics)?,
        })
    }

    /// getClassesForUser: one page of the classes the user is enrolled in.
    pub async fn get_classes_for_user(&self, id: &str, params: &ListParams) -> Result<Page<Class>, Error> {
        self.page(self.list_url(&["users", id, "classes"], params), "classes")
            .await
    }
}

/// Any collection: `collection` is its path (`orgs`, `academicSessions`,
/// `classes`, …) and `wrapper` its singular envelope key (`org`,
/// `academicSession`, `class`, …).
impl Client {
    /// One page of `collection`.
    pub async fn list<T: DeserializeOwned>(&self, collection: &str, params: &ListParams) -> Result<Page<T>, Error> {
        self.page(self.list_url(&[collection], params), collection).await
    }

    /// Every record of `collection` matching `params`, from `params.offset`
    /// on, following `Link: rel="next"`. Ends with an error if the pages
    /// held fewer records than every page's `X-Total-Count` announced.
    pub fn stream<T>(
        &self,
        collection: &str,
        params: &ListParams,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.pages(
            self.list_url(&[collection], params),
            collection,
            params.offset.unwrap_or(0),
        )
    }

    /// One record, optionally only the comma-separated `fields`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        collection: &str,
        wrapper: &str,
        id: &str,
        fields: Option<&str>,
    ) -> Result<T, Error> {
        let mut url = self.url(&[collection, id]);
        if let Some(fields) = fields {
            url.query_pairs_mut().append_pair("fields", fields);
        }
        self.one(Method::GET, url, wrapper, None).await
    }

    /// Creates a record. The server answers `sourcedIdPairs` as one object
    /// (TimeBack profiles) or an array of one (strict 1.2); both are read.
    pub async fn create(
        &self,
        collection: &str,
        wrapper: &str,
        record: &impl Serialize,
    ) -> Result<SourcedIdPair, Error> {
        let body = envelope(wrapper, record)?;
        let mut answer = self.json(Method::POST, self.url(&[collection]), Some(&body)).await?;
        let pairs = take(&mut answer, "sourcedIdPairs")?;
        let pair = match pairs {
            Value::Array(mut one) if one.len() == 1 => one.remove(0),
            other => other,
        };
        decode("sourcedIdPairs", pair)
    }

    /// Replaces a record (PUT) and returns it as stored.
    pub async fn replace<T: DeserializeOwned>(
        &self,
        collection: &str,
        wrapper: &str,
        id: &str,
        record: &impl Serialize,
    ) -> Result<T, Error> {
        let body = envelope(wrapper, record)?;
        self.one(Method::PUT, self.url(&[collection, id]), wrapper, Some(&body))
            .await
    }

    /// Changes only the fields sent (PATCH) and returns the record as stored.
    pub async fn patch<T: DeserializeOwned>(
        &self,
        collection: &str,
        wrapper: &str,
        id: &str,
        changes: &impl Serialize,
    ) -> Result<T, Error> {
        let body = envelope(wrapper, changes)?;
        self.one(Method::PATCH, self.url(&[collection, id]), wrapper, Some(&body))
            .await
    }

    /// Soft-deletes a record (it stays readable as `tobedeleted`).
    pub async fn delete(&self, collection: &str, id: &str) -> Result<(), Error> {
        self.send(Method::DELETE, self.url(&[collection, id]), None).await?;
        Ok(())
    }
}

fn envelope(wrapper: &str, record: &impl Serialize) -> Result<Value, Error> {
    let record = serde_json::to_value(record).map_err(|e| Error::Protocol(format!("encoding the {wrapper}: {e}")))?;
    Ok(json!({ wrapper: record }))
}
