//! OneRoster OAuth 2.0 scopes. 1.2 defines the read scopes under
//! `…/or/v1p2/scope/`; TimeBack issues the same names (and the write scopes)
//! under `…/or/v1p1/scope/`. Both prefixes are accepted and mean the same.

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
];

/// The short name of a scope given in either prefix (or bare), if known.
pub fn short_name(scope: &str) -> Option<&'static str> {
    let bare = scope
        .strip_prefix(PREFIX_V1P2)
        .or_else(|| scope.strip_prefix(PREFIX_V1P1))
        .unwrap_or(scope);
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
    fn both_prefixes_and_bare_names_resolve() {
        assert_eq!(short_name(&uri("roster.readonly")), Some("roster.readonly"));
        assert_eq!(
            short_name("https://purl.imsglobal.org/spec/or/v1p1/scope/roster.createput"),
            Some("roster.createput")
        );
        assert_eq!(short_name("admin"), Some("admin"));
        assert_eq!(short_name("https://purl.imsglobal.org/spec/or/v1p2/scope/nope"), None);
    }
}
