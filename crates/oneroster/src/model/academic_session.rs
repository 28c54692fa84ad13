//! Academic sessions: school years, terms, semesters, grading periods
//! (`/terms` is a view of these).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Base, GuidRef, normalize_as, nullable_vec, year_text};
use crate::primitives::{Date, vocabulary};
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

vocabulary!(SessionType, ["gradingPeriod", "semester", "schoolYear", "term"]);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcademicSession {
    #[serde(flatten)]
    pub base: Base,
    pub title: String,
    pub start_date: Date,
    pub end_date: Date,
    #[serde(rename = "type")]
    pub kind: SessionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<GuidRef>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<GuidRef>,
    /// Stored as 1.2's string; TimeBack sends and reads a number.
    #[serde(deserialize_with = "year_text")]
    pub school_year: String,
    /// TimeBack's owning org (not in 1.2, so dropped by the strict profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<GuidRef>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    normalize_as::<AcademicSession>(input)
}

pub static ACADEMIC_SESSIONS: ResourceDecl = ResourceDecl {
    collection: "academicSessions",
    singular: "academicSession",
    schema: "AcademicSessionDType",
    fields: crate::base_fields![
        FieldDecl::text("title"),
        FieldDecl::text("type"),
        FieldDecl::date("startDate"),
        FieldDecl::date("endDate"),
        FieldDecl::text("schoolYear"),
        FieldDecl::text("parent.sourcedId"),
        FieldDecl::many("children.sourcedId"),
        FieldDecl::text("org.sourcedId"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "title",
        "startDate",
        "endDate",
        "type",
        "parent",
        "children",
        "schoolYear",
        "org",
    ],
    refs: &[
        RefDecl {
            path: "parent",
            collection: "academicSessions",
            ref_type: "academicSession",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "children",
            collection: "academicSessions",
            ref_type: "academicSession",
            with_name: false,
            checked: false,
        },
        RefDecl {
            path: "org",
            collection: "orgs",
            ref_type: "org",
            with_name: false,
            checked: true,
        },
    ],
    extensions: &["org"],
    search: &["title"],
    write_only: &[],
    normalize,
};
