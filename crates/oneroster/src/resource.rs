//! Resource declarations: each OneRoster resource is described once, here,
//! and storage, the query compiler, the HTTP routes and the OpenAPI document
//! are all generated from that description.

use serde_json::Value;

use crate::model;

/// How a field's values compare in a filter or sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Unicode code-point order.
    Text,
    /// An instant: filter values are parsed and normalised so that stored
    /// (always `…sss Z`) and supplied values compare as time.
    DateTime,
    /// `YYYY-MM-DD`, which orders correctly as text once validated.
    Date,
    /// Typed values of declared extension fields (see
    /// [`extension`](crate::extension)), compared as JSON numbers and booleans.
    Integer,
    Number,
    Boolean,
}

/// A queryable field: anything a client may name in `filter` or `sort`.
#[derive(Debug, PartialEq, Eq)]
pub struct FieldDecl {
    /// The dotted name used in queries, e.g. `roles.org.sourcedId`.
    pub name: &'static str,
    pub kind: FieldKind,
    /// True when the path crosses an array (`roles.role`): such a field holds
    /// many values per record and matches when any element matches. Storage
    /// keeps these in a side table rather than a column; they cannot sort.
    pub many: bool,
    /// Kept in an index so equality and range filters stay fast at scale.
    pub indexed: bool,
    /// Unique across the collection, e.g. a user's email, compared on
    /// [`unique_key`](crate::unique_key) (trimmed, Unicode-normalised, case-folded).
    pub unique: bool,
}

impl FieldDecl {
    /// A scalar text field, indexed.
    pub const fn text(name: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Text,
            many: false,
            indexed: true,
            unique: false,
        }
    }

    /// A scalar text field left out of any index (rarely queried).
    pub const fn plain(name: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Text,
            many: false,
            indexed: false,
            unique: false,
        }
    }

    pub const fn date(name: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Date,
            many: false,
            indexed: false,
            unique: false,
        }
    }

    pub const fn datetime(name: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::DateTime,
            many: false,
            indexed: true,
            unique: false,
        }
    }

    /// A field inside an array: any element may match.
    pub const fn many(name: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Text,
            many: true,
            indexed: true,
            unique: false,
        }
    }

    pub const fn unique(name: &'static str) -> Self {
        Self {
            name,
            kind: FieldKind::Text,
            many: false,
            indexed: true,
            unique: true,
        }
    }

    /// True for a declared extension field: it has no column of its own and
    /// is read from the document at its path (typed, see [`crate::extension`]).
    pub fn in_document(&self) -> bool {
        self.name.starts_with(crate::extension::PREFIX)
    }

    /// The column a scalar field lives in: its name with dots made safe.
    pub fn column(&self) -> String {
        format!("f_{}", self.name.replace('.', "_"))
    }
}

/// A GUID reference inside a resource, rendered as `{href, sourcedId, type}`.
#[derive(Debug)]
pub struct RefDecl {
    /// Dotted path to the reference object (arrays are walked).
    pub path: &'static str,
    /// Collection the reference points into (for `href`).
    pub collection: &'static str,
    /// The GUIDRef `type` constant, e.g. `org`.
    pub ref_type: &'static str,
    /// TimeBack adds the target's `name` to this reference (e.g. `primaryOrg.name`).
    pub with_name: bool,
    /// Whether a write naming a record that does not exist is refused.
    /// False for an org's or session's `children`: each child's `parent`
    /// points back, is checked on the child's own write, and a parent is
    /// written before its children.
    pub checked: bool,
}

/// A whole OneRoster resource.
#[derive(Debug)]
pub struct ResourceDecl {
    /// Collection path segment and list wrapper, e.g. `users`.
    pub collection: &'static str,
    /// Single-object wrapper, e.g. `user`.
    pub singular: &'static str,
    /// Name of the 1.2 schema, e.g. `UserDType`, for the OpenAPI document.
    pub schema: &'static str,
    /// Filterable fields; scalar ones are also sortable.
    pub fields: &'static [FieldDecl],
    /// Legacy names accepted in queries: `(alias, field)`.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Fields that also name one record in the path (`/users/{username}`):
    /// a key that is no record's sourcedId is looked up as the first one;
    /// `?by=` picks any. Unique fields compare on their key
    /// ([`unique_key`](crate::unique_key)), others exactly.
    pub keys: &'static [&'static str],
    /// Top-level keys a client may select with `fields`.
    pub selectable: &'static [&'static str],
    pub refs: &'static [RefDecl],
    /// Dotted paths TimeBack emits but strict 1.2 schemas forbid.
    pub extensions: &'static [&'static str],
    /// Fields the TimeBack `search` parameter matches (contains, any case).
    pub search: &'static [&'static str],
    /// Fields accepted on write but never returned (hashed secrets).
    pub write_only: &'static [&'static str],
    /// Validates a full record and returns its canonical stored form.
    pub normalize: fn(Value) -> Result<Value, ModelError>,
}

/// Resources are identified by their collection name.
impl PartialEq for ResourceDecl {
    fn eq(&self, other: &Self) -> bool {
        self.collection == other.collection
    }
}

impl ResourceDecl {
    /// Finds a queryable field by name or legacy alias.
    pub fn field(&self, name: &str) -> Option<&'static FieldDecl> {
        let name = self
            .aliases
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, target)| target);
        self.fields.iter().find(|f| f.name == name)
    }

    /// What `?by=` asks the path's key to be: `sourcedId`, one of the
    /// declared [`keys`](Self::keys), or (absent) a sourcedId and, failing
    /// that, the first key. The error lists the names that are valid.
    pub fn key_by(&self, by: Option<&str>) -> Result<KeyBy, String> {
        let Some(by) = by else {
            return Ok(KeyBy::Any);
        };
        if by == "sourcedId" {
            return Ok(KeyBy::SourcedId);
        }
        match self.keys.iter().find(|k| **k == by).and_then(|k| self.field(k)) {
            Some(field) => Ok(KeyBy::Field(field)),
            None => Err(format!(
                "by: '{by}' is not a key of {}; valid: {}",
                self.collection,
                std::iter::once("sourcedId")
                    .chain(self.keys.iter().copied())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// The field a key that is no record's sourcedId is looked up as.
    pub fn default_key(&self) -> Option<&'static FieldDecl> {
        self.keys.first().and_then(|k| self.field(k))
    }

    pub fn field_names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }

    pub fn is_sortable(field: &FieldDecl) -> bool {
        !field.many
    }

    /// The path segment(s) the resource is served under: its collection
    /// name, except where TimeBack nests it (course components live under
    /// `/courses`, beside `/courses/{sourcedId}`).
    pub fn path(&self) -> &'static str {
        NESTED
            .iter()
            .find(|(collection, _)| *collection == self.collection)
            .map_or(self.collection, |(_, path)| path)
    }

    /// The verb of the replace operation's id: `update` (`updateOrg`), or
    /// `put` where TimeBack says so (`putCourse`, `putCourseComponent`).
    pub fn replace_verb(&self) -> &'static str {
        match VERBS.iter().find(|(c, ..)| *c == self.collection) {
            Some((_, _, verb, _)) => verb,
            None if self.path() == self.collection => "update",
            None => "put",
        }
    }

    /// The verb of the create operation's id: `create` (`createUser`), or
    /// `post` where TimeBack says so (`postAcademicSession`).
    pub fn create_verb(&self) -> &'static str {
        VERBS
            .iter()
            .find(|(c, ..)| *c == self.collection)
            .map_or("create", |(_, verb, ..)| verb)
    }

    /// The verb of the merge-patch operation's id: `patch`, or TimeBack's
    /// `partiallyUpdate` (`partiallyUpdateEnrollment`).
    pub fn patch_verb(&self) -> &'static str {
        VERBS
            .iter()
            .find(|(c, ..)| *c == self.collection)
            .map_or("patch", |(.., verb)| verb)
    }
}

/// How the path's key names a record (`?by=`, see [`ResourceDecl::key_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBy {
    /// A sourcedId, or else the resource's first declared key.
    Any,
    SourcedId,
    Field(&'static FieldDecl),
}

/// TimeBack's operationId verbs where they are not `create…`/`update…`/
/// `patch…`: (collection, create, replace, patch).
const VERBS: &[(&str, &str, &str, &str)] = &[
    ("academicSessions", "post", "put", "patch"),
    ("demographics", "post", "put", "patch"),
    ("courses", "create", "put", "patch"),
    ("enrollments", "create", "update", "partiallyUpdate"),
];

/// Resources served under another path than their collection name.
const NESTED: &[(&str, &str)] = &[
    ("courseComponents", "courses/components"),
    ("componentResources", "courses/component-resources"),
];

/// A payload that is well-formed JSON but breaks the model (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

/// Fields every resource shares and can be filtered and sorted on.
#[macro_export]
macro_rules! base_fields {
    ($($extra:expr),* $(,)?) => {
        &[
            $crate::FieldDecl::text("sourcedId"),
            $crate::FieldDecl::text("status"),
            $crate::FieldDecl::datetime("dateLastModified"),
            $($extra),*
        ]
    };
}

/// Every declared resource, in the order routes and documents list them.
pub fn all() -> [&'static ResourceDecl; 9] {
    [
        &model::user::USERS,
        &model::org::ORGS,
        &model::academic_session::ACADEMIC_SESSIONS,
        &model::course::COURSES,
        &model::class::CLASSES,
        &model::enrollment::ENROLLMENTS,
        &model::demographics::DEMOGRAPHICS,
        &model::course_component::COURSE_COMPONENTS,
        &model::component_resource::COMPONENT_RESOURCES,
    ]
}

/// Looks a resource up by its collection name.
pub fn by_collection(collection: &str) -> Option<&'static ResourceDecl> {
    all().into_iter().find(|r| r.collection == collection)
}

/// A named subset of a collection served under its own path, e.g.
/// `/schools` = orgs whose `type` is `school`. Reads for all; a writable
/// view also creates, replaces and deletes, and its writes stay inside it:
/// the view's value is supplied when the body leaves it out, a different
/// one is refused (422), and a record outside the view is not found (404).
#[derive(Debug)]
pub struct ViewDecl {
    pub path: &'static str,
    pub base: &'static ResourceDecl,
    pub field: &'static str,
    pub value: &'static str,
    /// The name in the view's operation ids: `School` in `getSchool`.
    pub one: &'static str,
    /// The wrappers TimeBack answers with, list and single (`terms`,
    /// `term`); the strict 1.2 profile keeps the base's, as 1.2 does.
    pub wrappers: (&'static str, &'static str),
    pub writable: bool,
}

impl ViewDecl {
    /// Whether a stored record belongs to the view.
    pub fn holds(&self, doc: &Value) -> bool {
        crate::path::values_at(doc, self.field).iter().any(|v| v == self.value)
    }

    /// Keeps a written body inside the view: the view's value when the body
    /// has none, an error naming the field when it has another.
    pub fn confine(&self, body: &mut Value) -> Result<(), ModelError> {
        let Value::Object(object) = body else {
            return Ok(());
        };
        match object.get(self.field) {
            None | Some(Value::Null) => {
                object.insert(self.field.to_owned(), Value::from(self.value));
                Ok(())
            }
            Some(Value::String(v)) if v == self.value => Ok(()),
            Some(other) => Err(ModelError(format!(
                "{}: must be '{}' under /{}, found {other}",
                self.field, self.value, self.path
            ))),
        }
    }
}

pub const VIEWS: &[ViewDecl] = &[
    ViewDecl {
        path: "schools",
        base: &model::org::ORGS,
        field: "type",
        value: "school",
        one: "School",
        wrappers: ("orgs", "org"),
        writable: true,
    },
    ViewDecl {
        path: "terms",
        base: &model::academic_session::ACADEMIC_SESSIONS,
        field: "type",
        value: "term",
        one: "Term",
        wrappers: ("terms", "term"),
        writable: false,
    },
    ViewDecl {
        path: "gradingPeriods",
        base: &model::academic_session::ACADEMIC_SESSIONS,
        field: "type",
        value: "gradingPeriod",
        one: "GradingPeriod",
        wrappers: ("gradingPeriods", "gradingPeriod"),
        writable: true,
    },
    ViewDecl {
        path: "students",
        base: &model::user::USERS,
        field: "roles.role",
        value: "student",
        one: "Student",
        wrappers: ("users", "user"),
        writable: false,
    },
    ViewDecl {
        path: "teachers",
        base: &model::user::USERS,
        field: "roles.role",
        value: "teacher",
        one: "Teacher",
        wrappers: ("users", "user"),
        writable: false,
    },
];

/// Looks a view up by its path.
pub fn view(path: &str) -> Option<&'static ViewDecl> {
    VIEWS.iter().find(|v| v.path == path)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_view_supplies_its_value_and_refuses_another() {
        let schools = view("schools").unwrap();
        let mut body = json!({"name": "North"});
        schools.confine(&mut body).unwrap();
        assert_eq!(body["type"], "school");
        assert!(schools.holds(&body));
        let mut body = json!({"type": "district"});
        let e = schools.confine(&mut body).unwrap_err();
        assert!(e.0.starts_with("type: must be 'school'"), "{e}");
        assert!(!schools.holds(&body));
    }

    #[test]
    fn keys_are_declared_fields_and_by_lists_the_valid_ones() {
        let users = &model::user::USERS;
        assert_eq!(users.key_by(None), Ok(KeyBy::Any));
        assert_eq!(users.key_by(Some("sourcedId")), Ok(KeyBy::SourcedId));
        assert_eq!(
            users.key_by(Some("email")),
            Ok(KeyBy::Field(users.field("email").unwrap()))
        );
        assert_eq!(users.default_key().map(|f| f.name), Some("username"));
        let e = users.key_by(Some("givenName")).unwrap_err();
        assert_eq!(
            e,
            "by: 'givenName' is not a key of users; valid: sourcedId, username, email, identifier"
        );
        for decl in all() {
            for key in decl.keys {
                assert!(decl.field(key).is_some_and(|f| !f.many), "{}.{key}", decl.collection);
            }
        }
        assert!(model::org::ORGS.key_by(Some("identifier")).is_err());
    }

    #[test]
    fn nested_resources_are_served_under_courses() {
        assert_eq!(model::course_component::COURSE_COMPONENTS.path(), "courses/components");
        assert_eq!(model::course_component::COURSE_COMPONENTS.replace_verb(), "put");
        assert_eq!(model::org::ORGS.path(), "orgs");
        assert_eq!(model::org::ORGS.replace_verb(), "update");
    }
}
