//! Orgs: schools, districts, departments… (`/schools` is a view of these).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Base, GuidRef, normalize_as, null_as_default, nullable_vec};
use crate::primitives::vocabulary;
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

vocabulary!(
    OrgType,
    ["department", "district", "local", "national", "school", "state"]
);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    #[serde(flatten)]
    pub base: Base,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OrgType,
    /// Optional in TimeBack's requests, a required string in its responses
    /// and in 1.2: stored as `""` when not given.
    #[serde(default, deserialize_with = "null_as_default")]
    pub identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<GuidRef>,
    /// Always stored, `[]` when empty: TimeBack requires the key, as an array.
    #[serde(default, deserialize_with = "nullable_vec")]
    pub children: Vec<GuidRef>,
}

fn normalize(input: Value) -> Result<Value, ModelError> {
    normalize_as::<Org>(input)
}

pub static ORGS: ResourceDecl = ResourceDecl {
    collection: "orgs",
    singular: "org",
    schema: "OrgDType",
    fields: crate::base_fields![
        FieldDecl::text("name"),
        FieldDecl::text("type"),
        FieldDecl::text("identifier"),
        FieldDecl::text("parent.sourcedId"),
        FieldDecl::many("children.sourcedId"),
    ],
    aliases: &[],
    keys: &[],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "name",
        "type",
        "identifier",
        "parent",
        "children",
    ],
    refs: &[
        RefDecl {
            path: "parent",
            collection: "orgs",
            ref_type: "org",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "children",
            collection: "orgs",
            ref_type: "org",
            with_name: false,
            checked: false,
        },
    ],
    extensions: &[],
    search: &["name"],
    write_only: &[],
    normalize,
};
