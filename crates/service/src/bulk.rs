//! Bulk writes: many records of one resource in one request, all written in
//! one transaction or none. Each record goes through the same rules as a
//! single write (stamped, normalised, its secrets hashed); a record whose
//! sourcedId is stored replaces it (as PUT would: an upsert, what bulk
//! loaders send), any other is created. Nothing is written unless every
//! record passes, and then everything goes through `ResourceStore::apply`,
//! the one bulk write path the CSV import also takes.

use std::collections::{HashMap, HashSet};

use oneroster::model::user::USERS;
use oneroster::problems::Problem;
use oneroster::{FieldDecl, ResourceDecl, SourcedId, path, unique_key};
use rollcall_store::Write;
use rollcall_store::schema::unique_fields;
use serde_json::{Map, Value};
use tokio::task::JoinSet;

use crate::engine::{kind_of, supplied_id};
use crate::{Engine, ServiceError, references, rules};

/// The most records one bulk request may carry.
pub const MAX_RECORDS: usize = 10_000;

/// The most records with secrets (passwords) one bulk request may carry:
/// each costs an argon2 hash, one core's work for a noticeable while, and
/// the request must finish within the server's request timeout.
pub const MAX_SECRETS: usize = 500;

/// Refused records past this many report only the model's first complaint
/// (finding every problem costs trial runs of the model).
const DETAILED: usize = 100;

/// New records go to the store in batches of this many.
const BATCH: usize = 1_000;

/// What happened to one record of a bulk write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Replaced,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Replaced => "replaced",
        }
    }
}

/// One record of a written bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub index: usize,
    pub sourced_id: String,
    pub outcome: Outcome,
}

/// One refused record: its place in the request, its sourcedId when it
/// has a usable one, and every problem found (paths relative to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub index: usize,
    pub sourced_id: Option<String>,
    pub problems: Vec<Problem>,
}

/// A bulk request's result: every record written, or (nothing written) the
/// records refused.
#[derive(Debug)]
pub enum Report {
    Written(Vec<Written>),
    Refused(Vec<Refused>),
}

/// A record on its way to the store.
struct Planned {
    index: usize,
    id: String,
    doc: Value,
    /// The stored version it replaces.
    current: Option<Value>,
}

impl Engine {
    /// Writes `records` of `decl` in one transaction, or none of them.
    pub async fn bulk(&self, decl: &'static ResourceDecl, records: Vec<Value>) -> Result<Report, ServiceError> {
        if records.len() > MAX_RECORDS {
            return Err(ServiceError::Invalid(format!(
                "{} {}: a bulk write takes at most {MAX_RECORDS} records",
                records.len(),
                decl.collection
            )));
        }
        let extensions = self.extensions().current().await?;
        let mut refused = Vec::new();
        let objects = objects(decl, records, &mut refused);
        let ids: Vec<String> = objects.iter().filter_map(|(_, _, id)| id.clone()).collect();
        let stored = self.stored(decl, ids).await?;
        let now = self.now();
        let mut planned = Vec::with_capacity(objects.len());
        for (index, (mut object, found), supplied) in objects {
            let id = supplied.clone().unwrap_or_else(|| SourcedId::allocate().to_string());
            let current = stored.get(&id).cloned();
            self.fill_school(decl, &mut object).await?;
            if current.is_some() {
                self.keep_unsent(decl, &id, &mut object).await?;
            }
            let at = current
                .as_ref()
                .map_or_else(|| now.clone(), |c| rules::stamp_after(&now, c));
            let checked = rules::checked(decl, object, &id, &at, found, refused.len() < DETAILED)
                .and_then(|doc| extensions.checked(decl.collection, doc));
            match checked {
                Ok(doc) => planned.push(Planned {
                    index,
                    id,
                    doc,
                    current,
                }),
                Err(problems) => refused.push(Refused {
                    index,
                    sourced_id: supplied,
                    problems,
                }),
            }
        }
        refused.extend(self.unreferenced(decl, &planned).await?);
        refused.extend(self.clashing(decl, &planned).await?);
        if !refused.is_empty() {
            return Ok(Report::Refused(merged(refused)));
        }
        let planned = protect(decl, planned).await?;
        let written = planned.iter().map(|p| Written {
            index: p.index,
            sourced_id: p.id.clone(),
            outcome: if p.current.is_some() {
                Outcome::Replaced
            } else {
                Outcome::Created
            },
        });
        let written: Vec<Written> = written.collect();
        self.store()
            .apply(Box::new(writes(decl, planned).into_iter().map(Ok)))
            .await?;
        Ok(Report::Written(written))
    }

    /// The planned records naming a record that neither is stored nor comes
    /// in this request (an org's parent may come beside it), unless this
    /// engine skips the reference check.
    async fn unreferenced(
        &self,
        decl: &'static ResourceDecl,
        planned: &[Planned],
    ) -> Result<Vec<Refused>, ServiceError> {
        if !self.checks_references() {
            return Ok(Vec::new());
        }
        let written: HashSet<(&str, String)> = planned.iter().map(|p| (decl.collection, p.id.clone())).collect();
        let wanted = planned.iter().flat_map(|p| references::named(decl, &p.doc)).collect();
        let missing: HashSet<(&str, String)> = self
            .missing(wanted, &written)
            .await?
            .into_iter()
            .map(|n| (n.target.collection, n.id))
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let mut refused = Vec::new();
        for p in planned {
            let problems: Vec<Problem> = references::named(decl, &p.doc)
                .into_iter()
                .filter(|n| missing.contains(&(n.target.collection, n.id.clone())))
                .map(|n| Problem {
                    message: format!("no {} '{}'", n.target.singular, n.id),
                    path: n.at,
                })
                .collect();
            if !problems.is_empty() {
                refused.push(Refused {
                    index: p.index,
                    sourced_id: Some(p.id.clone()),
                    problems,
                });
            }
        }
        Ok(refused)
    }

    /// The planned records whose unique value (a user's email or username,
    /// compared on its key as the unique index does) an earlier record of
    /// the request holds, or another stored record holds (also one this
    /// request replaces: new records are written first, so a value cannot
    /// move between records in one request).
    async fn clashing(&self, decl: &'static ResourceDecl, planned: &[Planned]) -> Result<Vec<Refused>, ServiceError> {
        let mut refused = Vec::new();
        for field in unique_fields(decl) {
            let mut first: HashMap<String, &Planned> = HashMap::new();
            for p in planned {
                let Some(value) = p.doc.get(field.name).and_then(Value::as_str) else {
                    continue;
                };
                match first.get(&unique_key(value)) {
                    Some(other) => refused.push(clash(
                        p,
                        field,
                        format!(
                            "'{value}' is also the {} of item {}: {}s are unique",
                            field.name, other.index, field.name
                        ),
                    )),
                    None => {
                        first.insert(unique_key(value), p);
                    }
                }
            }
            let keys: Vec<String> = first.keys().cloned().collect();
            for chunk in keys.chunks(BATCH) {
                for (key, holder) in self.store().unique_holders(decl, field, chunk.to_vec()).await? {
                    let Some(p) = first.get(&key).filter(|p| p.id != holder) else {
                        continue;
                    };
                    let message = format!("another {} already has this {}", decl.singular, field.name);
                    refused.push(clash(p, field, message));
                }
            }
        }
        Ok(refused)
    }

    /// The stored records among `ids`, by sourcedId.
    async fn stored(
        &self,
        decl: &'static ResourceDecl,
        ids: Vec<String>,
    ) -> Result<HashMap<String, Value>, ServiceError> {
        let mut stored = HashMap::new();
        for chunk in ids.chunks(BATCH) {
            for doc in self.store().get_many(decl, chunk.to_vec()).await? {
                if let Some(id) = doc.get("sourcedId").and_then(Value::as_str) {
                    stored.insert(id.to_owned(), doc.clone());
                }
            }
        }
        Ok(stored)
    }
}

/// A record's body, with the problems already found in it (its sourcedId's).
type Body = (Map<String, Value>, Vec<Problem>);

/// The records as objects with their supplied sourcedIds; what is not an
/// object is refused here. A sourcedId sent twice is refused the second
/// time: one transaction cannot both create and replace a record.
fn objects(decl: &ResourceDecl, records: Vec<Value>, refused: &mut Vec<Refused>) -> Vec<(usize, Body, Option<String>)> {
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let Value::Object(object) = record else {
            let message = format!("expected an object, found {}", kind_of(&record));
            refused.push(Refused {
                index,
                sourced_id: None,
                problems: vec![Problem {
                    path: String::new(),
                    message,
                }],
            });
            continue;
        };
        let mut found = Vec::new();
        let supplied = supplied_id(&object).unwrap_or_else(|p| {
            found.push(p);
            None
        });
        if let Some(id) = &supplied {
            let first = *first_at.entry(id.clone()).or_insert(index);
            if first != index {
                found.push(Problem {
                    path: "sourcedId".into(),
                    message: format!("'{id}' is also the sourcedId of item {first}: a record may appear once"),
                });
            }
        }
        if std::ptr::eq(decl, &USERS) && object.get("demographics").is_some_and(|d| !d.is_null()) {
            found.push(Problem {
                path: "demographics".into(),
                message: "not accepted in a bulk write: send the demographics records to /demographics/bulk".into(),
            });
        }
        out.push((index, (object, found), supplied));
    }
    out
}

/// Hashes the records' secrets, as many at once as the hashing bound lets
/// run; a replaced record keeps the stored hash of a secret sent again, and
/// a stored secret its body leaves out (as PUT does).
async fn protect(decl: &'static ResourceDecl, planned: Vec<Planned>) -> Result<Vec<Planned>, ServiceError> {
    let has_secret = |doc: &Value| decl.write_only.iter().any(|f| !path::values_at(doc, f).is_empty());
    let secrets = planned.iter().filter(|p| has_secret(&p.doc)).count();
    if secrets > MAX_SECRETS {
        return Err(ServiceError::Invalid(format!(
            "{secrets} records carry passwords; a bulk write hashes at most {MAX_SECRETS} \
             (each is a deliberately slow argon2 hash): split the request"
        )));
    }
    let mut out: Vec<Option<Planned>> = Vec::with_capacity(planned.len());
    let mut hashing = JoinSet::new();
    for (at, mut p) in planned.into_iter().enumerate() {
        if has_secret(&p.doc) {
            hashing.spawn(async move {
                let result = rules::protect(decl, &mut p.doc, p.current.as_ref()).await;
                result.map(|()| (at, p))
            });
            out.push(None);
        } else {
            out.push(Some(p));
        }
    }
    while let Some(done) = hashing.join_next().await {
        let (at, p) = done.map_err(|e| ServiceError::Internal(e.to_string()))??;
        out[at] = Some(p);
    }
    let mut planned: Vec<Planned> = out.into_iter().flatten().collect();
    for p in &mut planned {
        keep_stored_secrets(decl, p);
    }
    Ok(planned)
}

/// A top-level secret the body leaves out stays as stored.
fn keep_stored_secrets(decl: &ResourceDecl, p: &mut Planned) {
    let (Some(Value::Object(current)), Value::Object(doc)) = (&p.current, &mut p.doc) else {
        return;
    };
    for key in decl.write_only.iter().filter(|k| !k.contains('.')) {
        if let (false, Some(kept)) = (doc.contains_key(*key), current.get(*key)) {
            doc.insert((*key).to_owned(), kept.clone());
        }
    }
}

/// The store's steps: new records in batches, and each replacement
/// conditional on the version it was planned from (a record changed in the
/// meantime is a conflict, and nothing is written).
fn writes(decl: &'static ResourceDecl, planned: Vec<Planned>) -> Vec<Write> {
    let (replaced, created): (Vec<Planned>, Vec<Planned>) = planned.into_iter().partition(|p| p.current.is_some());
    let mut steps: Vec<Write> = Vec::new();
    let created: Vec<String> = created.iter().map(|p| p.doc.to_string()).collect();
    for batch in created.chunks(BATCH) {
        steps.push(Write::Insert(decl, batch.to_vec()));
    }
    for p in replaced {
        let read = p
            .current
            .as_ref()
            .and_then(|c| c.get("dateLastModified"))
            .and_then(Value::as_str);
        steps.push(Write::Replace {
            decl,
            read: read.map(str::to_owned),
            doc: p.doc.to_string(),
            id: p.id,
        });
    }
    steps
}

/// A refusal of `p` for its value of the unique `field`.
fn clash(p: &Planned, field: &FieldDecl, message: String) -> Refused {
    Refused {
        index: p.index,
        sourced_id: Some(p.id.clone()),
        problems: vec![Problem {
            path: field.name.to_owned(),
            message,
        }],
    }
}

/// One refusal per record, in request order, with all its problems.
fn merged(mut refused: Vec<Refused>) -> Vec<Refused> {
    refused.sort_by_key(|r| r.index);
    let mut out: Vec<Refused> = Vec::with_capacity(refused.len());
    for r in refused {
        match out.last_mut() {
            Some(last) if last.index == r.index => last.problems.extend(r.problems),
            _ => out.push(r),
        }
    }
    out
}
