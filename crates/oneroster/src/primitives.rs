//! The spec's primitive types. Each has a private field and a fallible
//! constructor, so a value that exists is a valid value.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The longest sourcedId we accept. The spec sets no bound; one is needed so
/// an id can never be used to store arbitrary blobs in an index.
pub const MAX_SOURCED_ID_LEN: usize = 256;

/// A OneRoster `sourcedId`. Every id is a URL path segment (`/orgs/{id}`,
/// each reference's `href`) and a CSV cell, so the accepted set is what
/// survives both unchanged: not blank, no surrounding whitespace (CSV lists
/// are trimmed, so such an id could not be referred to), not `.` or `..`
/// (URL resolution collapses them into another URL), no `/` or `\` (a path
/// separator to URL parsers), no `?` or `#`, no control characters, and at
/// most [`MAX_SOURCED_ID_LEN`] bytes. References and path parameters go
/// through the same rule: a reference deserialises as a `SourcedId`, and a
/// path's id is written into the record before it is validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourcedId(String);

impl SourcedId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            return Err("sourcedId must not be empty or blank".into());
        }
        if raw.len() > MAX_SOURCED_ID_LEN {
            return Err(format!("sourcedId longer than {MAX_SOURCED_ID_LEN} bytes"));
        }
        if raw.trim() != raw {
            return Err(format!("sourcedId '{raw}' must not start or end with whitespace"));
        }
        if raw == "." || raw == ".." {
            return Err(format!("sourcedId must not be '{raw}' (a relative URL path segment)"));
        }
        if raw
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '?' | '#'))
        {
            return Err("sourcedId must not contain control characters, '/', '\\', '?' or '#'".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// A new server-allocated id (a random UUID, as TimeBack allocates).
    pub fn allocate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourcedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SourcedId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SourcedId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(de::Error::custom)
    }
}

/// The key under which a unique field (a user's email) is compared, the one
/// definition every path uses: the API's writes and the CSV import's checks,
/// through the key column both stores write and index. Values that a person
/// would read as the same address must collide, so the key is the value
/// trimmed, in canonical caseless form (Unicode full case folding between
/// canonical decompositions, so `ß` matches `ss` and `É` matches `e` + U+0301),
/// recomposed (NFC) to keep it short. The stored value stays as sent.
pub fn unique_key(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let decomposed: String = raw.trim().nfd().collect();
    caseless::default_case_fold_str(&decomposed).nfc().collect()
}

/// Record status. OneRoster 1.1's `inactive` is read as `tobedeleted`, as the
/// 1.2 text instructs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Tobedeleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Tobedeleted => "tobedeleted",
        }
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "active" => Ok(Self::Active),
            "tobedeleted" | "inactive" => Ok(Self::Tobedeleted),
            other => Err(de::Error::custom(format!(
                "unknown status '{other}', expected 'active' or 'tobedeleted'"
            ))),
        }
    }
}

/// A UTC instant, always emitted as ISO-8601 with milliseconds and `Z`, so
/// that stored values sort lexicographically in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(at)
    }

    /// Parses a date-time with any offset, or a bare date (midnight UTC).
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
            return Ok(Self(at.with_timezone(&Utc)));
        }
        if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
            return Ok(Self(midnight.and_utc()));
        }
        Err(format!("'{raw}' is not an ISO-8601 date or date-time"))
    }

    pub fn to_wire(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn instant(self) -> DateTime<Utc> {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_wire())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Date(String);

impl Date {
    pub fn parse(raw: &str) -> Result<Self, String> {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(|d| Self(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| format!("'{raw}' is not a date in the form YYYY-MM-DD"))
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(de::Error::custom)
    }
}

/// A OneRoster boolean: the strings "true"/"false" in 1.2, a JSON boolean in
/// older TimeBack clients. Both are accepted; the string is emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0 { "true" } else { "false" })
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(Self(b)),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Self(true)),
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Self(false)),
            other => Err(de::Error::custom(format!(
                "expected true or false (boolean or string), found {other}"
            ))),
        }
    }
}

/// A grade level. Clients send numbers (`5`) or strings (`"05"`, `"KG"`);
/// numbers are kept as their decimal text and strings as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grade(String);

impl<'de> Deserialize<'de> for Grade {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Ok(Self(s.trim().to_owned())),
            serde_json::Value::Number(n) if n.is_i64() => Ok(Self(n.to_string())),
            other => Err(de::Error::custom(format!(
                "a grade is a non-empty string or an integer, found {other}"
            ))),
        }
    }
}

/// Declares a closed OneRoster vocabulary that also admits `ext:` extensions
/// (pattern `(ext:)[a-zA-Z0-9.\-_]+`), stored as the string sent.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, [$($value:literal),+ $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        pub struct $name(String);

        impl $name {
            pub const VALUES: &'static [&'static str] = &[$($value),+];

            pub fn parse(raw: &str) -> Result<Self, String> {
                if Self::VALUES.contains(&raw) || $crate::primitives::is_extension(raw) {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(format!(
                        "unknown {} '{raw}', expected one of {} or an 'ext:' value",
                        stringify!($name), Self::VALUES.join(", ")
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use vocabulary;

/// True for a vocabulary extension such as `ext:coach`.
pub fn is_extension(raw: &str) -> bool {
    raw.strip_prefix("ext:").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sourced_id_rejects_what_is_not_a_stable_path_segment() {
        for bad in [
            "", " ", "\t", "\u{3000}", " a", "a ", ".", "..", "a/b", "a\\b", "a?b", "a#b", "a\nb", "a\u{7f}b",
        ] {
            assert!(SourcedId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SourcedId::parse(&"x".repeat(257)).is_err());
        for good in [
            "usr-1",
            "a b",
            "...",
            ".a",
            "a..b",
            "é@x.org",
            "%2E%2E",
            &"x".repeat(256),
        ] {
            assert_eq!(SourcedId::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn unique_keys_fold_case_normalisation_and_padding() {
        let same = [
            ("élodie@x.org", "ÉLODIE@x.org"),
            ("jos\u{e9}@x.org", "jose\u{301}@x.org"),
            ("ann@x.org", " ann@x.org\t"),
            ("STRAßE@x.org", "strasse@x.org"),
            ("Ann@X.org", "ann@x.org"),
        ];
        for (a, b) in same {
            assert_eq!(unique_key(a), unique_key(b), "{a:?} / {b:?}");
        }
        assert_ne!(unique_key("ann@x.org"), unique_key("anne@x.org"));
        assert_eq!(unique_key("José@X.org"), "jos\u{e9}@x.org");
    }

    #[test]
    fn timestamp_normalises_to_utc_millis() {
        let t = Timestamp::parse("2026-01-02T03:04:05+02:00").unwrap();
        assert_eq!(t.to_wire(), "2026-01-02T01:04:05.000Z");
        assert_eq!(
            Timestamp::parse("2026-01-02").unwrap().to_wire(),
            "2026-01-02T00:00:00.000Z"
        );
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn flag_accepts_bool_and_string() {
        let f: Flag = serde_json::from_str("true").unwrap();
        assert_eq!(f, Flag(true));
        let f: Flag = serde_json::from_str("\"false\"").unwrap();
        assert_eq!(serde_json::to_string(&f).unwrap(), "\"false\"");
        assert!(serde_json::from_str::<Flag>("\"yes\"").is_err());
    }

    #[test]
    fn grade_accepts_numbers_and_strings() {
        let g: Vec<Grade> = serde_json::from_str(r#"[5, "05", "KG", -1]"#).unwrap();
        assert_eq!(serde_json::to_string(&g).unwrap(), r#"["5","05","KG","-1"]"#);
        assert!(serde_json::from_str::<Grade>("1.5").is_err());
    }

    #[test]
    fn status_maps_inactive() {
        let s: Status = serde_json::from_str("\"inactive\"").unwrap();
        assert_eq!(s, Status::Tobedeleted);
        assert!(serde_json::from_str::<Status>("\"gone\"").is_err());
    }

    #[test]
    fn extensions_follow_the_pattern() {
        assert!(is_extension("ext:coach-1.b_c"));
        assert!(!is_extension("ext:"));
        assert!(!is_extension("ext:bad value"));
    }
}
