//! What TimeBack's write bodies carry beyond the record itself, or leave
//! out of it: a user's `demographics` embedded in the user, an enrollment
//! without the `school` 1.2 requires (it is the class's school), a class
//! update without what 1.2 requires of a class.

use oneroster::ResourceDecl;
use oneroster::model::class::CLASSES;
use oneroster::model::demographics::DEMOGRAPHICS;
use oneroster::model::enrollment::ENROLLMENTS;
use oneroster::model::user::USERS;
use serde_json::{Map, Value};

/// What a class PUT keeps from the stored class when the body leaves it
/// out, each with the other name it may come under: TimeBack's updateClass
/// body requires nothing and cannot carry `course` or the school at all.
const CLASS_KEPT_ON_REPLACE: &[(&str, &[&str])] =
    &[("title", &[]), ("course", &[]), ("school", &["org"]), ("terms", &[])];

use crate::{Engine, ServiceError};

/// A user's embedded demographics, taken out of the user's body and
/// validated as the demographics record sharing the user's sourcedId.
pub struct Demographics(Map<String, Value>);

impl Engine {
    /// Takes `demographics` out of a user's body (`None` for other records
    /// or when absent or null), validated before anything is written, so a
    /// bad one leaves nothing changed.
    pub(crate) fn take_demographics(
        &self,
        decl: &ResourceDecl,
        object: &mut Map<String, Value>,
        id: &str,
    ) -> Result<Option<Demographics>, ServiceError> {
        if !std::ptr::eq(decl, &USERS) {
            return Ok(None);
        }
        match object.shift_remove("demographics") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(mut m)) => {
                match m.get("sourcedId") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) if s == id => {}
                    Some(other) => {
                        return Err(ServiceError::Invalid(format!(
                            "demographics.sourcedId ({other}) must be the user's sourcedId ('{id}')"
                        )));
                    }
                }
                m.shift_remove("dateLastModified");
                self.stamp_as(&DEMOGRAPHICS, m.clone(), id)
                    .map_err(|e| ServiceError::Invalid(format!("demographics: {e}")))?;
                Ok(Some(Demographics(m)))
            }
            Some(other) => Err(ServiceError::Invalid(format!(
                "demographics: expected an object, found {other}"
            ))),
        }
    }

    /// Stores the user's demographics record through the ordinary write
    /// path: replaced when it exists, created otherwise. (Boxed: the write
    /// path calls this, and this calls the write path.)
    pub(crate) async fn put_demographics(&self, id: &str, d: Demographics) -> Result<(), ServiceError> {
        let body = Value::Object(d.0);
        match self.store().get(&DEMOGRAPHICS, id).await? {
            Some(_) => Box::pin(self.replace(&DEMOGRAPHICS, id, body)).await.map(drop),
            None => {
                let mut body = body;
                body["sourcedId"] = id.into();
                Box::pin(self.create(&DEMOGRAPHICS, body)).await.map(drop)
            }
        }
    }

    /// A class PUT's body with what TimeBack's updateClass leaves out taken
    /// from the stored class (404 when there is none: nothing to keep from).
    pub(crate) async fn keep_unsent(
        &self,
        decl: &ResourceDecl,
        id: &str,
        object: &mut Map<String, Value>,
    ) -> Result<(), ServiceError> {
        if !std::ptr::eq(decl, &CLASSES) {
            return Ok(());
        }
        let sent = |names: &[&str]| names.iter().any(|n| object.get(*n).is_some_and(|v| !v.is_null()));
        let unsent: Vec<&str> = CLASS_KEPT_ON_REPLACE
            .iter()
            .filter(|(key, aliases)| !sent(&[key]) && !sent(aliases))
            .map(|(key, _)| *key)
            .collect();
        if unsent.is_empty() {
            return Ok(());
        }
        let Some(Value::Object(mut current)) = self.store().get(&CLASSES, id).await? else {
            return Err(ServiceError::NotFound(format!("{} '{id}' not found", decl.singular)));
        };
        for key in unsent {
            if let Some(v) = current.shift_remove(key) {
                object.insert(key.to_owned(), v);
            }
        }
        Ok(())
    }

    /// An enrollment sent without `school` (TimeBack's requests may leave
    /// it out) gets its class's school, which is what 1.2 requires it to be,
    /// and without `course` its class's course, which TimeBack's responses
    /// require.
    pub(crate) async fn fill_school(
        &self,
        decl: &ResourceDecl,
        object: &mut Map<String, Value>,
    ) -> Result<(), ServiceError> {
        let missing = |key: &str, object: &Map<String, Value>| object.get(key).is_none_or(Value::is_null);
        if !std::ptr::eq(decl, &ENROLLMENTS) || !(missing("school", object) || missing("course", object)) {
            return Ok(());
        }
        let Some(class_id) = object
            .get("class")
            .and_then(|c| c.get("sourcedId"))
            .and_then(Value::as_str)
        else {
            return Ok(());
        };
        let Some(class) = self.store().get(&CLASSES, class_id).await? else {
            return Ok(());
        };
        for key in ["school", "course"] {
            if let (true, Some(value)) = (missing(key, object), class.get(key)) {
                object.insert(key.into(), value.clone());
            }
        }
        Ok(())
    }
}
