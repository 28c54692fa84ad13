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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use oneroster::model::course_structure::Planned;
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::user::USERS;
use oneroster::problems::Problem;
use oneroster::query::ListQuery;
use oneroster::{Clock, ResourceDecl, SourcedId, Timestamp};
use rollcall_store::{Page, RawPage, Store, StoreError, Write};
use serde_json::{Map, Value};

use crate::embedded::Demographics;
use crate::extensions::Extensions;
use crate::precondition::Precondition;
use crate::{ServiceError, references, rules};

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
    /// Whether writes refuse references to records that do not exist
    /// (see `references`).
    check_references: bool,
    extensions: Extensions,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let extensions = Extensions::new(store.clone());
        Self {
            store,
            clock,
            check_references: true,
            extensions,
        }
    }

    /// This engine, writing references whether or not their targets exist
    /// (a bulk loader sending children before parents).
    pub fn without_reference_check(&self) -> Self {
        Self {
            check_references: false,
            ..self.clone()
        }
    }

    pub(crate) fn checks_references(&self) -> bool {
        self.check_references
    }

    /// The declared extension fields every write checks.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
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
        let (pair, doc, demographics) = self.prepare(decl, input).await?;
        self.check_references(decl, &doc, None).await?;
        self.store.insert(decl, doc).await?;
        if let Some(d) = demographics {
            self.put_demographics(&pair.allocated, d).await?;
        }
        Ok(pair)
    }

    /// Several new records in one transaction (createCourseStructure): each
    /// checked as [`create`](Self::create) checks one, an error naming where
    /// in the request it came from; then all stored, or none.
    pub async fn create_all(&self, records: Vec<Planned>) -> Result<Vec<SourcedIdPair>, ServiceError> {
        let mut pairs = Vec::with_capacity(records.len());
        let mut writes = Vec::with_capacity(records.len());
        let mut references = Vec::new();
        let mut written = HashSet::new();
        for Planned { at, decl, body } in records {
            let (pair, doc, _) = self.prepare(decl, body).await.map_err(|e| match e {
                ServiceError::Invalid(message) => ServiceError::Invalid(format!("{at}: {message}")),
                ServiceError::Problems(problems) => {
                    ServiceError::Invalid(format!("{at}: {}", oneroster::problems::describe(&problems)))
                }
                other => other,
            })?;
            references.extend(references::named(decl, &doc).into_iter().map(|mut n| {
                n.at = format!("{at}: {}", n.at);
                n
            }));
            written.insert((decl.collection, pair.allocated.clone()));
            writes.push(Ok(Write::Insert(decl, vec![doc.to_string()])));
            pairs.push(pair);
        }
        if self.check_references {
            references::refuse(self.missing(references, &written).await?)?;
        }
        self.store.apply(Box::new(writes.into_iter())).await?;
        Ok(pairs)
    }

    /// A new record's stored form, its id pair, and the demographics a user
    /// body embeds: server-owned fields set, validated, secrets hashed.
    async fn prepare(&self, decl: &'static ResourceDecl, input: Value) -> Result<Prepared, ServiceError> {
        self.extensions.current().await?;
        let mut object = into_object(decl, input)?;
        let mut found = Vec::new();
        let supplied = supplied_id(&object).unwrap_or_else(|p| {
            found.push(p);
            None
        });
        let id = supplied.clone().unwrap_or_else(|| SourcedId::allocate().to_string());
        let demographics = self.take_demographics(decl, &mut object, &id)?;
        self.fill_school(decl, &mut object).await?;
        let doc = rules::checked(decl, object, &id, &self.now(), found, true)
            .map_err(|p| invalid_record(decl.singular, p))?;
        let mut doc =
            (self.extensions.held().checked(decl.collection, doc)).map_err(|p| invalid_record(decl.singular, p))?;
        rules::protect(decl, &mut doc, None).await?;
        let pair = SourcedIdPair {
            supplied,
            allocated: id,
        };
        Ok((pair, doc, demographics))
    }

    /// PUT: replaces an existing record with the body. A stored password is
    /// kept when the body omits it (send `"password": null` to clear it).
    pub async fn replace(&self, decl: &'static ResourceDecl, id: &str, input: Value) -> Result<Value, ServiceError> {
        self.replace_checked(decl, id, input, &Precondition::None).await
    }

    /// [`replace`](Self::replace) if the stored version satisfies `expect`,
    /// checked in the write's own transaction.
    pub async fn replace_checked(
        &self,
        decl: &'static ResourceDecl,
        id: &str,
        input: Value,
        expect: &Precondition,
    ) -> Result<Value, ServiceError> {
        self.extensions.current().await?;
        let mut object = into_object(decl, input)?;
        check_body_id(&object, id)?;
        let demographics = self.take_demographics(decl, &mut object, id)?;
        self.fill_school(decl, &mut object).await?;
        self.keep_unsent(decl, id, &mut object).await?;
        let stamped = self.stamp(decl, object.clone(), id)?;
        self.check_references(decl, &stamped, None).await?;
        hash_object(decl, &mut object).await?;
        let (engine, id_owned) = (self.clone(), id.to_owned());
        let (check, failed) = expect.checker();
        let extensions = self.extensions.held();
        let update = Box::new(move |current: Value| {
            check(&current)?;
            for key in decl.write_only.iter().filter(|k| !k.contains('.')) {
                if let (false, Some(kept)) = (object.contains_key(*key), current.get(*key)) {
                    object.insert((*key).to_owned(), kept.clone());
                }
            }
            let doc = rules::stamp(decl, object, &id_owned, &engine.now_over(&current))?;
            extensions.apply(decl.collection, doc)
        });
        let written = self.store.update(decl, id, update).await;
        let stored = written.map_err(|e| failed.explain(map_missing(e, decl, id)))?;
        if let Some(d) = demographics {
            self.put_demographics(id, d).await?;
        }
        Ok(stored)
    }

    /// PATCH: changes only the top-level fields sent; `null` removes a field
    /// (RFC 7396 merge semantics, nested objects merged member by member).
    pub async fn patch(&self, decl: &'static ResourceDecl, id: &str, input: Value) -> Result<Value, ServiceError> {
        self.patch_checked(decl, id, input, &Precondition::None).await
    }

    /// [`patch`](Self::patch) if the stored version satisfies `expect`.
    pub async fn patch_checked(
        &self,
        decl: &'static ResourceDecl,
        id: &str,
        input: Value,
        expect: &Precondition,
    ) -> Result<Value, ServiceError> {
        self.extensions.current().await?;
        let mut changes = into_object(decl, input)?;
        check_body_id(&changes, id)?;
        let current = self.get(decl, id).await?;
        let stamped = self.stamp(decl, merge(current.clone(), changes.clone()), id)?;
        self.check_references(decl, &stamped, Some(&current)).await?;
        hash_object(decl, &mut changes).await?;
        let (engine, id_owned) = (self.clone(), id.to_owned());
        let (check, failed) = expect.checker();
        let extensions = self.extensions.held();
        let update = Box::new(move |current: Value| {
            check(&current)?;
            let at = engine.now_over(&current);
            let doc = rules::stamp(decl, merge(current, changes), &id_owned, &at)?;
            extensions.apply(decl.collection, doc)
        });
        let written = self.store.update(decl, id, update).await;
        written.map_err(|e| failed.explain(map_missing(e, decl, id)))
    }

    /// DELETE: a soft delete. The record stays readable as `tobedeleted`
    /// with a new `dateLastModified`, so delta consumers see it go.
    pub async fn delete(&self, decl: &'static ResourceDecl, id: &str) -> Result<(), ServiceError> {
        self.delete_checked(decl, id, &Precondition::None).await
    }

    /// [`delete`](Self::delete) if the stored version satisfies `expect`.
    pub async fn delete_checked(
        &self,
        decl: &'static ResourceDecl,
        id: &str,
        expect: &Precondition,
    ) -> Result<(), ServiceError> {
        let engine = self.clone();
        let (check, failed) = expect.checker();
        let update = Box::new(move |mut current: Value| {
            check(&current)?;
            let now = engine.now_over(&current);
            rules::soft_delete(&mut current, &now);
            Ok(current)
        });
        let written = self.store.update(decl, id, update).await;
        written.map_err(|e| failed.explain(map_missing(e, decl, id)))?;
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

    /// [`stamp`](Self::stamp) for another module of the crate.
    pub(crate) fn stamp_as(
        &self,
        decl: &ResourceDecl,
        object: Map<String, Value>,
        id: &str,
    ) -> Result<Value, ServiceError> {
        self.stamp(decl, object, id)
    }

    /// Sets the server-owned fields and validates into the stored form,
    /// declared extension fields included; refused, it reports every
    /// problem of the body at once.
    pub(crate) fn stamp(
        &self,
        decl: &ResourceDecl,
        object: Map<String, Value>,
        id: &str,
    ) -> Result<Value, ServiceError> {
        let doc = rules::checked(decl, object, id, &self.now(), Vec::new(), true)
            .map_err(|p| invalid_record(decl.singular, p))?;
        self.extensions
            .held()
            .checked(decl.collection, doc)
            .map_err(|p| invalid_record(decl.singular, p))
    }

    /// The stamp of a write over `current` (see `rules::stamp_after`).
    pub(crate) fn now_over(&self, current: &Value) -> String {
        rules::stamp_after(&self.now(), current)
    }

    pub(crate) fn now(&self) -> String {
        Timestamp::new(self.clock.now()).to_wire()
    }
}

/// What [`Engine::prepare`] makes of a new record.
type Prepared = (SourcedIdPair, Value, Option<Demographics>);

/// `changes` over `current`, as RFC 7396 merges a patch: objects merge
/// member by member at every depth, `null` removes, anything else (arrays
/// included) replaces.
fn merge(current: Value, changes: Map<String, Value>) -> Map<String, Value> {
    let mut merged = match current {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (key, value) in changes {
        match (value, merged.remove(&key)) {
            (Value::Null, _) => {}
            (Value::Object(inner), old) => {
                merged.insert(key, Value::Object(merge(old.unwrap_or(Value::Null), inner)));
            }
            (value, _) => {
                merged.insert(key, value);
            }
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

/// The sourcedId a new record's body supplies, if any, or what is wrong
/// with it.
pub(crate) fn supplied_id(object: &Map<String, Value>) -> Result<Option<String>, Problem> {
    let problem = |message: String| Problem {
        path: "sourcedId".into(),
        message,
    };
    match object.get("sourcedId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => match SourcedId::parse(s) {
            Ok(id) => Ok(Some(id.to_string())),
            Err(e) => Err(problem(e.to_string())),
        },
        Some(other) => Err(problem(format!("expected a string, found {other}"))),
    }
}

/// A refused record's problems, their paths under the body's wrapper.
pub(crate) fn invalid_record(wrapper: &str, problems: Vec<Problem>) -> ServiceError {
    ServiceError::Problems(problems.into_iter().map(|p| p.under(wrapper)).collect())
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

/// [`rules::protect`] on a body kept as an object (for the update step).
async fn hash_object(decl: &ResourceDecl, object: &mut Map<String, Value>) -> Result<(), ServiceError> {
    let mut doc = Value::Object(std::mem::take(object));
    rules::protect(decl, &mut doc, None).await?;
    if let Value::Object(m) = doc {
        *object = m;
    }
    Ok(())
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
