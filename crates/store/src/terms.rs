//! Values of multi-valued fields (`roles.role`, `userIds.identifier`), one row
//! per value in a `<table>__terms` side table, indexed by (field, value).

use oneroster::ResourceDecl;
use oneroster::path::values_at;
use serde_json::Value;

/// Name of the side table for a resource.
pub fn table(decl: &ResourceDecl) -> String {
    format!("{}__terms", decl.collection)
}

/// The `(field, value)` rows a document contributes, de-duplicated.
pub fn rows(decl: &ResourceDecl, doc: &Value) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for field in decl.fields.iter().filter(|f| f.many) {
        for value in values_at(doc, field.name) {
            if !out.iter().any(|(f, v)| *f == field.name && *v == value) {
                out.push((field.name, value));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use oneroster::model::user::USERS;
    use serde_json::json;

    #[test]
    fn rows_cover_every_many_field_once() {
        let doc = json!({"roles": [
            {"role": "teacher", "roleType": "primary", "org": {"sourcedId": "s1"}},
            {"role": "teacher", "roleType": "secondary", "org": {"sourcedId": "s2"}}],
            "grades": ["05"]});
        let rows = rows(&USERS, &doc);
        assert!(rows.contains(&("roles.role", "teacher".into())));
        assert_eq!(rows.iter().filter(|(f, _)| *f == "roles.role").count(), 1);
        assert!(rows.contains(&("roles.org.sourcedId", "s2".into())));
        assert!(rows.contains(&("grades", "05".into())));
    }
}
