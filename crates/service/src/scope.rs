//! OneRoster OAuth 2.0 scopes. 1.2 defines the read scopes under
//! `…/or/v1p2/scope/`; TimeBack issues the same names (and the write scopes)
//! under `…/or/v1p1/scope/`. Both prefixes are accepted and mean the same.
//!
//! Bare names (`roster.readonly`) are accepted only as input from our own
//! operators and clients (`clients create --scopes`, the token request's
//! `scope`); a token grants a scope only by its full URI ([`granted`]), so an
//! external issuer's generic `admin` or `roster.readonly` grants nothing.

pub const PREFIX_V1P2: &str = "https://purl.imsglobal.org/spec/or/v1p2/scope/";
pub const PREFIX_V1P1: &str = "https://purl.imsglobal.org/spec/or/v1p1/scope/";

/// Every scope a client can hold, by short name.
pub const ALL: &[&str] = &[
    "roster-core.readonly",
    "roster.readonly",
    "roster-demographics.readonly",
    "roster.createput",
    "roster.delete",
    "roster-demographics.createput",
    "roster-demographics.delete",
    "admin",
    "roster-credentials.decrypt",
];

/// What a request does, for choosing the scopes that permit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A collection or single-record read (1.2 "core" endpoints).
    Read,
    /// A relationship read such as getClassesForUser (1.2: `roster.readonly` only).
    ReadRelation,
    /// POST, PUT, PATCH.
    Write,
    Delete,
    /// Bulk operations that may create, change and delete anything (CSV import).
    Admin,
    /// Reading a registered third-party password in clear (decryptCredential).
    DecryptCredential,
}

/// The scopes of which any one permits `op`; demographics have their own,
/// as personal data beyond the roster. `admin` permits everything but
/// decrypting credentials, which only its own scope permits.
pub fn permitting(op: Operation, demographics: bool) -> &'static [&'static str] {
    match (op, demographics) {
        (Operation::Read, false) => &["roster-core.readonly", "roster.readonly", "admin"],
        (Operation::ReadRelation, false) => &["roster.readonly", "admin"],
        (Operation::Read | Operation::ReadRelation, true) => &["roster-demographics.readonly", "admin"],
        (Operation::Write, false) => &["roster.createput", "admin"],
        (Operation::Write, true) => &["roster-demographics.createput", "admin"],
        (Operation::Delete, false) => &["roster.delete", "admin"],
        (Operation::Delete, true) => &["roster-demographics.delete", "admin"],
        (Operation::Admin, _) => &["admin"],
        (Operation::DecryptCredential, _) => &["roster-credentials.decrypt"],
    }
}

/// The short name of a scope given in either prefix (or bare), if known.
pub fn short_name(scope: &str) -> Option<&'static str> {
    let bare = scope
        .strip_prefix(PREFIX_V1P2)
        .or_else(|| scope.strip_prefix(PREFIX_V1P1))
        .unwrap_or(scope);
    ALL.iter().copied().find(|s| *s == bare)
}

/// The short name of a scope a token carries, which must be a full URI in
/// either prefix.
pub fn granted(uri: &str) -> Option<&'static str> {
    let bare = uri
        .strip_prefix(PREFIX_V1P2)
        .or_else(|| uri.strip_prefix(PREFIX_V1P1))?;
    ALL.iter().copied().find(|s| *s == bare)
}

/// The full v1p2 URI of a short scope name, as tokens carry it.
pub fn uri(short: &str) -> String {
    format!("{PREFIX_V1P2}{short}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_scopes_follow_the_spec() {
        assert!(permitting(Operation::Read, false).contains(&"roster-core.readonly"));
        assert!(!permitting(Operation::ReadRelation, false).contains(&"roster-core.readonly"));
        assert!(!permitting(Operation::Read, true).contains(&"roster.readonly"));
        assert!(!permitting(Operation::Write, false).contains(&"roster.readonly"));
    }

    #[test]
    fn both_prefixes_and_bare_names_resolve() {
        assert_eq!(short_name(&uri("roster.readonly")), Some("roster.readonly"));
        assert_eq!(
            short_name("https://purl.imsglobal.org/spec/or/v1p1/scope/roster.createput"),
            Some("roster.createput")
        );
        assert_eq!(short_name("admin"), Some("admin"));
        assert_eq!(short_name("https://purl.imsglobal.org/spec/or/v1p2/scope/nope"), None);
    }

    #[test]
    fn tokens_grant_scopes_only_by_uri() {
        assert_eq!(granted(&uri("admin")), Some("admin"));
        assert_eq!(
            granted("https://purl.imsglobal.org/spec/or/v1p1/scope/roster.delete"),
            Some("roster.delete")
        );
        assert_eq!(granted("admin"), None);
        assert_eq!(granted("roster.readonly"), None);
        assert_eq!(granted("https://example.org/admin"), None);
    }
}
