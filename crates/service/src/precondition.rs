//! Conditional writes (`If-Match`): the stored version is compared with
//! the client's entity tags inside the write's own transaction, so two
//! writers that read the same version cannot both win.

use std::sync::{Arc, Mutex};

use oneroster::resource::ModelError;
use serde_json::Value;

use crate::{ServiceError, rules};

/// What a write expects of the stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Any version (no `If-Match`).
    None,
    /// One of these entity tags (`*`: any existing version).
    IfMatch(Vec<String>),
}

/// Set, with the stored version's tag, when a write's precondition failed.
#[derive(Default)]
pub struct Failed(Arc<Mutex<Option<String>>>);

type Check = Box<dyn Fn(&Value) -> Result<(), ModelError> + Send>;

impl Precondition {
    /// Parses an `If-Match` header value: `*` or a list of quoted tags.
    pub fn if_match(header: Option<&str>) -> Self {
        match header {
            None => Self::None,
            Some(value) => Self::IfMatch(value.split(',').map(|t| t.trim().to_owned()).collect()),
        }
    }

    /// The check a store update runs on the current record, and where it
    /// records a failure.
    pub(crate) fn checker(&self) -> (Check, Failed) {
        let failed = Failed::default();
        let seen = failed.0.clone();
        let expect = self.clone();
        let check = Box::new(move |current: &Value| {
            let tag = rules::etag(current).unwrap_or_default();
            match &expect {
                Self::IfMatch(tags) if !tags.iter().any(|t| t == "*" || *t == tag) => {
                    *seen.lock().expect("not poisoned") = Some(tag);
                    Err(ModelError(
                        "the record changed since the version the client names".into(),
                    ))
                }
                _ => Ok(()),
            }
        });
        (check, failed)
    }
}

impl Failed {
    /// The write's error: 412 with the current tag when the precondition
    /// failed, else `other` as it was.
    pub(crate) fn explain(&self, other: ServiceError) -> ServiceError {
        match self.0.lock().expect("not poisoned").take() {
            Some(current) => ServiceError::PreconditionFailed { current },
            None => other,
        }
    }
}
