//! The CSV binding's tables as data: the 21 data files a manifest names, and
//! for the nine rostering files Rollcall stores, every column in its required
//! order with its format, whether it is required, and its vocabulary. The
//! validator, the converters and the exporter all read these, so the header
//! order exists once (every header is exercised by the shared csv-cases).

use oneroster::{ResourceDecl, model};

/// Every data file of a 1.2 package, as named in `file.<name>` manifest rows,
/// in the manifest's order.
pub const ALL_FILES: [&str; 21] = [
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItemLearningObjectiveIds",
    "lineItems",
    "lineItemScoreScales",
    "orgs",
    "resources",
    "resultLearningObjectiveIds",
    "results",
    "resultScoreScales",
    "roles",
    "scoreScales",
    "userProfiles",
    "userResources",
    "users",
];

/// The data files Rollcall imports and exports (rostering), in the order
/// they are loaded: a file only refers to files before it or to itself,
/// except roles/userProfiles, which fold into users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Orgs,
    AcademicSessions,
    Courses,
    Classes,
    Users,
    Roles,
    UserProfiles,
    Enrollments,
    Demographics,
}

impl FileKind {
    pub const ALL: [FileKind; 9] = [
        Self::Orgs,
        Self::AcademicSessions,
        Self::Courses,
        Self::Classes,
        Self::Users,
        Self::Roles,
        Self::UserProfiles,
        Self::Enrollments,
        Self::Demographics,
    ];

    /// The manifest name (`file.<name>`), also the file's stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::Orgs => "orgs",
            Self::AcademicSessions => "academicSessions",
            Self::Courses => "courses",
            Self::Classes => "classes",
            Self::Users => "users",
            Self::Roles => "roles",
            Self::UserProfiles => "userProfiles",
            Self::Enrollments => "enrollments",
            Self::Demographics => "demographics",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.csv", self.name())
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The stored resource the file's rows become (roles and userProfiles
    /// live inside users).
    pub fn decl(self) -> &'static ResourceDecl {
        match self {
            Self::Orgs => &model::org::ORGS,
            Self::AcademicSessions => &model::academic_session::ACADEMIC_SESSIONS,
            Self::Courses => &model::course::COURSES,
            Self::Classes => &model::class::CLASSES,
            Self::Users | Self::Roles | Self::UserProfiles => &model::user::USERS,
            Self::Enrollments => &model::enrollment::ENROLLMENTS,
            Self::Demographics => &model::demographics::DEMOGRAPHICS,
        }
    }

    /// The files that are stored resources of their own (not roles/userProfiles).
    pub fn is_resource(self) -> bool {
        !matches!(self, Self::Roles | Self::UserProfiles)
    }

    /// The file's header line, its columns in the binding's order (for
    /// packages written by hand, e.g. generated test districts).
    pub fn header(self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|c| c.name).collect();
        format!("{}\n", names.join(","))
    }

    pub fn columns(self) -> &'static [Col] {
        match self {
            Self::Orgs => ORGS,
            Self::AcademicSessions => ACADEMIC_SESSIONS,
            Self::Courses => COURSES,
            Self::Classes => CLASSES,
            Self::Users => USERS,
            Self::Roles => ROLES,
            Self::UserProfiles => USER_PROFILES,
            Self::Enrollments => ENROLLMENTS,
            Self::Demographics => DEMOGRAPHICS,
        }
    }
}

/// A column's format ([SPEC] §CSV Format, "Format" key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A GUID: `[0-9A-Za-z./@_-]{1,255}`.
    Guid,
    /// A comma-separated list of GUIDs.
    GuidList,
    Text,
    /// A comma-separated list of strings.
    TextList,
    /// A closed vocabulary; `true` when `ext:` terms are allowed.
    Vocab(&'static [&'static str], bool),
    /// `true` or `false`, lower case.
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY`.
    Year,
    /// `{type:id}` items (users.userIds).
    UserIds,
    /// `active` / `tobedeleted` (delta only).
    Status,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ` (delta only).
    DateTime,
}

/// Whether a value must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
    /// Required in delta files, blank in bulk files (status, dateLastModified).
    DeltaOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
    pub need: Need,
}

const fn req(name: &'static str, kind: Kind) -> Col {
    Col {
        name,
        kind,
        need: Need::Required,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Col {
    Col {
        name,
        kind,
        need: Need::Optional,
    }
}

const BOOL: Kind = Kind::Bool;
const ORG_TYPES: Kind = Kind::Vocab(
    &["department", "school", "district", "local", "state", "national"],
    true,
);
const SESSION_TYPES: Kind = Kind::Vocab(&["gradingPeriod", "semester", "schoolYear", "term"], true);
const CLASS_TYPES: Kind = Kind::Vocab(&["homeroom", "scheduled"], true);
const ROLE_TYPES: Kind = Kind::Vocab(&["primary", "secondary"], false);
const ROLES_ROLE: Kind = Kind::Vocab(
    &[
        "aide",
        "counselor",
        "districtAdministrator",
        "guardian",
        "parent",
        "principal",
        "proctor",
        "relative",
        "siteAdministrator",
        "student",
        "systemAdministrator",
        "teacher",
    ],
    true,
);
const ENROLLMENT_ROLES: Kind = Kind::Vocab(&["administrator", "proctor", "student", "teacher"], true);
const SEX: Kind = Kind::Vocab(&["male", "female", "unspecified", "other"], true);

/// `sourcedId,status,dateLastModified`, which every file starts with.
macro_rules! columns {
    ($($col:expr),* $(,)?) => {
        &[
            req("sourcedId", Kind::Guid),
            Col { name: "status", kind: Kind::Status, need: Need::DeltaOnly },
            Col { name: "dateLastModified", kind: Kind::DateTime, need: Need::DeltaOnly },
            $($col),*
        ]
    };
}

pub const ORGS: &[Col] = columns![
    req("name", Kind::Text),
    req("type", ORG_TYPES),
    opt("identifier", Kind::Text),
    opt("parentSourcedId", Kind::Guid),
];

pub const ACADEMIC_SESSIONS: &[Col] = columns![
    req("title", Kind::Text),
    req("type", SESSION_TYPES),
    req("startDate", Kind::Date),
    req("endDate", Kind::Date),
    opt("parentSourcedId", Kind::Guid),
    req("schoolYear", Kind::Year),
];

pub const COURSES: &[Col] = columns![
    opt("schoolYearSourcedId", Kind::Guid),
    req("title", Kind::Text),
    opt("courseCode", Kind::Text),
    opt("grades", Kind::TextList),
    req("orgSourcedId", Kind::Guid),
    opt("subjects", Kind::TextList),
    opt("subjectCodes", Kind::TextList),
];

pub const CLASSES: &[Col] = columns![
    req("title", Kind::Text),
    opt("grades", Kind::TextList),
    req("courseSourcedId", Kind::Guid),
    opt("classCode", Kind::Text),
    req("classType", CLASS_TYPES),
    opt("location", Kind::Text),
    req("schoolSourcedId", Kind::Guid),
    req("termSourcedIds", Kind::GuidList),
    opt("subjects", Kind::TextList),
    opt("subjectCodes", Kind::TextList),
    opt("periods", Kind::TextList),
];

pub const USERS: &[Col] = columns![
    req("enabledUser", BOOL),
    req("username", Kind::Text),
    opt("userIds", Kind::UserIds),
    req("givenName", Kind::Text),
    req("familyName", Kind::Text),
    opt("middleName", Kind::Text),
    opt("identifier", Kind::Text),
    opt("email", Kind::Text),
    opt("sms", Kind::Text),
    opt("phone", Kind::Text),
    opt("agentSourcedIds", Kind::GuidList),
    opt("grades", Kind::TextList),
    opt("password", Kind::Text),
    opt("userMasterIdentifier", Kind::Text),
    opt("preferredGivenName", Kind::Text),
    opt("preferredMiddleName", Kind::Text),
    opt("preferredFamilyName", Kind::Text),
    opt("primaryOrgSourcedId", Kind::Guid),
    opt("pronouns", Kind::Text),
];

pub const ROLES: &[Col] = columns![
    req("userSourcedId", Kind::Guid),
    req("roleType", ROLE_TYPES),
    req("role", ROLES_ROLE),
    opt("beginDate", Kind::Date),
    opt("endDate", Kind::Date),
    req("orgSourcedId", Kind::Guid),
    opt("userProfileSourcedId", Kind::Guid),
];

pub const USER_PROFILES: &[Col] = columns![
    req("userSourcedId", Kind::Guid),
    req("profileType", Kind::Text),
    req("vendorId", Kind::Text),
    opt("applicationId", Kind::Text),
    opt("description", Kind::Text),
    req("credentialType", Kind::Text),
    req("username", Kind::Text),
    opt("password", Kind::Text),
];

pub const ENROLLMENTS: &[Col] = columns![
    req("classSourcedId", Kind::Guid),
    req("schoolSourcedId", Kind::Guid),
    req("userSourcedId", Kind::Guid),
    req("role", ENROLLMENT_ROLES),
    opt("primary", BOOL),
    opt("beginDate", Kind::Date),
    opt("endDate", Kind::Date),
];

pub const DEMOGRAPHICS: &[Col] = columns![
    opt("birthDate", Kind::Date),
    opt("sex", SEX),
    opt("americanIndianOrAlaskaNative", BOOL),
    opt("asian", BOOL),
    opt("blackOrAfricanAmerican", BOOL),
    opt("nativeHawaiianOrOtherPacificIslander", BOOL),
    opt("white", BOOL),
    opt("demographicRaceTwoOrMoreRaces", BOOL),
    opt("hispanicOrLatinoEthnicity", BOOL),
    opt("countryOfBirthCode", Kind::Text),
    opt("stateOfBirthAbbreviation", Kind::Text),
    opt("cityOfBirth", Kind::Text),
    opt("publicSchoolResidenceStatus", Kind::Text),
];

/// Extension columns must carry this prefix and follow every defined column.
pub const METADATA_PREFIX: &str = "metadata.";
