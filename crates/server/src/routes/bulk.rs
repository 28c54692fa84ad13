//! `POST /{collection}/bulk`: many records of one resource under the
//! collection's wrapper (`{"users": [...]}`), written in one transaction or
//! none (see `rollcall_service::bulk`). The body may be larger than other
//! requests', so it has its own size limit, and its records are counted
//! while it is parsed: one too many stops the parse there.

use std::cell::Cell;
use std::fmt;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use oneroster::ResourceDecl;
use oneroster::problems::Problem;
use rollcall_service::bulk::{MAX_RECORDS, Refused, Report, Written};
use rollcall_service::scope::Operation;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBytes};
use crate::state::AppState;

/// The last path segment of the bulk routes. A record whose sourcedId is
/// `bulk` stays reachable there by GET, PUT, PATCH and DELETE.
pub const SEGMENT: &str = "bulk";

/// The largest bulk body: room for the most records a bulk write takes,
/// at a few KiB each.
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The POST of `decl`'s bulk route, with its own body limit.
pub fn route(decl: &'static ResourceDecl) -> MethodRouter<AppState> {
    post(move |s, a, h, b| write(decl, s, a, h, b)).layer(DefaultBodyLimit::max(BODY_LIMIT))
}

async fn write(
    decl: &'static ResourceDecl,
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, decl)?;
    let engine = super::collection::writer(&state, &auth, &headers)?;
    let mut records = parse(&body, decl.collection)?;
    for record in &mut records {
        super::extended::fold(&state, decl, record).await?;
    }
    let total = records.len();
    rollcall_store::WriteContext::set_origin(rollcall_store::Origin::Bulk);
    match engine.bulk(decl, records).await? {
        Report::Written(written) => Ok(answer(&written)),
        Report::Refused(refused) => Err(refusal(decl, &refused, total)),
    }
}

/// 200: how many records were created and replaced, and what became of each.
fn answer(written: &[Written]) -> Response {
    let count = |outcome: &str| written.iter().filter(|w| w.outcome.as_str() == outcome).count();
    let items: Vec<Value> = written
        .iter()
        .map(|w| json!({ "index": w.index, "sourcedId": w.sourced_id, "status": w.outcome.as_str() }))
        .collect();
    let body = json!({ "created": count("created"), "replaced": count("replaced"), "items": items });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// 422: every refused record's problems, at paths into the request body
/// (`users[3].givenName`), with a per-problem report in `imsx_error_details`.
fn refusal(decl: &ResourceDecl, refused: &[Refused], total: usize) -> ApiError {
    let mut problems: Vec<Problem> = Vec::new();
    let mut details: Vec<Map<String, Value>> = Vec::new();
    for r in refused {
        for p in &r.problems {
            let p = p.clone().under(&format!("{}[{}]", decl.collection, r.index));
            let detail = json!({ "index": r.index.to_string(), "sourcedId": r.sourced_id.clone().unwrap_or_default(),
                "path": p.path, "message": p.message });
            details.extend(detail.as_object().cloned());
            problems.push(p);
        }
    }
    let mut error = ApiError::problems(&problems, details);
    if let ApiError::Problems { message, .. } = &mut error {
        *message = format!(
            "{} of {total} {} refused, nothing was written; {message}",
            refused.len(),
            decl.collection
        );
    }
    error
}

/// The records under `wrapper`, refused with 413 past [`MAX_RECORDS`]
/// before the rest of the body is parsed.
fn parse(body: &[u8], wrapper: &str) -> Result<Vec<Value>, ApiError> {
    let seed = Records {
        wrapper,
        over: Cell::new(false),
    };
    let mut reader = serde_json::Deserializer::from_slice(body);
    let parsed = (&seed)
        .deserialize(&mut reader)
        .and_then(|records| reader.end().map(|()| records));
    match parsed {
        Ok(Some(records)) => Ok(records),
        _ if seed.over.get() => Err(ApiError::Status {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("a bulk write takes at most {MAX_RECORDS} {wrapper}: split the request"),
        }),
        Ok(None) => Err(shape(wrapper)),
        Err(e) if e.is_data() => Err(shape(wrapper)),
        Err(e) => Err(ApiError::bad_request(format!("malformed JSON: {e}"))),
    }
}

fn shape(wrapper: &str) -> ApiError {
    ApiError::Unprocessable(format!(
        "the body must be an object with a '{wrapper}' array of records"
    ))
}

/// Reads `{"<wrapper>": [...]}`, skipping other members; `over` is set when
/// the array holds more than [`MAX_RECORDS`].
struct Records<'a> {
    wrapper: &'a str,
    over: Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for &Records<'_> {
    type Value = Option<Vec<Value>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &Records<'_> {
    type Value = Option<Vec<Value>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a '{}' array", self.wrapper)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut records = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.wrapper {
                records = Some(map.next_value_seed(Capped(self))?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(records)
    }
}

/// The records array, counted as it is read.
struct Capped<'r, 'a>(&'r Records<'a>);

impl<'de> DeserializeSeed<'de> for Capped<'_, '_> {
    type Value = Vec<Value>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Capped<'_, '_> {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of at most {MAX_RECORDS} records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_RECORDS));
        while let Some(record) = seq.next_element::<Value>()? {
            if records.len() == MAX_RECORDS {
                self.0.over.set(true);
                return Err(de::Error::custom("too many records"));
            }
            records.push(record);
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrapper_is_found_among_other_members() {
        let records = parse(br#"{"note": {"a": [1]}, "users": [{"a": 1}, {}]}"#, "users").unwrap();
        assert_eq!(records.len(), 2);
        assert!(matches!(
            parse(br#"{"user": []}"#, "users"),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            parse(br#"{"users": {}}"#, "users"),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            parse(br#"{"users": [}"#, "users"),
            Err(ApiError::BadRequest { .. })
        ));
    }

    #[test]
    fn one_record_too_many_stops_the_parse() {
        let mut body = String::from(r#"{"users": ["#);
        body.push_str(&vec!["{}"; MAX_RECORDS + 1].join(","));
        body.push_str(", not json at all");
        match parse(body.as_bytes(), "users") {
            Err(ApiError::Status { status, message }) => {
                assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
                assert!(message.contains("at most 10000 users"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
