//! One cell against its column's format. The binding is stricter than the
//! JSON API (values are case-sensitive, dates and date-times have one exact
//! form, only some vocabularies take `ext:` terms), so these checks run
//! before a row is handed to the resource's `normalize`.

use chrono::{NaiveDate, NaiveDateTime};
use oneroster::SourcedId;
use oneroster::primitives::is_extension;

use crate::spec::{Col, Kind, Need};

/// A rejected cell: the rule label and the reason.
pub type CellError = (&'static str, String);

/// Checks `raw` against `col`; `bulk` says whether the file is a bulk file.
pub fn check(col: &Col, raw: &str, bulk: bool) -> Result<(), CellError> {
    if raw.is_empty() {
        return match col.need {
            Need::Required => Err(("row.missing_required_value", format!("{} is required", col.name))),
            Need::DeltaOnly if !bulk => Err((
                "row.field_required_in_delta",
                format!("{} is required in a delta file", col.name),
            )),
            _ => Ok(()),
        };
    }
    if col.need == Need::DeltaOnly && bulk {
        return Err((
            "row.field_forbidden_in_bulk",
            format!("{} must be blank in a bulk file", col.name),
        ));
    }
    match col.kind {
        Kind::Guid => guid(raw),
        Kind::GuidList => items(raw)?.into_iter().try_for_each(guid),
        Kind::Text => Ok(()),
        Kind::TextList => items(raw).map(drop),
        Kind::Vocab(values, extensible) => {
            if values.contains(&raw) || (extensible && is_extension(raw)) {
                Ok(())
            } else {
                let ext = if extensible { " or an 'ext:' term" } else { "" };
                Err((
                    "row.invalid_enum",
                    format!(
                        "'{raw}' is not one of {}{ext} (values are case-sensitive)",
                        values.join(", ")
                    ),
                ))
            }
        }
        Kind::Bool => match raw {
            "true" | "false" => Ok(()),
            _ => Err((
                "row.invalid_boolean",
                format!("'{raw}' must be true or false (lower case)"),
            )),
        },
        Kind::Date => date(raw),
        Kind::Year => {
            if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(("row.invalid_year", format!("'{raw}' is not a year (YYYY)")))
            }
        }
        Kind::UserIds => items(raw)?.into_iter().try_for_each(|item| user_id(item).map(drop)),
        Kind::Status => match raw {
            "active" | "tobedeleted" => Ok(()),
            _ => Err((
                "row.invalid_enum",
                format!("status '{raw}' must be active or tobedeleted"),
            )),
        },
        Kind::DateTime => date_time(raw),
    }
}

/// A GUID as the binding defines it (`[0-9A-Za-z./@_-]{1,255}`), less what
/// Rollcall refuses in any sourcedId (`/`, `.`, `..`: see `SourcedId`), so
/// that the CSV and the API accept the same ids.
pub fn guid(raw: &str) -> Result<(), CellError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '@');
    if raw.is_empty() || raw.len() > 255 || !raw.chars().all(allowed) {
        return Err((
            "row.invalid_guid",
            format!("'{raw}' is not a GUID: 1-255 characters from 0-9 a-z A-Z . - _ / @"),
        ));
    }
    SourcedId::parse(raw).map(drop).map_err(|reason| {
        (
            "row.unsupported_guid",
            format!("'{raw}': Rollcall cannot store this sourcedId (it is a URL path segment): {reason}"),
        )
    })
}

/// The items of a comma-separated list, trimmed; empty items are an error.
pub fn items(raw: &str) -> Result<Vec<&str>, CellError> {
    let items: Vec<&str> = raw.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err(("row.invalid_list", format!("'{raw}' has an empty list item")));
    }
    Ok(items)
}

/// A `{type:id}` item of users.userIds.
pub fn user_id(item: &str) -> Result<(&str, &str), CellError> {
    item.strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .and_then(|s| s.split_once(':'))
        .filter(|(kind, id)| !kind.is_empty() && !id.is_empty() && !kind.contains('}') && !id.contains('}'))
        .ok_or_else(|| {
            (
                "row.invalid_list",
                format!("'{item}' is not a {{type:id}} user identifier"),
            )
        })
}

fn date(raw: &str) -> Result<(), CellError> {
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if shaped && NaiveDate::parse_from_str(raw, "%Y-%m-%d").is_ok() {
        Ok(())
    } else {
        Err(("row.invalid_date", format!("'{raw}' is not a date (YYYY-MM-DD)")))
    }
}

fn date_time(raw: &str) -> Result<(), CellError> {
    const SHAPE: &[u8; 24] = b"0000-00-00T00:00:00.000Z";
    let shaped = raw.len() == 24
        && raw.bytes().zip(SHAPE).all(|(b, s)| match s {
            b'0' => b.is_ascii_digit(),
            _ => b == *s,
        });
    if shaped && NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok() {
        Ok(())
    } else {
        Err((
            "row.invalid_datetime",
            format!("'{raw}' is not a date-time in the form YYYY-MM-DDTHH:MM:SS.sssZ"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_exact() {
        assert!(date("2023-08-15").is_ok());
        assert!(date("2023-8-15").is_err());
        assert!(date("2023-02-30").is_err());
        assert!(date_time("2024-01-15T10:30:00.000Z").is_ok());
        assert!(date_time("2024-01-15T10:30:00Z").is_err());
        assert!(date_time("2024-01-15T25:30:00.000Z").is_err());
        assert!(guid("a.b-c_d@e").is_ok());
        assert_eq!(guid("a b").unwrap_err().0, "row.invalid_guid");
        for unsupported in ["a/b", ".", ".."] {
            assert_eq!(
                guid(unsupported).unwrap_err().0,
                "row.unsupported_guid",
                "{unsupported}"
            );
        }
        assert!(guid("...").is_ok());
        assert_eq!(user_id("{LDAP:a:b}").unwrap(), ("LDAP", "a:b"));
        assert!(user_id("LDAP:a").is_err());
        assert!(items("a,,b").is_err());
        assert_eq!(items("09, 10").unwrap(), ["09", "10"]);
    }
}
