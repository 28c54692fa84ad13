//! The generic resource engine: every OneRoster resource goes through these
//! operations, parameterised only by its [`ResourceDecl`].
//!
//! Writes always: take the client's object, set the server-owned fields
//! (`sourcedId` from the path, `dateLastModified` from the clock, `status`
//! defaulting to `active`), run the declaration's `normalize`, which
//! validates and produces the stored form, and only then hash write-only
//! secrets: hashing is deliberately slow, so a body that will be refused
//! must be refused before it costs a hash. Updates validate against the
//! current record first, then hash, then stamp and validate again inside the
//! store's write transaction (the record may have changed in between).

use std::collections::HashMap;
use std::sync::Arc;

use oneroster::model::class::CLASSES;
use oneroster::model::course_structure::Planned;
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::enrollment::ENROLLMENTS;
use oneroster::model::user::USERS;
use oneroster::path;
use oneroster::query::{ListQuery, Scope};
use oneroster::resource::ModelError;
use oneroster::{Clock, ResourceDecl, SourcedId, Timestamp};
use rollcall_store::{Page, RawPage, Store, StoreError, Write};
use serde_json::{Map, Value};

use crate::{ServiceError, rules, secret};

/// What `create` reports: the id the client supplied (if any) and the one stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcedIdPair {
    pub supplied: Option<String>,
    pub allocated: String,
}

#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub async fn get(&self, decl: &'static ResourceDecl, id: &str) -> Result<Value, ServiceError> {
        self.store.get(decl, id).await?.ok_or_else(|| not_found(decl, id))
    }

    pub async fn list(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<Page, ServiceError> {
        Ok(self.store.list(decl, query).await?)
    }

    /// As [`list`](Self::list), records as stored JSON text (for responses).
    pub async fn list_raw(&self, decl: &'static ResourceDecl, query: &ListQuery) -> Result<RawPage, ServiceError> {
        Ok(self.store.list_raw(decl, query).await?)
    }

    /// POST: stores a new record; the server allocates a UUID when the
    /// client supplies no sourcedId.
    pub async fn create(&self, decl: &'static ResourceDecl, input: Value) -> Result<SourcedIdPair, ServiceError> {
        let (pair, doc) = self.prepare(decl, input).await?;
        self.store.insert(decl, doc).await?;
        Ok(pair)
    }

    /// Several new records in one transaction (createCourseStructure): each
    /// checked as [`create`](Self::create) checks one, an error naming where
    /// in the request it came from; then all stored, or none.
    pub async fn create_all(&self, records: Vec<Planned>) -> Result<Vec<SourcedIdPair>, ServiceError> {
        let mut pairs = Vec::with_capacity(records.len());
        let mut writes = Vec::with_capacity(records.len());
        for Planned { at, decl, body } in records {
            let (pair, doc) = self.prepare(decl, body).await.map_err(|e| match e {
                ServiceError::Invalid(message) => ServiceError::Invalid(format!("{at}: {message}")),
                other => other,
            })?;
            writes.push(Ok(Write::Insert(decl, vec![doc.to_string()])));
            pairs.push(pair);
        }
        self.store.apply(Box::new(writes.into_iter())).await?;
        Ok(pairs)
    }

    /// A new record's stored form and its id pair: server-owned fields set,
    /// validated, secrets hashed.
    async fn prepare(&self, decl: &'static ResourceDecl, input: Value) -> Result<(SourcedIdPair, Value), ServiceError> {
        let object = into_object(decl, input)?;
        let supplied = match object.get("sourcedId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_id(s)?.to_string()),
            Some(other) => {
                return Err(ServiceError::Invalid(format!(
                    "sourcedId: expected a string, found {other}"
                )));
            }
        };
        let id = supplied.clone().unwrap_or_else(|| SourcedId::allocate().to_string());
        let mut doc = self.stamp(decl, object, &id)?;
        hash_write_only(decl, &mut doc).await?;
        let pair = SourcedIdPair {
            supplied,
            allocated: id,
        };
        Ok((pair, doc))
    }

    /// PUT: replaces an existing record with the body. A stored password is
    /// kept when the body omits it (send `"password": null` to clear it).
    pub async fn replace(&self, decl: &'static ResourceDecl, id: &str, input: Value) -> Result<Value, ServiceError> {
        let mut object = into_object(decl, input)?;
        check_body_id(&object, id)?;
        self.stamp(decl, object.clone(), id)?;
        hash_object(decl, &mut object).await?;
        let (engine, id_owned) = (self.clone(), id.to_owned());
        let update = Box::new(move |current: Value| {
            for key in decl.write_only.iter().filter(|k| !k.contains('.')) {
                if let (false, Some(kept)) = (object.contains_key(*key), current.get(*key)) {
                    object.insert((*key).to_owned(), kept.clone());
                }
            }
            engine
                .stamp(decl, object, &id_owned)
                .map_err(|e| ModelError(e.to_string()))
        });
        self.store
            .update(decl, id, update)
            .await
            .map_err(|e| map_missing(e, decl, id))
    }

    /// PATCH: changes only the top-level fields sent; `null` removes a field
    /// (RFC 7396 merge semantics at the top level).
    pub async fn patch(&self, decl: &'static ResourceDecl, id: &str, input: Value) -> Result<Value, ServiceError> {
        let mut changes = into_object(decl, input)?;
        check_body_id(&changes, id)?;
        let current = self.get(decl, id).await?;
        self.stamp(decl, merge(current, changes.clone()), id)?;
        hash_object(decl, &mut changes).await?;
        let (engine, id_owned) = (self.clone(), id.to_owned());
        let update = Box::new(move |current: Value| {
            engine
                .stamp(decl, merge(current, changes), &id_owned)
                .map_err(|e| ModelError(e.to_string()))
        });
        self.store
            .update(decl, id, update)
            .await
            .map_err(|e| map_missing(e, decl, id))
    }

    /// DELETE: a soft delete. The record stays readable as `tobedeleted`
    /// with a new `dateLastModified`, so delta consumers see it go.
    pub async fn delete(&self, decl: &'static ResourceDecl, id: &str) -> Result<(), ServiceError> {
        let now = Timestamp::new(self.clock.now()).to_wire();
        let update = Box::new(move |mut current: Value| {
            rules::soft_delete(&mut current, &now);
            Ok(current)
        });
        self.store
            .update(decl, id, update)
            .await
            .map_err(|e| map_missing(e, decl, id))?;
        Ok(())
    }

    /// getUserWithDemographics: the user and the demographics record that
    /// shares its sourcedId, if any.
    pub async fn user_with_demographics(&self, id: &str) -> Result<(Value, Option<Value>), ServiceError> {
        let user = self
            .store
            .get(&USERS, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("User not found.".into()))?;
        let demographics = self.store.get(&DEMOGRAPHICS, id).await?;
        Ok((user, demographics))
    }

    /// getClassesForUser: classes the user has an enrollment in.
    pub async fn classes_for_user(&self, id: &str, query: ListQuery) -> Result<Page, ServiceError> {
        self.get(&USERS, id).await?;
        let field = |name| ENROLLMENTS.field(name).expect("declared enrollment field");
        let query = query.with_scope(Scope::Via {
            via: &ENROLLMENTS,
            key: field("user.sourcedId"),
            value: id.to_owned(),
            target: field("class.sourcedId"),
        });
        self.list(&CLASSES, &query).await
    }

    /// The `name` of each referenced record, for references rendered with
    /// names (TimeBack's `primaryOrg.name`).
    pub async fn names(
        &self,
        decl: &'static ResourceDecl,
        ids: Vec<String>,
    ) -> Result<HashMap<String, String>, ServiceError> {
        let docs = self.store.get_many(decl, ids).await?;
        Ok(docs
            .iter()
            .filter_map(|d| {
                Some((
                    d.get("sourcedId")?.as_str()?.to_owned(),
                    d.get("name")?.as_str()?.to_owned(),
                ))
            })
            .collect())
    }

    /// Sets the server-owned fields and validates into the stored form.
    fn stamp(&self, decl: &ResourceDecl, object: Map<String, Value>, id: &str) -> Result<Value, ServiceError> {
        let now = Timestamp::new(self.clock.now()).to_wire();
        rules::stamp(decl, object, id, &now).map_err(|e| ServiceError::Invalid(e.0))
    }
}

/// `changes` over `current`, RFC 7396 at the top level: `null` removes.
fn merge(current: Value, changes: Map<String, Value>) -> Map<String, Value> {
    let mut merged = match current {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (key, value) in changes {
        if value.is_null() {
            merged.remove(&key);
        } else {
            merged.insert(key, value);
        }
    }
    merged
}

fn not_found(decl: &ResourceDecl, id: &str) -> ServiceError {
    ServiceError::NotFound(format!("{} '{id}' not found", decl.singular))
}

fn map_missing(e: StoreError, decl: &ResourceDecl, id: &str) -> ServiceError {
    match e {
        StoreError::NotFound => not_found(decl, id),
        other => other.into(),
    }
}

fn parse_id(raw: &str) -> Result<SourcedId, ServiceError> {
    SourcedId::parse(raw).map_err(|e| ServiceError::Invalid(format!("sourcedId: {e}")))
}

fn into_object(decl: &ResourceDecl, input: Value) -> Result<Map<String, Value>, ServiceError> {
    match input {
        Value::Object(m) => Ok(m),
        other => Err(ServiceError::Invalid(format!(
            "{}: expected an object, found {}",
            decl.singular,
            kind_of(&other)
        ))),
    }
}

/// A body may repeat the path's sourcedId but not name a different record.
fn check_body_id(object: &Map<String, Value>, id: &str) -> Result<(), ServiceError> {
    match object.get("sourcedId") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == id => Ok(()),
        Some(other) => Err(ServiceError::Invalid(format!(
            "sourcedId in the body ({other}) does not match the sourcedId in the path ('{id}')"
        ))),
    }
}

/// Replaces every write-only value (passwords) with its argon2 hash.
async fn hash_write_only(decl: &ResourceDecl, doc: &mut Value) -> Result<(), ServiceError> {
    for field in decl.write_only {
        let (parent, key) = field.rsplit_once('.').unwrap_or(("", field));
        let mut plain = Vec::new();
        let mut collect = |m: &mut Map<String, Value>| {
            if let Some(Value::String(s)) = m.get(key) {
                plain.push(s.clone());
            }
        };
        visit(doc, parent, &mut collect);
        let mut hashes = Vec::with_capacity(plain.len());
        for p in plain {
            hashes.push(secret::hash(p).await?);
        }
        let mut hashes = hashes.into_iter();
        visit(doc, parent, &mut |m: &mut Map<String, Value>| {
            if let Some(Value::String(_)) = m.get(key) {
                m.insert(key.to_owned(), Value::String(hashes.next().unwrap_or_default()));
            }
        });
    }
    Ok(())
}

/// [`hash_write_only`] on a body kept as an object (for the update step).
async fn hash_object(decl: &ResourceDecl, object: &mut Map<String, Value>) -> Result<(), ServiceError> {
    let mut doc = Value::Object(std::mem::take(object));
    hash_write_only(decl, &mut doc).await?;
    if let Value::Object(m) = doc {
        *object = m;
    }
    Ok(())
}

fn visit(doc: &mut Value, parent: &str, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if parent.is_empty() {
        if let Value::Object(m) = doc {
            f(m);
        }
    } else {
        path::for_each_object(doc, parent, f);
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
