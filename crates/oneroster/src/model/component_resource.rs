//! Component resources (TimeBack): a learning resource placed in a course
//! component, served under `/courses/component-resources`.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::course_component::zero;
use super::{Base, GuidRef, normalize_as};
use crate::primitives::vocabulary;
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

vocabulary!(
    LessonType,
    [
        "powerpath-100",
        "quiz",
        "test-out",
        "placement",
        "unit-test",
        "alpha-read-article"
    ]
);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentResource {
    #[serde(flatten)]
    pub base: Base,
    pub course_component: GuidRef,
    pub resource: GuidRef,
    pub title: String,
    /// Position within its component; `0` when not given.
    #[serde(default = "zero")]
    pub sort_order: Number,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson_type: Option<LessonType>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    normalize_as::<ComponentResource>(input)
}

pub static COMPONENT_RESOURCES: ResourceDecl = ResourceDecl {
    collection: "componentResources",
    singular: "componentResource",
    schema: "ComponentResourceDType",
    fields: crate::base_fields![
        FieldDecl::text("title"),
        FieldDecl::text("courseComponent.sourcedId"),
        FieldDecl::text("resource.sourcedId"),
        FieldDecl::text("lessonType"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "courseComponent",
        "resource",
        "title",
        "sortOrder",
        "lessonType",
    ],
    refs: &[
        RefDecl {
            path: "courseComponent",
            collection: "courses/components",
            ref_type: "courseComponent",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "resource",
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
