//! Users: the 1.2 `UserDType` plus TimeBack's extensions (`roles[].metadata`,
//! user `metadata.onboarding`/`isTestUser`, `primaryOrg.name` on output).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Base, GuidRef, canonical, nullable_vec, parse_as, require_non_empty};
use crate::primitives::{Date, Flag, Grade, vocabulary};
use crate::resource::{FieldDecl, ModelError, RefDecl, ResourceDecl};

vocabulary!(
    /// A user's role in an org: the 1.2 list, plus `administrator` and
    /// `system_administrator` that TimeBack clients still send.
    RoleName,
    [
        "aide", "counselor", "districtAdministrator", "guardian", "parent", "principal",
        "proctor", "relative", "siteAdministrator", "student", "systemAdministrator", "teacher",
        "administrator", "system_administrator",
    ]
);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleType {
    Primary,
    Secondary,
}

/// One role of the user in one org.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub role_type: RoleType,
    pub role: RoleName,
    pub org: GuidRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_profile: Option<String>,
    /// TimeBack extension (e.g. `alphaLevelAccess`); not in strict 1.2 output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
}

/// An external identifier, `{type, identifier}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserId {
    #[serde(rename = "type")]
    pub kind: String,
    pub identifier: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    #[serde(rename = "type")]
    pub kind: String,
    pub username: String,
    /// Stored as an argon2 hash, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub profile_id: String,
    pub profile_type: String,
    pub vendor_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
}

/// A person: student, teacher, guardian, staff.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(flatten)]
    pub base: Base,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_master_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_ids: Vec<UserId>,
    pub enabled_user: Flag,
    pub given_name: String,
    pub family_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pronouns: Option<String>,
    pub roles: Vec<Role>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub user_profiles: Vec<UserProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_org: Option<GuidRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub agents: Vec<GuidRef>,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub grades: Vec<Grade>,
    /// Stored as an argon2 hash, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, deserialize_with = "nullable_vec", skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<GuidRef>,
}

/// The most credentials one user may hold across its `userProfiles`. Every
/// credential password costs an argon2 hash on each write that sends it, so
/// an unbounded list would let one request hold a core for as long as it
/// likes; real users hold a handful.
pub const MAX_CREDENTIALS: usize = 16;

fn normalize(input: Value) -> Result<Value, ModelError> {
    let mut user: User = parse_as(input)?;
    // Trimmed: padding is invisible to a reader, and the uniqueness key ignores it.
    if let Some(email) = &mut user.email {
        *email = email.trim().to_owned();
    }
    require_non_empty(&user.roles, "roles")?;
    let credentials: usize = user.user_profiles.iter().map(|p| p.credentials.len()).sum();
    if credentials > MAX_CREDENTIALS {
        return Err(ModelError(format!(
            "userProfiles: {credentials} credentials, at most {MAX_CREDENTIALS} are allowed per user"
        )));
    }
    if user.given_name.trim().is_empty() || user.family_name.trim().is_empty() {
        return Err(ModelError("givenName and familyName must not be blank".into()));
    }
    if let Some(email) = user.email.as_ref().filter(|e| !e.contains('@')) {
        return Err(ModelError(format!("email: '{email}' is not an email address")));
    }
    canonical(&user)
}

pub static USERS: ResourceDecl = ResourceDecl {
    collection: "users",
    singular: "user",
    schema: "UserDType",
    fields: crate::base_fields![
        FieldDecl::unique("username"),
        FieldDecl::unique("email"),
        FieldDecl::text("givenName"),
        FieldDecl::text("familyName"),
        FieldDecl::plain("middleName"),
        FieldDecl::plain("preferredFirstName"),
        FieldDecl::plain("preferredLastName"),
        FieldDecl::plain("pronouns"),
        FieldDecl::text("enabledUser"),
        FieldDecl::text("identifier"),
        FieldDecl::text("userMasterIdentifier"),
        FieldDecl::plain("phone"),
        FieldDecl::plain("sms"),
        FieldDecl::text("primaryOrg.sourcedId"),
        FieldDecl::many("roles.role"),
        FieldDecl::many("roles.roleType"),
        FieldDecl::many("roles.org.sourcedId"),
        FieldDecl::many("userIds.type"),
        FieldDecl::many("userIds.identifier"),
        FieldDecl::many("grades"),
        FieldDecl::many("agents.sourcedId"),
    ],
    aliases: &[("role", "roles.role"), ("orgs.sourcedId", "roles.org.sourcedId")],
    keys: &["username", "email", "identifier"],
    selectable: &[
        "sourcedId",
        "status",
        "dateLastModified",
        "metadata",
        "userMasterIdentifier",
        "username",
        "userIds",
        "enabledUser",
        "givenName",
        "familyName",
        "middleName",
        "preferredFirstName",
        "preferredMiddleName",
        "preferredLastName",
        "pronouns",
        "roles",
        "userProfiles",
        "primaryOrg",
        "identifier",
        "email",
        "sms",
        "phone",
        "agents",
        "grades",
        "resources",
    ],
    refs: &[
        RefDecl {
            path: "roles.org",
            collection: "orgs",
            ref_type: "org",
            with_name: false,
            checked: true,
        },
        RefDecl {
            path: "primaryOrg",
            collection: "orgs",
            ref_type: "org",
            with_name: true,
            checked: true,
        },
        RefDecl {
            path: "agents",
            collection: "users",
            ref_type: "user",
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
    extensions: &["roles.metadata", "primaryOrg.name"],
    search: &["givenName", "familyName", "email"],
    write_only: &["password", "userProfiles.credentials.password"],
    normalize,
};
