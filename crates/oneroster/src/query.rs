//! A collection request checked against a resource declaration: every name
//! resolved, every value typed, every limit enforced, before any storage
//! sees it. What comes out can only be compiled, never rejected later.

use std::collections::HashSet;

use crate::cursor::{self, Cursor, CursorKey};
use crate::filter::{self, FilterExpr, FilterValue, Op};
use crate::primitives::{Date, Timestamp};
use crate::resource::{FieldDecl, FieldKind, ResourceDecl};
use serde_json::Value;

pub const DEFAULT_LIMIT: u32 = 100;
/// TimeBack's documented maximum; larger pages are refused, never capped.
pub const MAX_LIMIT: u32 = 3000;
/// Longest accepted `search` text.
pub const MAX_SEARCH_BYTES: usize = 256;
/// Largest accepted `offset`: the largest integer a JavaScript client reads
/// exactly from the body totals, far past any roster, and small enough that
/// `offset + limit` can never overflow.
pub const MAX_OFFSET: u64 = (1 << 53) - 1;

/// The `imsx_codeMinor` a bad query maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorKind {
    InvalidFilterField,
    InvalidSelectionField,
    /// Anything else wrong with a parameter (1.2 has no sort code).
    InvalidData,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub kind: QueryErrorKind,
    pub message: String,
}

impl QueryError {
    fn new(kind: QueryErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    fn data(message: impl Into<String>) -> Self {
        Self::new(QueryErrorKind::InvalidData, message)
    }
    fn filter(message: impl Into<String>) -> Self {
        Self::new(QueryErrorKind::InvalidFilterField, message)
    }
}

/// A filter whose every predicate names a declared field with a typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cond(Condition),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: &'static FieldDecl,
    pub op: Op,
    pub value: FilterValue,
    /// For `metadata.<key>` (free-form, so not declared): the dotted key
    /// below `metadata`, `field` then being [`METADATA`].
    pub key: Option<String>,
}

impl Condition {
    pub fn equals(field: &'static FieldDecl, value: impl Into<String>) -> Self {
        Self {
            field,
            op: Op::Eq,
            value: FilterValue::One(value.into()),
            key: None,
        }
    }
}

/// Every OneRoster record may carry `metadata`, an object with keys of the
/// sender's choosing (TimeBack's `metadata.isTestUser`). A filter may name
/// any key below it; such conditions compare the value as text (JSON
/// booleans and numbers as written: `true`, `5`) and use no index.
pub static METADATA: FieldDecl = FieldDecl::plain("metadata");

/// Keys a `metadata.` filter may name: letters, digits, `_` and `-`, up to
/// four levels deep (they reach SQL only as bound JSON paths, but a
/// predictable shape keeps them unambiguous on every backend).
fn metadata_key(name: &str) -> Option<&str> {
    let key = name.strip_prefix("metadata.")?;
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (key.split('.').count() <= 4 && key.split('.').all(valid)).then_some(key)
}

/// A restriction the server applies, which the client's filter can only
/// narrow: compiled as `(scope) AND (filter)`, so an `OR` cannot escape it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Where(Condition),
    /// Records whose `field` holds a value found at `target` in the rows of
    /// `via` that meet every scope of `when`: e.g. classes whose sourcedId
    /// is the `class.sourcedId` of enrollments with `user.sourcedId` = the
    /// user and `role` = student. Either field may be multi-valued; `when`
    /// may itself go through other resources.
    Via {
        field: &'static FieldDecl,
        via: &'static ResourceDecl,
        when: Vec<Scope>,
        target: &'static FieldDecl,
    },
    /// At least one of the scopes holds.
    Any(Vec<Scope>),
}

impl Scope {
    /// `field` equals `value`; `field` must be declared by `decl`.
    pub fn equals(decl: &'static ResourceDecl, field: &str, value: impl Into<String>) -> Self {
        Self::Where(Condition::equals(declared(decl, field), value))
    }

    /// `field` differs from `value`; `field` must be declared by `decl`.
    pub fn not_equals(decl: &'static ResourceDecl, field: &str, value: impl Into<String>) -> Self {
        Self::Where(Condition {
            op: Op::Ne,
            ..Condition::equals(declared(decl, field), value)
        })
    }

    /// Records of `decl` whose `field` is the `target` of `via` rows that
    /// meet `when`.
    pub fn via(
        decl: &'static ResourceDecl,
        field: &str,
        via: &'static ResourceDecl,
        target: &str,
        when: Vec<Scope>,
    ) -> Self {
        Self::Via {
            field: declared(decl, field),
            via,
            when,
            target: declared(via, target),
        }
    }
}

/// A field the program names (never a client): its absence is a bug in a
/// declaration, caught by the tests that walk every declaration.
fn declared(decl: &'static ResourceDecl, name: &str) -> &'static FieldDecl {
    decl.field(name)
        .unwrap_or_else(|| panic!("{} declares no field {name}", decl.collection))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: &'static FieldDecl,
    pub descending: bool,
}

/// A validated collection request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub limit: u32,
    pub offset: u64,
    pub sort: Option<SortKey>,
    pub filter: Option<Filter>,
    pub search: Option<String>,
    pub fields: Option<Vec<String>>,
    pub scope: Vec<Scope>,
    /// Keyset position from a `cursor` parameter; when set, the page starts
    /// after it and `offset` only reports where that is.
    pub after: Option<Cursor>,
    /// Fingerprint of sort, order, filter and search (see [`Cursor`]).
    pub fingerprint: u64,
}

impl ListQuery {
    /// Checks a client's `(name, value)` query pairs against `decl`. Unknown
    /// parameter names are ignored (clients add cache-busters); any name
    /// given twice is refused. A `cursor` must be one `key` signed.
    pub fn from_request<'a>(
        decl: &'static ResourceDecl,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        key: &CursorKey,
    ) -> Result<Self, QueryError> {
        Self::parse(decl, &[], pairs, Some(key))
    }

    /// As [`ListQuery::from_request`], where `extra` are the resource's
    /// declared extension fields (`metadata.ext.<name>`), filtered and
    /// sorted on like its own fields, with typed values.
    pub fn from_request_with<'a>(
        decl: &'static ResourceDecl,
        extra: &[&'static FieldDecl],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        key: &CursorKey,
    ) -> Result<Self, QueryError> {
        Self::parse(decl, extra, pairs, Some(key))
    }

    /// As [`ListQuery::from_request`], for queries the program builds
    /// itself: there is no key, so a `cursor` is refused.
    pub fn from_pairs<'a>(
        decl: &'static ResourceDecl,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, QueryError> {
        Self::parse(decl, &[], pairs, None)
    }

    fn parse<'a>(
        decl: &'static ResourceDecl,
        extra: &[&'static FieldDecl],
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        key: Option<&CursorKey>,
    ) -> Result<Self, QueryError> {
        let raw = RawParams::collect(pairs)?;
        let sort = parse_sort(decl, extra, raw.sort, raw.order_by)?;
        let fingerprint = cursor::fingerprint(&[
            sort.map_or("", |k| k.field.name),
            if sort.is_some_and(|k| k.descending) {
                "desc"
            } else {
                "asc"
            },
            raw.filter.unwrap_or(""),
            raw.search.unwrap_or(""),
        ]);
        let after = raw
            .cursor
            .map(|token| parse_cursor(token, key, fingerprint))
            .transpose()?;
        Ok(Self {
            limit: parse_limit(raw.limit)?,
            offset: match &after {
                Some(c) => c.offset,
                None => parse_offset(raw.offset)?,
            },
            sort,
            filter: raw.filter.map(|f| resolve_filter(decl, extra, f)).transpose()?,
            search: parse_search(decl, raw.search)?,
            fields: raw.fields.map(|f| parse_fields(decl, &f)).transpose()?,
            scope: Vec::new(),
            after,
            fingerprint,
        })
    }

    /// The cursor for the page after this one, given its last row; none
    /// when that page would start past [`MAX_OFFSET`].
    pub fn next_cursor(&self, last: &serde_json::Value) -> Option<Cursor> {
        let offset = self.next_offset()?;
        Cursor::after(last, self.sort, offset, self.fingerprint)
    }

    /// Where the page after this one starts, if an offset may say so.
    pub fn next_offset(&self) -> Option<u64> {
        self.offset
            .checked_add(u64::from(self.limit))
            .filter(|o| *o <= MAX_OFFSET)
    }

    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope.push(scope);
        self
    }
}

/// Checks `fields` on a single-object read.
pub fn fields_from_pairs<'a>(
    decl: &'static ResourceDecl,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Option<Vec<String>>, QueryError> {
    let raw = RawParams::collect(pairs)?;
    raw.fields.map(|f| parse_fields(decl, &f)).transpose()
}

#[derive(Default)]
struct RawParams<'a> {
    limit: Option<&'a str>,
    offset: Option<&'a str>,
    sort: Option<&'a str>,
    order_by: Option<&'a str>,
    filter: Option<&'a str>,
    search: Option<&'a str>,
    cursor: Option<&'a str>,
    fields: Option<String>,
}

impl<'a> RawParams<'a> {
    /// Every name at most once (`fields` may repeat, as 1.2 declares it a
    /// form-style array, but not name a field twice): a repeated parameter
    /// is ambiguous, and would be copied into every `Link` URL.
    fn collect(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, QueryError> {
        let mut raw = Self::default();
        let mut seen = HashSet::new();
        for (name, value) in pairs {
            if name != "fields" && !seen.insert(name) {
                return Err(repeated(name));
            }
            let slot = match name {
                "limit" => &mut raw.limit,
                "offset" => &mut raw.offset,
                "sort" => &mut raw.sort,
                "orderBy" => &mut raw.order_by,
                "filter" => &mut raw.filter,
                "search" => &mut raw.search,
                "cursor" => &mut raw.cursor,
                // 1.2 declares `fields` as a form-style array: repeats add up.
                "fields" => {
                    raw.fields = Some(match raw.fields.take() {
                        Some(prev) => format!("{prev},{value}"),
                        None => value.to_owned(),
                    });
                    continue;
                }
                _ => continue,
            };
            *slot = Some(value);
        }
        Ok(raw)
    }
}

fn repeated(name: &str) -> QueryError {
    QueryError::data(format!("query parameter '{name}' given more than once"))
}

fn parse_cursor(token: &str, key: Option<&CursorKey>, fingerprint: u64) -> Result<Cursor, QueryError> {
    let cursor = key
        .and_then(|key| Cursor::open(token, key))
        .filter(|c| c.offset <= MAX_OFFSET)
        .ok_or_else(|| QueryError::data("cursor is not a cursor this server issued"))?;
    if cursor.query != fingerprint {
        return Err(QueryError::data(
            "cursor belongs to a different sort, filter or search; start again from the first page",
        ));
    }
    Ok(cursor)
}

fn parse_limit(raw: Option<&str>) -> Result<u32, QueryError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    let limit: u32 = raw
        .parse()
        .map_err(|_| QueryError::data(format!("limit must be an integer from 1 to {MAX_LIMIT}, got '{raw}'")))?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(QueryError::data(format!(
            "limit must be from 1 to {MAX_LIMIT}, got {limit}"
        )));
    }
    Ok(limit)
}

fn parse_offset(raw: Option<&str>) -> Result<u64, QueryError> {
    let Some(raw) = raw else { return Ok(0) };
    raw.parse::<u64>()
        .ok()
        .filter(|o| *o <= MAX_OFFSET)
        .ok_or_else(|| QueryError::data(format!("offset must be an integer from 0 to {MAX_OFFSET}, got '{raw}'")))
}

fn parse_sort(
    decl: &'static ResourceDecl,
    extra: &[&'static FieldDecl],
    sort: Option<&str>,
    order_by: Option<&str>,
) -> Result<Option<SortKey>, QueryError> {
    let descending = match order_by {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(QueryError::data(format!(
                "orderBy must be 'asc' or 'desc', got '{other}'"
            )));
        }
    };
    let Some(name) = sort else {
        return Ok(descending.then(|| SortKey {
            field: &decl.fields[0],
            descending,
        }));
    };
    let sortable = || {
        let names: Vec<&str> = decl
            .fields
            .iter()
            .chain(extra.iter().copied())
            .filter(|f| ResourceDecl::is_sortable(f))
            .map(|f| f.name)
            .collect();
        names.join(", ")
    };
    let field = lookup(decl, extra, name.trim()).ok_or_else(|| {
        QueryError::data(format!(
            "cannot sort {} by unknown field '{name}'; it sorts by: {}",
            decl.collection,
            sortable()
        ))
    })?;
    if !ResourceDecl::is_sortable(field) {
        return Err(QueryError::data(format!(
            "cannot sort by '{name}': it holds several values per record; {} sorts by: {}",
            decl.collection,
            sortable()
        )));
    }
    Ok(Some(SortKey { field, descending }))
}

fn parse_search(decl: &ResourceDecl, raw: Option<&str>) -> Result<Option<String>, QueryError> {
    let Some(text) = raw.map(str::trim) else {
        return Ok(None);
    };
    if decl.search.is_empty() {
        return Err(QueryError::data(format!(
            "search is not supported on {}",
            decl.collection
        )));
    }
    if text.is_empty() || text.len() > MAX_SEARCH_BYTES {
        return Err(QueryError::data(format!(
            "search must be 1 to {MAX_SEARCH_BYTES} bytes"
        )));
    }
    Ok(Some(text.to_owned()))
}

fn parse_fields(decl: &ResourceDecl, raw: &str) -> Result<Vec<String>, QueryError> {
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(QueryError::new(
                QueryErrorKind::InvalidSelectionField,
                "fields contains a blank field name",
            ));
        }
        if !decl.selectable.contains(&name) {
            return Err(QueryError::new(
                QueryErrorKind::InvalidSelectionField,
                format!(
                    "unknown field '{name}' in fields; {} has: {}",
                    decl.collection,
                    decl.selectable.join(", ")
                ),
            ));
        }
        if out.iter().any(|o| o == name) {
            return Err(QueryError::new(
                QueryErrorKind::InvalidSelectionField,
                format!("fields names '{name}' more than once"),
            ));
        }
        out.push(name.to_owned());
    }
    Ok(out)
}

/// A field of `decl` by name or alias, or one of its declared extension fields.
fn lookup(decl: &'static ResourceDecl, extra: &[&'static FieldDecl], name: &str) -> Option<&'static FieldDecl> {
    decl.field(name)
        .or_else(|| extra.iter().copied().find(|f| f.name == name))
}

fn resolve_filter(decl: &'static ResourceDecl, extra: &[&'static FieldDecl], raw: &str) -> Result<Filter, QueryError> {
    let expr = filter::parse(raw).map_err(|e| QueryError::filter(format!("invalid filter: {e}")))?;
    resolve_expr(decl, extra, expr)
}

fn resolve_expr(
    decl: &'static ResourceDecl,
    extra: &[&'static FieldDecl],
    expr: FilterExpr,
) -> Result<Filter, QueryError> {
    let resolve_all = |items: Vec<FilterExpr>| -> Result<Vec<Filter>, QueryError> {
        items.into_iter().map(|e| resolve_expr(decl, extra, e)).collect()
    };
    Ok(match expr {
        FilterExpr::And(items) => Filter::And(resolve_all(items)?),
        FilterExpr::Or(items) => Filter::Or(resolve_all(items)?),
        FilterExpr::Predicate(p) => {
            let name = p.field.as_dotted();
            let declared = lookup(decl, extra, &name);
            if let (None, Some(key)) = (declared, metadata_key(&name)) {
                return Ok(Filter::Cond(Condition {
                    field: &METADATA,
                    op: p.op,
                    value: p.value,
                    key: Some(key.to_owned()),
                }));
            }
            let field = declared.ok_or_else(|| {
                QueryError::filter(format!(
                    "unknown filter field '{name}' at position {}; {} can be filtered on: {}, metadata.<key>",
                    p.position,
                    decl.collection,
                    decl.field_names().join(", ")
                ))
            })?;
            let value = typed_value(field, p.op, p.value)
                .map_err(|m| QueryError::filter(format!("{m} (field '{name}' at position {})", p.position)))?;
            Filter::Cond(Condition {
                field,
                op: p.op,
                value,
                key: None,
            })
        }
    })
}

/// Normalises values so stored and supplied forms compare correctly:
/// date-times become the stored `…sss Z` form, dates are validated.
fn typed_value(field: &FieldDecl, op: Op, value: FilterValue) -> Result<FilterValue, String> {
    if op == Op::Contains {
        return Ok(value);
    }
    let convert = |v: String| -> Result<String, String> {
        if field.in_document() {
            return document_value(field.kind, &v);
        }
        match field.kind {
            FieldKind::DateTime => Timestamp::parse(&v).map(Timestamp::to_wire),
            FieldKind::Date => Date::parse(&v).map(|_| v),
            _ => Ok(v),
        }
    };
    Ok(match value {
        FilterValue::One(v) => FilterValue::One(convert(v)?),
        FilterValue::List(vs) => FilterValue::List(vs.into_iter().map(convert).collect::<Result<_, _>>()?),
    })
}

/// A filter literal for a field read from the document, as the JSON text
/// of the typed value it compares with (the store compares JSON values, so
/// `5` < `10` for numbers and `'5'` is not `5`).
fn document_value(kind: FieldKind, literal: &str) -> Result<String, String> {
    let wrong = |what: &str| format!("'{literal}' is not {what}");
    let value = match kind {
        FieldKind::Integer => literal
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| wrong("an integer"))?,
        FieldKind::Number => literal
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| wrong("a number"))?,
        FieldKind::Boolean => match literal.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        FieldKind::DateTime => Value::String(Timestamp::parse(literal)?.to_wire()),
        FieldKind::Date => Value::String(Date::parse(literal).map(|_| literal.to_owned())?),
        FieldKind::Text => Value::String(literal.to_owned()),
    };
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::user::USERS;

    fn q(s: &[(&str, &str)]) -> Result<ListQuery, QueryError> {
        ListQuery::from_pairs(&USERS, s.iter().copied())
    }

    #[test]
    fn defaults() {
        let l = q(&[]).unwrap();
        assert_eq!(
            (l.limit, l.offset, l.sort, l.filter, l.fields),
            (100, 0, None, None, None)
        );
    }

    #[test]
    fn limit_bounds_are_errors_not_caps() {
        assert_eq!(q(&[("limit", "3000")]).unwrap().limit, 3000);
        for bad in ["3001", "0", "-1", "1e3", "ten"] {
            assert_eq!(
                q(&[("limit", bad)]).unwrap_err().kind,
                QueryErrorKind::InvalidData,
                "{bad}"
            );
        }
        assert!(q(&[("offset", "-5")]).is_err());
    }

    #[test]
    fn unknown_filter_field_names_it() {
        let e = q(&[("filter", "shoeSize='9'")]).unwrap_err();
        assert_eq!(e.kind, QueryErrorKind::InvalidFilterField);
        assert!(e.message.contains("shoeSize"), "{}", e.message);
    }

    #[test]
    fn aliases_and_dates_resolve() {
        let l = q(&[("filter", "role='teacher' AND dateLastModified>'2026-01-01'")]).unwrap();
        let Some(Filter::And(items)) = l.filter else {
            panic!("expected And")
        };
        let Filter::Cond(c) = &items[0] else { panic!() };
        assert_eq!(c.field.name, "roles.role");
        let Filter::Cond(c) = &items[1] else { panic!() };
        assert_eq!(c.value, FilterValue::One("2026-01-01T00:00:00.000Z".into()));
        assert!(q(&[("filter", "dateLastModified>'soon'")]).is_err());
    }

    #[test]
    fn sort_and_fields_are_checked() {
        let typo = q(&[("sort", "famlyName")]).unwrap_err();
        assert_eq!(typo.kind, QueryErrorKind::InvalidData);
        assert!(
            typo.message.contains("sorts by: ") && typo.message.contains("familyName"),
            "a sort typo lists the valid fields: {}",
            typo.message
        );
        assert!(!typo.message.contains("roles.role"), "{}", typo.message);
        assert!(q(&[("sort", "roles.role")]).is_err());
        assert!(q(&[("orderBy", "up")]).is_err());
        let l = q(&[("sort", "familyName"), ("orderBy", "desc")]).unwrap();
        assert!(l.sort.unwrap().descending);
        assert_eq!(
            q(&[("fields", "sourcedId,,email")]).unwrap_err().kind,
            QueryErrorKind::InvalidSelectionField
        );
        assert_eq!(
            q(&[("fields", "password")]).unwrap_err().kind,
            QueryErrorKind::InvalidSelectionField
        );
        assert_eq!(
            q(&[("fields", "sourcedId"), ("fields", "email")])
                .unwrap()
                .fields
                .unwrap(),
            ["sourcedId", "email"]
        );
    }

    fn keyed(s: &[(&str, &str)]) -> Result<ListQuery, QueryError> {
        ListQuery::from_request(&USERS, s.iter().copied(), &CursorKey::derive(b"k"))
    }

    #[test]
    fn cursors_only_fit_their_own_query() {
        let first = q(&[("sort", "familyName"), ("filter", "status='active'")]).unwrap();
        let last = serde_json::json!({"sourcedId": "u7", "familyName": "Ng"});
        let token = first.next_cursor(&last).unwrap().seal(&CursorKey::derive(b"k"));
        let next = keyed(&[
            ("sort", "familyName"),
            ("filter", "status='active'"),
            ("cursor", &token),
        ])
        .unwrap();
        let after = next.after.unwrap();
        assert_eq!(
            (after.value.as_deref(), after.id.as_str(), next.offset),
            (Some("Ng"), "u7", 100)
        );
        let other = keyed(&[("sort", "givenName"), ("filter", "status='active'"), ("cursor", &token)]);
        assert_eq!(other.unwrap_err().kind, QueryErrorKind::InvalidData);
        assert!(keyed(&[("cursor", "garbage")]).is_err());
        let unkeyed = q(&[
            ("sort", "familyName"),
            ("filter", "status='active'"),
            ("cursor", &token),
        ]);
        assert!(unkeyed.is_err(), "a query built without the key takes no cursor");
    }

    #[test]
    fn offsets_are_bounded_and_never_overflow() {
        let max = MAX_OFFSET.to_string();
        let at_max = q(&[("offset", &max), ("limit", "3000")]).unwrap();
        assert_eq!(at_max.next_offset(), None);
        let last = serde_json::json!({"sourcedId": "u7"});
        assert_eq!(at_max.next_cursor(&last), None);
        let past = (MAX_OFFSET + 1).to_string();
        assert!(q(&[("offset", &past)]).is_err());
        assert!(q(&[("offset", &u64::MAX.to_string())]).is_err());
        let key = CursorKey::derive(b"k");
        let plain = q(&[]).unwrap();
        let forged = Cursor {
            offset: u64::MAX,
            ..plain.next_cursor(&last).unwrap()
        };
        assert!(
            keyed(&[("cursor", &forged.seal(&key))]).is_err(),
            "even a signed offset is bounded"
        );
    }

    #[test]
    fn repeated_parameters_are_rejected() {
        assert!(q(&[("limit", "1"), ("limit", "2")]).is_err());
        assert!(q(&[("cacheBuster", "1"), ("cacheBuster", "2")]).is_err());
        let fields = q(&[("fields", "sourcedId"), ("fields", "sourcedId")]).unwrap_err();
        assert_eq!(fields.kind, QueryErrorKind::InvalidSelectionField);
        assert!(q(&[("fields", "sourcedId,email,sourcedId")]).is_err());
    }
}
