//! Courses: a course of study, of which classes are instances.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Base, GuidRef, normalize_as, nullable_vec};
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Course {
    #[serde(flatten)]
    pub base: Base,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school_year: Option<GuidRef>,
    /// Required by 1.2, optional (and nullable) in TimeBack's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_code: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub grades: Vec<crate::primitives::Grade>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<GuidRef>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub subject_codes: Vec<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<GuidRef>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    normalize_as::<Course>(input)
}

pub static COURSES: ResourceDecl = ResourceDecl {
    collection: "courses",
    singular: "course",
    schema: "CourseDType",
    fields: crate::base_fields![
        FieldDecl::text("title"),
        FieldDecl::text("courseCode"),
        FieldDecl::text("org.sourcedId"),
        FieldDecl::text("schoolYear.sourcedId"),
        FieldDecl::many("grades"),
        FieldDecl::many("subjects"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "title",
        "schoolYear",
        "courseCode",
        "grades",
        "subjects",
        "org",
        "subjectCodes",
        "resources",
    ],
    refs: &[
        RefDecl {
            path: "schoolYear",
            collection: "academicSessions",
            ref_type: "academicSession",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "org",
            collection: "orgs",
            ref_type: "org",
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
    search: &["title", "courseCode"],
    write_only: &[],
    normalize,
};
