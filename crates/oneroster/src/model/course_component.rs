//! Course components (TimeBack): the units and lessons a course is made of,
//! nested through `parent`, served under `/courses/components`.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::{Base, GuidRef, canonical, nullable_vec, parse_as};
use crate::primitives::Timestamp;
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseComponent {
    #[serde(flatten)]
    pub base: Base,
    pub course: GuidRef,
    /// TimeBack's older name for `parent`; kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course_component: Option<GuidRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<GuidRef>,
    pub title: String,
    /// Position among its siblings; `0` when not given.
    #[serde(default = "zero")]
    pub sort_order: Number,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub prerequisites: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerequisite_criteria: Option<String>,
    /// When students may start it; when not given, from the moment it was
    /// written (TimeBack always answers with one).
    #[serde(default)]
    pub unlock_date: Option<Timestamp>,
}

/// The default position of a component or component resource.
pub fn zero() -> Number {
    Number::from(0)
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    let mut component: CourseComponent = parse_as(input)?;
    component.unlock_date.get_or_insert(component.base.date_last_modified);
    canonical(&component)
}

pub static COURSE_COMPONENTS: ResourceDecl = ResourceDecl {
    collection: "courseComponents",
    singular: "courseComponent",
    schema: "CourseComponentDType",
    fields: crate::base_fields![
        FieldDecl::text("title"),
        FieldDecl::text("course.sourcedId"),
        FieldDecl::text("parent.sourcedId"),
        FieldDecl::text("courseComponent.sourcedId"),
        FieldDecl::datetime("unlockDate"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "course",
        "courseComponent",
        "parent",
        "title",
        "sortOrder",
        "prerequisites",
        "prerequisiteCriteria",
        "unlockDate",
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
            path: "courseComponent",
            collection: "courses/components",
            ref_type: "courseComponent",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "parent",
            collection: "courses/components",
            ref_type: "courseComponent",
            with_name: false,
            checked: true,
        },
    ],
    extensions: &[],
    search: &["title"],
    write_only: &[],
    normalize,
};
