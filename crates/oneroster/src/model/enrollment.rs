//! Enrollments: a user in a class with a role. This is what links users to
//! classes (`/users/{id}/classes` goes through it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Base, GuidRef, normalize_as};
use crate::primitives::{Date, Flag, vocabulary};
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

vocabulary!(EnrollmentRole, ["administrator", "proctor", "student", "teacher"]);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrollment {
    #[serde(flatten)]
    pub base: Base,
    pub user: GuidRef,
    pub class: GuidRef,
    /// Required by 1.2, optional in TimeBack's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<GuidRef>,
    /// TimeBack's: the class's course, which its responses require; taken
    /// from the class when a write leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course: Option<GuidRef>,
    pub role: EnrollmentRole,
    /// `primary`, `beginDate` and `endDate` are stored as `null` when not
    /// given: TimeBack's responses require the keys (the strict profile
    /// strips nulls).
    #[serde(default)]
    pub primary: Option<Flag>,
    #[serde(default)]
    pub begin_date: Option<Date>,
    #[serde(default)]
    pub end_date: Option<Date>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    normalize_as::<Enrollment>(input)
}

pub static ENROLLMENTS: ResourceDecl = ResourceDecl {
    collection: "enrollments",
    singular: "enrollment",
    schema: "EnrollmentDType",
    fields: crate::base_fields![
        FieldDecl::text("user.sourcedId"),
        FieldDecl::text("class.sourcedId"),
        FieldDecl::text("school.sourcedId"),
        FieldDecl::text("role"),
        FieldDecl::plain("primary"),
        FieldDecl::date("beginDate"),
        FieldDecl::date("endDate"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "user",
        "class",
        "school",
        "course",
        "role",
        "primary",
        "beginDate",
        "endDate",
    ],
    refs: &[
        RefDecl {
            path: "user",
            collection: "users",
            ref_type: "user",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "class",
            collection: "classes",
            ref_type: "class",
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
            path: "course",
            collection: "courses",
            ref_type: "course",
            with_name: false,
            checked: true,
        },
    ],
    extensions: &["course"],
    search: &["role"],
    write_only: &[],
    normalize,
};
