//! A validated CSV row in the REST JSON shape that the resource's
//! `normalize` takes: `xSourcedId` columns become `{sourcedId}` references,
//! lists become arrays, users' `preferredGivenName` becomes the model's
//! `preferredFirstName`, and so on. Roles and user profiles come out as the
//! objects they become inside a user. Rows are kept as CSV records until
//! they are planned and converted only then: a record is several times
//! smaller than its JSON, which matters at a million users.

use serde_json::{Map, Value, json};

use crate::cell::{CellError, items, user_id};
use crate::spec::FileKind;

/// A rule across cells broken: the column and the error.
pub type RowError = (&'static str, CellError);

/// The checks that involve more than one cell, or more than a cell's format.
pub fn check_row(kind: FileKind, c: &[&str]) -> Result<(), RowError> {
    match (kind, c) {
        (FileKind::Courses, &[.., subjects, codes]) => pair_up(subjects, codes),
        (FileKind::Classes, &[.., subjects, codes, _]) => pair_up(subjects, codes),
        (FileKind::Users, &[_, _, _, _, _, _, _, _, _, _, email, ..]) if !email.is_empty() && !email.contains('@') => {
            Err((
                "email",
                ("row.invalid_value", format!("'{email}' is not an email address")),
            ))
        }
        _ => Ok(()),
    }
}

fn pair_up(subjects: &str, codes: &str) -> Result<(), RowError> {
    if !subjects.is_empty() && !codes.is_empty() {
        let (s, c) = (
            items(subjects).map_err(|e| ("subjects", e))?,
            items(codes).map_err(|e| ("subjectCodes", e))?,
        );
        if s.len() != c.len() {
            let reason = format!(
                "{} subjects but {} subjectCodes; they pair up in order",
                s.len(),
                c.len()
            );
            return Err(("subjectCodes", ("row.invalid_list", reason)));
        }
    }
    Ok(())
}

/// Converts cells (in the spec's column order, already checked by `cell`
/// and `check_row`).
pub fn convert(kind: FileKind, c: &[&str]) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("sourcedId".into(), c[0].into());
    match (kind, c) {
        (FileKind::Orgs, &[_, _, _, name, kind, identifier, parent]) => {
            o.insert("name".into(), name.into());
            o.insert("type".into(), kind.into());
            // The model requires an identifier; the binding makes it optional.
            o.insert("identifier".into(), identifier.into());
            reference(&mut o, "parent", parent);
        }
        (FileKind::AcademicSessions, &[_, _, _, title, kind, start, end, parent, year]) => {
            o.insert("title".into(), title.into());
            o.insert("type".into(), kind.into());
            o.insert("startDate".into(), start.into());
            o.insert("endDate".into(), end.into());
            reference(&mut o, "parent", parent);
            o.insert("schoolYear".into(), year.into());
        }
        (FileKind::Courses, &[_, _, _, year, title, code, grades, org, subjects, codes]) => {
            reference(&mut o, "schoolYear", year);
            o.insert("title".into(), title.into());
            // The model requires a courseCode; the binding makes it optional.
            o.insert("courseCode".into(), code.into());
            list(&mut o, "grades", grades);
            reference(&mut o, "org", org);
            list(&mut o, "subjects", subjects);
            list(&mut o, "subjectCodes", codes);
        }
        (
            FileKind::Classes,
            &[
                _,
                _,
                _,
                title,
                grades,
                course,
                code,
                class_type,
                location,
                school,
                terms,
                subjects,
                codes,
                periods,
            ],
        ) => {
            o.insert("title".into(), title.into());
            list(&mut o, "grades", grades);
            reference(&mut o, "course", course);
            text(&mut o, "classCode", code);
            o.insert("classType".into(), class_type.into());
            text(&mut o, "location", location);
            reference(&mut o, "school", school);
            references(&mut o, "terms", terms);
            list(&mut o, "subjects", subjects);
            list(&mut o, "subjectCodes", codes);
            list(&mut o, "periods", periods);
        }
        (
            FileKind::Users,
            &[
                _,
                _,
                _,
                enabled,
                username,
                ids,
                given,
                family,
                middle,
                identifier,
                email,
                sms,
                phone,
                agents,
                grades,
                password,
                master,
                pref_given,
                pref_middle,
                pref_family,
                primary_org,
                pronouns,
            ],
        ) => {
            o.insert("enabledUser".into(), enabled.into());
            o.insert("username".into(), username.into());
            o.insert("userIds".into(), user_ids(ids));
            o.insert("givenName".into(), given.into());
            o.insert("familyName".into(), family.into());
            text(&mut o, "middleName", middle);
            text(&mut o, "identifier", identifier);
            text(&mut o, "email", email);
            text(&mut o, "sms", sms);
            text(&mut o, "phone", phone);
            references(&mut o, "agents", agents);
            list(&mut o, "grades", grades);
            text(&mut o, "password", password);
            text(&mut o, "userMasterIdentifier", master);
            text(&mut o, "preferredFirstName", pref_given);
            text(&mut o, "preferredMiddleName", pref_middle);
            text(&mut o, "preferredLastName", pref_family);
            reference(&mut o, "primaryOrg", primary_org);
            text(&mut o, "pronouns", pronouns);
        }
        (FileKind::Roles, &[_, _, _, _, role_type, role, begin, end, org, profile]) => {
            o.remove("sourcedId");
            o.insert("roleType".into(), role_type.into());
            o.insert("role".into(), role.into());
            reference(&mut o, "org", org);
            text(&mut o, "userProfile", profile);
            text(&mut o, "beginDate", begin);
            text(&mut o, "endDate", end);
        }
        (
            FileKind::UserProfiles,
            &[
                id,
                _,
                _,
                _,
                profile_type,
                vendor,
                application,
                description,
                credential_type,
                username,
                password,
            ],
        ) => {
            o.remove("sourcedId");
            o.insert("profileId".into(), id.into());
            o.insert("profileType".into(), profile_type.into());
            o.insert("vendorId".into(), vendor.into());
            text(&mut o, "applicationId", application);
            text(&mut o, "description", description);
            let mut credential = Map::new();
            credential.insert("type".into(), credential_type.into());
            credential.insert("username".into(), username.into());
            text(&mut credential, "password", password);
            o.insert("credentials".into(), Value::Array(vec![Value::Object(credential)]));
        }
        (FileKind::Enrollments, &[_, _, _, class, school, user, role, primary, begin, end]) => {
            reference(&mut o, "class", class);
            reference(&mut o, "school", school);
            reference(&mut o, "user", user);
            o.insert("role".into(), role.into());
            text(&mut o, "primary", primary);
            text(&mut o, "beginDate", begin);
            text(&mut o, "endDate", end);
        }
        (FileKind::Demographics, &[_, _, _, ref rest @ ..]) => {
            for (col, value) in crate::spec::DEMOGRAPHICS[3..].iter().zip(rest) {
                text(&mut o, col.name, value);
            }
        }
        _ => unreachable!("cells always match the spec's column count"),
    }
    o
}

fn text(o: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        o.insert(key.into(), value.into());
    }
}

fn reference(o: &mut Map<String, Value>, key: &str, id: &str) {
    if !id.is_empty() {
        o.insert(key.into(), json!({ "sourcedId": id }));
    }
}

fn references(o: &mut Map<String, Value>, key: &str, ids: &str) {
    if !ids.is_empty() {
        let refs = ids.split(',').map(|id| json!({ "sourcedId": id.trim() })).collect();
        o.insert(key.into(), Value::Array(refs));
    }
}

fn list(o: &mut Map<String, Value>, key: &str, raw: &str) {
    if !raw.is_empty() {
        let values = raw.split(',').map(|v| Value::String(v.trim().to_owned())).collect();
        o.insert(key.into(), Value::Array(values));
    }
}

fn user_ids(raw: &str) -> Value {
    let items = raw.split(',').filter(|i| !i.trim().is_empty());
    let ids = items.filter_map(|item| user_id(item.trim()).ok());
    Value::Array(
        ids.map(|(kind, id)| json!({ "type": kind, "identifier": id }))
            .collect(),
    )
}
