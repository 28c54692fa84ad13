//! Typed extension fields: an administrator declares, per resource, named
//! fields with a type (and allowed values, uniqueness, an index, whether a
//! record must carry them). Their values live in the record at
//! `metadata.ext.<name>`: `metadata` is free-form in OneRoster, so records
//! carrying them still validate against every profile's schema.
//!
//! Declarations change at run time, so they cannot be `&'static` like the
//! built-in ones; each distinct declaration is interned once as a
//! [`FieldDecl`] (see [`field_decl`]) so the query layer, the SQL compiler
//! and cursors treat a declared field exactly like a built-in one.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::primitives::{Date, Timestamp};
use crate::problems::Problem;
use crate::resource::{self, FieldDecl, FieldKind, ModelError};

/// Where in a record the declared fields' values live.
pub const PREFIX: &str = "metadata.ext.";

/// Longest accepted field name.
pub const MAX_NAME: usize = 64;

/// What values an extension field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtensionType {
    String,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
    /// A string from the declaration's `values`.
    Enum,
}

impl ExtensionType {
    pub const ALL: [Self; 7] = [
        Self::String,
        Self::Integer,
        Self::Number,
        Self::Boolean,
        Self::Date,
        Self::Datetime,
        Self::Enum,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Enum => "enum",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// How the query layer compares values of this type.
    pub fn field_kind(self) -> FieldKind {
        match self {
            Self::String | Self::Enum => FieldKind::Text,
            Self::Integer => FieldKind::Integer,
            Self::Number => FieldKind::Number,
            Self::Boolean => FieldKind::Boolean,
            Self::Date => FieldKind::Date,
            Self::Datetime => FieldKind::DateTime,
        }
    }
}

/// One declared extension field of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtensionField {
    /// The collection it extends, e.g. `users`.
    pub resource: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ExtensionType,
    /// The allowed values of an `enum`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub indexed: bool,
    #[serde(default)]
    pub required: bool,
}

impl ExtensionField {
    /// Checks a declaration before it is stored: a known resource, a name
    /// that is safe as a JSON path segment and an index name, enum values
    /// for an enum only.
    pub fn check(&self) -> Result<(), String> {
        if resource::by_collection(&self.resource).is_none() {
            return Err(format!("'{}' is not a resource", self.resource));
        }
        let mut chars = self.name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && self.name.len() <= MAX_NAME;
        if !valid {
            return Err(format!(
                "extension field name '{}' must start with a letter and hold only letters, digits and '_' \
                 (at most {MAX_NAME})",
                self.name
            ));
        }
        match (self.kind, self.values.is_empty()) {
            (ExtensionType::Enum, true) => Err("an enum field needs its allowed values".into()),
            (ExtensionType::Enum, false) if self.values.iter().any(|v| v.is_empty()) => {
                Err("an enum's allowed values cannot be empty".into())
            }
            (ExtensionType::Enum, false) => Ok(()),
            (_, false) => Err("only an enum field has allowed values".into()),
            (_, true) => Ok(()),
        }
    }

    /// The dotted path of its values in a record.
    pub fn path(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }

    /// A value as stored, or why it is not one: date-times normalised to the
    /// stored `…sss Z` form so they compare as time.
    pub fn value(&self, value: &Value) -> Result<Value, String> {
        let expected = || match self.kind {
            ExtensionType::Enum => format!("one of {}", self.values.join(", ")),
            kind => format!("a {} value", kind.as_str()),
        };
        let wrong = || format!("{}: expected {}, found {value}", self.path(), expected());
        Ok(match (self.kind, value) {
            (ExtensionType::String, Value::String(_)) | (ExtensionType::Boolean, Value::Bool(_)) => value.clone(),
            (ExtensionType::Integer, Value::Number(n)) if n.is_i64() => value.clone(),
            (ExtensionType::Number, Value::Number(_)) => value.clone(),
            (ExtensionType::Enum, Value::String(s)) if self.values.contains(s) => value.clone(),
            (ExtensionType::Date, Value::String(s)) => {
                Date::parse(s).map_err(|e| format!("{}: {e}", self.path()))?;
                value.clone()
            }
            (ExtensionType::Datetime, Value::String(s)) => Value::String(
                Timestamp::parse(s)
                    .map_err(|e| format!("{}: {e}", self.path()))?
                    .to_wire(),
            ),
            _ => return Err(wrong()),
        })
    }
}

/// The declared fields of every resource, as the registry last read them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtensionSet {
    fields: Vec<ExtensionField>,
}

impl ExtensionSet {
    pub fn new(mut fields: Vec<ExtensionField>) -> Self {
        fields.sort_by(|a, b| (&a.resource, &a.name).cmp(&(&b.resource, &b.name)));
        Self { fields }
    }

    pub fn all(&self) -> &[ExtensionField] {
        &self.fields
    }

    /// The fields declared for a collection, by name.
    pub fn of<'a>(&'a self, collection: &'a str) -> impl Iterator<Item = &'a ExtensionField> {
        self.fields.iter().filter(move |f| f.resource == collection)
    }

    pub fn field(&self, collection: &str, name: &str) -> Option<&ExtensionField> {
        self.fields.iter().find(|f| f.resource == collection && f.name == name)
    }

    /// The collection's fields as the query layer sees them.
    pub fn field_decls(&self, collection: &str) -> Vec<&'static FieldDecl> {
        self.of(collection).map(field_decl).collect()
    }

    /// Checks a record's declared fields (a stored form from `normalize`):
    /// each value typed, `null` dropped, required ones present. Keys under
    /// `metadata.ext` that no declaration names are left alone (`metadata`
    /// is free-form; a removed declaration leaves its values behind).
    pub fn apply(&self, collection: &str, doc: Value) -> Result<Value, ModelError> {
        self.checked(collection, doc)
            .map_err(|problems| ModelError(crate::problems::describe(&problems)))
    }

    /// [`apply`](Self::apply), refusing with every problem at its path
    /// (`metadata.ext.house`).
    pub fn checked(&self, collection: &str, mut doc: Value) -> Result<Value, Vec<Problem>> {
        let mut declared = self.of(collection).peekable();
        if declared.peek().is_none() {
            return Ok(doc);
        }
        let mut ext = ext_object(&mut doc).map_err(|e| vec![problem(e)])?;
        let mut problems = Vec::new();
        for field in declared {
            let given = ext.as_ref().and_then(|m| m.get(&field.name)).filter(|v| !v.is_null());
            match given.map(|v| field.value(v)).transpose() {
                Err(e) => problems.push(problem(e)),
                Ok(Some(stored)) => {
                    if let Some(m) = ext.as_mut() {
                        m.insert(field.name.clone(), stored);
                    }
                }
                Ok(None) => {
                    if let Some(m) = ext.as_mut() {
                        m.remove(&field.name);
                    }
                    if field.required {
                        problems.push(Problem {
                            path: field.path(),
                            message: "required extension field is missing".into(),
                        });
                    }
                }
            }
        }
        if problems.is_empty() { Ok(doc) } else { Err(problems) }
    }
}

/// A `path: message` error as a [`Problem`].
fn problem(error: String) -> Problem {
    match error.split_once(": ") {
        Some((path, message)) => Problem {
            path: path.to_owned(),
            message: message.to_owned(),
        },
        None => Problem {
            path: String::new(),
            message: error,
        },
    }
}

/// The `metadata.ext` object of a record, if it has one; an error when
/// `metadata` or `ext` is there but not an object.
fn ext_object(doc: &mut Value) -> Result<Option<&mut Map<String, Value>>, String> {
    let Some(metadata) = doc.get_mut("metadata").filter(|m| !m.is_null()) else {
        return Ok(None);
    };
    let metadata = metadata.as_object_mut().ok_or("metadata: expected an object")?;
    match metadata.get_mut("ext") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err("metadata.ext: expected an object of extension fields".into()),
    }
}

/// The query layer's view of a declared field, interned: one leaked
/// [`FieldDecl`] per distinct (resource, name, type, indexed, unique), so
/// declarations, which change rarely and are few, keep `&'static` field
/// references working everywhere without leaking on every refresh.
pub fn field_decl(field: &ExtensionField) -> &'static FieldDecl {
    type Key = (String, String, ExtensionType, bool, bool);
    static INTERNED: OnceLock<Mutex<HashMap<Key, &'static FieldDecl>>> = OnceLock::new();
    let key = (
        field.resource.clone(),
        field.name.clone(),
        field.kind,
        field.indexed || field.unique,
        field.unique,
    );
    let mut interned = INTERNED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    interned.entry(key).or_insert_with(|| {
        Box::leak(Box::new(FieldDecl {
            name: Box::leak(field.path().into_boxed_str()),
            kind: field.kind.field_kind(),
            many: false,
            indexed: field.indexed || field.unique,
            unique: field.unique,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(kind: ExtensionType) -> ExtensionField {
        ExtensionField {
            resource: "users".into(),
            name: "house".into(),
            kind,
            values: if kind == ExtensionType::Enum {
                vec!["red".into(), "blue".into()]
            } else {
                vec![]
            },
            unique: false,
            indexed: false,
            required: false,
        }
    }

    #[test]
    fn declarations_are_checked() {
        assert!(field(ExtensionType::Enum).check().is_ok());
        let bad_name = ExtensionField {
            name: "a.b".into(),
            ..field(ExtensionType::String)
        };
        assert!(bad_name.check().unwrap_err().contains("a.b"));
        let no_values = ExtensionField {
            values: vec![],
            ..field(ExtensionType::Enum)
        };
        assert!(no_values.check().is_err());
        let unknown = ExtensionField {
            resource: "pets".into(),
            ..field(ExtensionType::String)
        };
        assert!(unknown.check().unwrap_err().contains("pets"));
    }

    #[test]
    fn values_are_typed_and_normalised() {
        assert_eq!(field(ExtensionType::Integer).value(&json!(5)), Ok(json!(5)));
        assert!(field(ExtensionType::Integer).value(&json!(5.5)).is_err());
        assert!(field(ExtensionType::Integer).value(&json!("5")).is_err());
        assert!(field(ExtensionType::Boolean).value(&json!("true")).is_err());
        assert!(field(ExtensionType::Date).value(&json!("2026-13-01")).is_err());
        assert_eq!(
            field(ExtensionType::Datetime).value(&json!("2026-01-02T03:04:05Z")),
            Ok(json!("2026-01-02T03:04:05.000Z"))
        );
        let e = field(ExtensionType::Enum).value(&json!("green")).unwrap_err();
        assert!(e.contains("metadata.ext.house") && e.contains("red, blue"), "{e}");
    }

    #[test]
    fn records_are_checked_against_their_resource_declarations() {
        let set = ExtensionSet::new(vec![ExtensionField {
            required: true,
            ..field(ExtensionType::Integer)
        }]);
        let ok = set.apply("users", json!({"metadata": {"ext": {"house": 3, "other": "x"}}}));
        assert_eq!(ok.unwrap(), json!({"metadata": {"ext": {"house": 3, "other": "x"}}}));
        assert!(
            set.apply("users", json!({"metadata": {"ext": {"house": "3"}}}))
                .is_err()
        );
        let missing = set.apply("users", json!({"metadata": {}})).unwrap_err();
        assert!(missing.0.contains("required"), "{}", missing.0);
        assert!(set.apply("orgs", json!({})).is_ok(), "other resources are untouched");
    }

    #[test]
    fn interned_decls_are_shared() {
        let f = field(ExtensionType::String);
        assert!(std::ptr::eq(field_decl(&f), field_decl(&f.clone())));
        assert_eq!(field_decl(&f).name, "metadata.ext.house");
    }
}
