//! The engine's side of the declared relations (`oneroster::relation`):
//! check the parents a path names, list the target within the relation's
//! scope, and the roster writes, each through the engine's own write path
//! (stamping, validation, the store's transaction).

use oneroster::model::enrollment::ENROLLMENTS;
use oneroster::model::user::USERS;
use oneroster::path;
use oneroster::query::{ListQuery, Scope};
use oneroster::relation::{ParentDecl, PathValues, RelationDecl};
use oneroster::resource::ModelError;
use rollcall_store::{RawPage, StoreError};
use serde_json::{Map, Value, json};

use crate::engine::{Engine, SourcedIdPair};
use crate::{ServiceError, rules};

impl Engine {
    /// A relation's page: 404 naming the first parent that is missing (or
    /// is not of its kind, or not within the parent it must belong to),
    /// else the target records within the relation's scope.
    pub async fn list_relation(
        &self,
        relation: &'static RelationDecl,
        params: &PathValues<'_>,
        mut query: ListQuery,
    ) -> Result<RawPage, ServiceError> {
        self.parents(relation.parents, params).await?;
        for scope in (relation.scope)(params) {
            query = query.with_scope(scope);
        }
        self.list_raw(relation.target, &query).await
    }

    /// The parents' records, in the order declared, each checked.
    pub async fn parents(&self, parents: &[ParentDecl], params: &PathValues<'_>) -> Result<Vec<Value>, ServiceError> {
        let mut docs = Vec::with_capacity(parents.len());
        for parent in parents {
            let id = params.get(parent.param);
            let missing = || ServiceError::NotFound(format!("{} '{id}' not found", parent.noun));
            let doc = self.store().get(parent.decl, id).await?.ok_or_else(missing)?;
            if parent.kind.is_some_and(|(field, value)| !holds(&doc, field, value)) {
                return Err(missing());
            }
            if let Some((field, param)) = parent.within {
                let owner = params.get(param);
                if !holds(&doc, field, owner) {
                    let noun = parents.iter().find(|p| p.param == param).map_or(param, |p| p.noun);
                    return Err(ServiceError::NotFound(format!(
                        "{} '{id}' not found in {noun} '{owner}'",
                        parent.noun
                    )));
                }
            }
            docs.push(doc);
        }
        Ok(docs)
    }

    /// addStudentToClass / addTeacherToClass: a new enrollment of the
    /// body's user in `class` (a checked parent record) with `role`,
    /// created as createEnrollment creates one. The class and role come
    /// from the path (a body naming others is refused), the school from
    /// the class when the body gives none.
    pub async fn enroll(&self, class: &Value, role: &str, body: Value) -> Result<SourcedIdPair, ServiceError> {
        let Value::Object(mut enrollment) = body else {
            return Err(ServiceError::Invalid("enrollment: expected an object".into()));
        };
        let class_id = text_at(class, "sourcedId");
        agree(&enrollment, "class.sourcedId", &class_id)?;
        agree(&enrollment, "role", role)?;
        let user = text_at(&Value::Object(enrollment.clone()), "user.sourcedId");
        if user.is_empty() {
            return Err(ServiceError::Invalid("enrollment.user.sourcedId is required".into()));
        }
        self.get(&USERS, &user).await?;
        enrollment.insert("class".into(), json!({ "sourcedId": class_id }));
        enrollment.insert("role".into(), Value::String(role.to_owned()));
        let school = text_at(class, "school.sourcedId");
        if !school.is_empty() && enrollment.get("school").is_none_or(Value::is_null) {
            enrollment.insert("school".into(), json!({ "sourcedId": school }));
        }
        self.refuse_second_enrollment(&user, &class_id, role).await?;
        self.create(&ENROLLMENTS, Value::Object(enrollment)).await
    }

    /// One live enrollment per user, class and role.
    async fn refuse_second_enrollment(&self, user: &str, class: &str, role: &str) -> Result<(), ServiceError> {
        let query = ListQuery::from_pairs(&ENROLLMENTS, [("limit", "1")])
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .with_scope(Scope::equals(&ENROLLMENTS, "user.sourcedId", user))
            .with_scope(Scope::equals(&ENROLLMENTS, "class.sourcedId", class))
            .with_scope(Scope::equals(&ENROLLMENTS, "role", role))
            .with_scope(Scope::not_equals(&ENROLLMENTS, "status", "tobedeleted"));
        match self.list_raw(&ENROLLMENTS, &query).await?.total {
            0 => Ok(()),
            _ => Err(ServiceError::Conflict(format!(
                "user '{user}' is already enrolled in class '{class}' as {role}"
            ))),
        }
    }

    /// addAgent: `agent` joins the user's `agents`; the user as stored.
    pub async fn add_agent(&self, user: &str, agent: &str) -> Result<Value, ServiceError> {
        if user == agent {
            return Err(ServiceError::Invalid("a user cannot be its own agent".into()));
        }
        self.store()
            .get(&USERS, agent)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("agent '{agent}' not found")))?;
        let current = self.get(&USERS, user).await?;
        if agents_of(&current).iter().any(|a| a == agent) {
            return Ok(current);
        }
        let agent = agent.to_owned();
        self.edit_agents(user, move |agents| {
            if !agents.iter().any(|a| text_at(a, "sourcedId") == agent) {
                agents.push(json!({ "sourcedId": agent }));
            }
        })
        .await
    }

    /// deleteAgent: `agent` leaves the user's `agents`; the user as stored.
    pub async fn remove_agent(&self, user: &str, agent: &str) -> Result<Value, ServiceError> {
        let current = self.get(&USERS, user).await?;
        if !agents_of(&current).iter().any(|a| a == agent) {
            return Err(ServiceError::NotFound(format!(
                "agent '{agent}' is not an agent of user '{user}'"
            )));
        }
        let agent = agent.to_owned();
        self.edit_agents(user, move |agents| agents.retain(|a| text_at(a, "sourcedId") != agent))
            .await
    }

    /// Changes the user's `agents` inside the store's write transaction,
    /// stamped and validated as any update.
    async fn edit_agents(
        &self,
        user: &str,
        edit: impl FnOnce(&mut Vec<Value>) + Send + 'static,
    ) -> Result<Value, ServiceError> {
        let (engine, id) = (self.clone(), user.to_owned());
        let update = Box::new(move |current: Value| {
            let at = engine.now_over(&current);
            let Value::Object(mut object) = current else {
                return Err(ModelError("the stored user is not an object".into()));
            };
            let mut agents = match object.remove("agents") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            edit(&mut agents);
            object.insert("agents".into(), Value::Array(agents));
            rules::stamp(&USERS, object, &id, &at)
        });
        self.store().update(&USERS, user, update).await.map_err(|e| match e {
            StoreError::NotFound => ServiceError::NotFound(format!("user '{user}' not found")),
            other => other.into(),
        })
    }
}

/// Whether any value at the dotted `field` of `doc` is `value`.
fn holds(doc: &Value, field: &str, value: &str) -> bool {
    path::values_at(doc, field).iter().any(|v| v == value)
}

/// The first text at the dotted `field`, or empty.
fn text_at(doc: &Value, field: &str) -> String {
    path::values_at(doc, field).into_iter().next().unwrap_or_default()
}

fn agents_of(user: &Value) -> Vec<String> {
    path::values_at(user, "agents.sourcedId")
}

/// A body may repeat what the path says, not contradict it.
fn agree(body: &Map<String, Value>, field: &str, expected: &str) -> Result<(), ServiceError> {
    let given = path::values_at(&Value::Object(body.clone()), field);
    match given.first() {
        Some(v) if v != expected => Err(ServiceError::Invalid(format!(
            "enrollment.{field} is '{v}', but the path says '{expected}'"
        ))),
        _ => Ok(()),
    }
}
