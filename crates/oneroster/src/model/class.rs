//! Classes: an instance of a course in a school and term(s).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Base, GuidRef, canonical, nullable_vec, parse_as, require_non_empty};
use crate::primitives::{Grade, vocabulary};
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

vocabulary!(ClassType, ["homeroom", "scheduled"]);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Class {
    #[serde(flatten)]
    pub base: Base,
    pub title: String,
    /// `classCode`, `classType` and `location` are stored as `null` when not
    /// given: TimeBack's responses require the keys (the strict profile
    /// strips nulls).
    #[serde(default)]
    pub class_code: Option<String>,
    #[serde(default)]
    pub class_type: Option<ClassType>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<Grade>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    pub course: GuidRef,
    /// 1.2's `school`; TimeBack's requests name it `org`. Stored as `school`.
    #[serde(alias = "org")]
    pub school: GuidRef,
    pub terms: Vec<GuidRef>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub subject_codes: Vec<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<GuidRef>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    let class: Class = parse_as(input)?;
    require_non_empty(&class.terms, "terms")?;
    canonical(&class)
}

pub static CLASSES: ResourceDecl = ResourceDecl {
    collection: "classes",
    singular: "class",
    schema: "ClassDType",
    fields: crate::base_fields![
        FieldDecl::text("title"),
        FieldDecl::text("classCode"),
        FieldDecl::text("classType"),
        FieldDecl::plain("location"),
        FieldDecl::text("course.sourcedId"),
        FieldDecl::text("school.sourcedId"),
        FieldDecl::many("terms.sourcedId"),
        FieldDecl::many("grades"),
        FieldDecl::many("subjects"),
        FieldDecl::many("periods"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "title",
        "classCode",
        "classType",
        "location",
        "grades",
        "subjects",
        "course",
        "school",
        "terms",
        "subjectCodes",
        "periods",
        "resources",
    ],
    refs: &[
        RefDecl {
            path: "course",
            collection: "courses",
            ref_type: "course",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "school",
            collection: "orgs",
            ref_type: "org",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "terms",
            collection: "academicSessions",
            ref_type: "academicSession",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "resources",
            collection: "resources",
            ref_type: "resource",
            with_name: false,
            checked: true,
        },
    ],
    extensions: &[],
    search: &["title"],
    write_only: &[],
    normalize,
};
