//! Alternate keys: the path's `{sourcedId}` may name a record by another
//! field its declaration lists as a key (`/users/{username}`, Netex's "by
//! id or username"). A key is a sourcedId first; one that is no record's
//! sourcedId is looked up as the declaration's first key; `?by=` picks one.
//!
//! The key is resolved to a sourcedId before the operation runs, so the
//! write, its `If-Match` and its `FieldsToNull` all address the record the
//! key named at that moment: a username moved to another user in between
//! leaves the write on the first one (the sourcedId never moves).

use oneroster::query::{Condition, ListQuery, Scope};
use oneroster::resource::KeyBy;
use oneroster::{FieldDecl, ResourceDecl, unique_key};
use serde_json::Value;

use crate::{Engine, ServiceError};

impl Engine {
    /// The record `key` names (see the module documentation).
    pub async fn find(&self, decl: &'static ResourceDecl, key: &str, by: KeyBy) -> Result<Value, ServiceError> {
        match by {
            KeyBy::SourcedId => self.get(decl, key).await,
            KeyBy::Field(field) => self.find_by(decl, field, key).await,
            KeyBy::Any => match (self.store().get(decl, key).await?, decl.default_key()) {
                (Some(doc), _) => Ok(doc),
                (None, Some(field)) => self.find_by(decl, field, key).await.map_err(|e| match e {
                    ServiceError::NotFound(_) => ServiceError::NotFound(format!(
                        "{} '{key}' not found (no {0} has this sourcedId or {})",
                        decl.singular, field.name
                    )),
                    other => other,
                }),
                (None, None) => self.get(decl, key).await,
            },
        }
    }

    /// The sourcedId of the record `key` names. A resource without keys,
    /// or `by=sourcedId`, takes the key as it is (the operation then answers
    /// 404 itself), so such writes cost no extra read.
    pub async fn resolve(&self, decl: &'static ResourceDecl, key: &str, by: KeyBy) -> Result<String, ServiceError> {
        match by {
            KeyBy::SourcedId => Ok(key.to_owned()),
            KeyBy::Any if decl.keys.is_empty() => Ok(key.to_owned()),
            _ => {
                let doc = self.find(decl, key, by).await?;
                let id = doc.get("sourcedId").and_then(Value::as_str);
                id.map(str::to_owned)
                    .ok_or_else(|| ServiceError::Internal(format!("a stored {} without sourcedId", decl.singular)))
            }
        }
    }

    /// The one record whose `field` is `value`: a unique field compared on
    /// its key (as its unique index does), another exactly, and refused
    /// (409) when more than one record holds the value.
    async fn find_by(
        &self,
        decl: &'static ResourceDecl,
        field: &'static FieldDecl,
        value: &str,
    ) -> Result<Value, ServiceError> {
        let ids: Vec<String> = if field.unique {
            let holders = self
                .store()
                .unique_holders(decl, field, vec![unique_key(value)])
                .await?;
            holders.into_iter().map(|(_, id)| id).collect()
        } else {
            let query = ListQuery::from_pairs(decl, [("limit", "2")])
                .map_err(|e| ServiceError::Internal(e.to_string()))?
                .with_scope(Scope::Where(Condition::equals(field, value)));
            let page = self.store().list(decl, &query).await?;
            page.items
                .iter()
                .filter_map(|d| d.get("sourcedId")?.as_str().map(str::to_owned))
                .collect()
        };
        match ids.as_slice() {
            [] => Err(ServiceError::NotFound(format!(
                "{} '{value}' not found (no {0} has this {})",
                decl.singular, field.name
            ))),
            [id] => self.get(decl, id).await,
            [first, second, ..] => Err(ServiceError::Conflict(format!(
                "{} '{value}' is not unique: {}s '{first}', '{second}' and perhaps more hold it; \
                 name the record by its sourcedId",
                field.name, decl.singular
            ))),
        }
    }
}
