//! What Rollcall adds to the binding so that its own exports restore
//! exactly, while other consumers still read a conformant package.
//!
//! - The `metadata.rollcall` extension column (a `metadata.*` column, which
//!   the binding allows after the defined ones) holds, as a JSON object, the
//!   top-level fields the standard columns could not carry as stored: a
//!   field written with a placeholder (`null`: absent), a value the binding
//!   cannot express (line breaks, commas inside list items, non-string
//!   metadata, password hashes, TimeBack extensions…), or the stored status
//!   of a record exported as `tobedeleted` because a record it requires is.
//!   A file with this column is a Rollcall export: its rows are restored
//!   with the status and (for new records) the `dateLastModified` they carry.
//! - Formula neutralisation (OWASP "CSV injection"): a free-text cell that
//!   starts with `=`, `+`, `-`, `@`, a tab or a carriage return, possibly
//!   behind leading `'`s, is written with one more `'` in front; the
//!   importer removes exactly one `'` from such cells, so the mapping is a
//!   bijection and text round-trips unchanged.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::spec::Kind;

/// The metadata key of the column (its header is `metadata.rollcall`).
pub const KEY: &str = "rollcall";

/// Characters a spreadsheet reads as the start of a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether cells of this format are neutralised. GUIDs are not: their
/// character set (`0-9 A-Z a-z . - _ @`) leaves no room for a function call
/// or a DDE payload, and a quoted GUID would no longer be one.
pub fn neutralised(kind: Kind) -> bool {
    !matches!(kind, Kind::Guid | Kind::GuidList)
}

/// Whether `cell` is `'`* followed by a formula trigger.
fn formula_like(cell: &str) -> bool {
    cell.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// The cell as written: one `'` added in front of a formula-like cell.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if formula_like(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The inverse of [`neutralise`]: one `'` removed from `'`+ followed by a
/// trigger (`None` when the cell is left as read).
pub fn restore(cell: &str) -> Option<&str> {
    cell.strip_prefix('\'').filter(|rest| formula_like(rest))
}

/// The top-level fields where `stored` differs from `planned` (what the
/// import makes of the standard columns): the stored value, or `null` for a
/// field the stored record lacks. `status` and `dateLastModified` are
/// carried by their own columns and left out.
pub fn differences(stored: &Map<String, Value>, planned: &Map<String, Value>) -> Map<String, Value> {
    let keys = stored.keys().chain(planned.keys().filter(|k| !stored.contains_key(*k)));
    keys.filter(|k| !matches!(k.as_str(), "status" | "dateLastModified"))
        .filter(|k| stored.get(*k) != planned.get(*k))
        .map(|k| (k.clone(), stored.get(k).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// Lays `fields` over `doc`: each replaces the field, `null` removes it.
pub fn lay_over(doc: &mut Map<String, Value>, fields: Map<String, Value>) {
    for (key, value) in fields {
        if value.is_null() {
            doc.remove(&key);
        } else {
            doc.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralising_is_a_bijection() {
        for cell in [
            "=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "'=x", "''-x", "'x", "''", "'", "", "a=b", "x'",
        ] {
            let written = neutralise(cell);
            assert!(!written.starts_with(TRIGGERS), "{cell:?} → {written:?}");
            assert_eq!(restore(&written).unwrap_or(&written), cell, "{cell:?}");
        }
        assert_eq!(neutralise("=1"), "'=1");
        assert_eq!(neutralise("'=1"), "''=1");
        assert_eq!(neutralise("'a"), "'a");
        assert_eq!(restore("'a"), None);
    }

    #[test]
    fn differences_lay_back_over_the_plan() {
        let stored = serde_json::json!({"a": 1, "b": [1], "status": "active"});
        let planned = serde_json::json!({"a": 1, "c": "", "status": "tobedeleted"});
        let (stored, mut planned) = (stored.as_object().unwrap(), planned.as_object().unwrap().clone());
        let fields = differences(stored, &planned);
        assert_eq!(Value::Object(fields.clone()), serde_json::json!({"b": [1], "c": null}));
        lay_over(&mut planned, fields);
        planned.insert("status".into(), "active".into());
        assert_eq!(&planned, stored);
    }
}
