//! `POST /admin/import`: a OneRoster CSV package (a zip) imported through a
//! running server, for remote use; the same import as `rollcall import`.
//! Needs the `admin` scope, since one package can create, change and
//! soft-delete any record.

use axum::body::Bytes;
use axum::extract::State;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rollcall_csv::{ImportError, ImportOptions, Mode, Package, Problem, Progress};
use rollcall_service::ServiceError;
use rollcall_service::scope::Operation;
use rollcall_store::StoreError;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::extract::{Authenticated, QueryPairs};
use crate::routes::IdParam;
use crate::state::AppState;

/// The largest package accepted over HTTP. Bigger districts import with the
/// CLI, which also has no request timeout to fit in.
pub const MAX_PACKAGE_BYTES: usize = 256 * 1024 * 1024;

pub async fn import(
    State(state): State<AppState>,
    auth: Authenticated,
    pairs: QueryPairs,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    auth.require(Operation::Admin, &oneroster::model::user::USERS)?;
    let is_zip = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/zip") || v.starts_with("application/octet-stream"));
    if !is_zip {
        return Err(ApiError::Status {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "send the package as a zip (Content-Type: application/zip)".into(),
        });
    }
    let mut options = options(&state, &pairs)?;
    let package = Package::from_zip(std::io::Cursor::new(body))
        .map_err(|e| ApiError::bad_request(format!("the body is not a readable zip: {e}")))?;
    let job = state.import_jobs.start(now(&state));
    let watched = job.clone();
    options.progress = Some(Progress(Arc::new(move |written, total| {
        watched.progress(written, total)
    })));
    let (running, store, clock) = (job.clone(), state.rollcall.engine.store().clone(), state.clone());
    tokio::spawn(async move {
        let outcome = match rollcall_csv::import(store.as_ref(), package, &options).await {
            Ok(report) => (StatusCode::OK, axum::Json(json!({ "report": report }))),
            Err(e) => {
                let e = import_error(e);
                if let ApiError::Internal(cause) = &e {
                    tracing::error!(%cause, job = %running.id, "import failed");
                }
                e.status_and_body()
            }
        };
        running.finish(outcome, now(&clock));
    });
    if let Some(outcome) = job.wait(state.config.import_wait).await {
        return Ok(outcome.into_response());
    }
    let location = format!("/admin/import/jobs/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, axum::Json(job.status())).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /admin/import/jobs/{id}`: a job's progress and, once finished, the
/// answer its import would have given.
pub async fn job(
    State(state): State<AppState>,
    auth: Authenticated,
    IdParam(id): IdParam,
) -> Result<Response, ApiError> {
    auth.require(Operation::Admin, &oneroster::model::user::USERS)?;
    let job = state
        .import_jobs
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no import job '{id}' on this server")))?;
    Ok(axum::Json(job.status()).into_response())
}

fn now(state: &AppState) -> String {
    oneroster::Timestamp::new(state.rollcall.engine.clock().now()).to_wire()
}

/// `dryRun`, `force`, `mode=deltaOnly`, `maxDeleteShare` from the query.
fn options(state: &AppState, pairs: &QueryPairs) -> Result<ImportOptions, ApiError> {
    let mut options = ImportOptions::new(state.rollcall.engine.clock().now());
    for (name, value) in pairs.iter() {
        let flag = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::bad_request(format!("{name} must be true or false"))),
        };
        match name {
            "dryRun" => options.dry_run = flag()?,
            "force" => options.force = flag()?,
            "mode" if value == "deltaOnly" => options.mode = Mode::DeltaOnly,
            "mode" if value == "asManifest" => options.mode = Mode::AsManifest,
            "mode" => return Err(ApiError::bad_request("mode must be asManifest or deltaOnly")),
            "maxDeleteShare" => {
                options.max_delete_share = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (0.0..=1.0).contains(s))
                    .ok_or_else(|| ApiError::bad_request("maxDeleteShare must be a number from 0 to 1"))?;
            }
            _ => {}
        }
    }
    Ok(options)
}

fn import_error(e: ImportError) -> ApiError {
    let message = e.to_string();
    match e {
        ImportError::Rejected { problems, .. } => ApiError::Detailed {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message,
            details: problems.iter().map(detail).collect(),
        },
        ImportError::MassDelete { orgs, .. } => ApiError::Detailed {
            status: StatusCode::CONFLICT,
            message,
            details: orgs
                .iter()
                .map(|o| match serde_json::to_value(o) {
                    Ok(Value::Object(m)) => m.into_iter().map(|(k, v)| (k, Value::String(text(v)))).collect(),
                    _ => Map::new(),
                })
                .collect(),
        },
        ImportError::Write(StoreError::Conflict(m)) => ApiError::Conflict(format!("nothing was imported: {m}")),
        ImportError::Write(StoreError::Busy(cause)) => ServiceError::Busy(cause).into(),
        other => ApiError::Internal(other.to_string()),
    }
}

/// One problem as `imsx_error_details` wants it: a map of strings.
fn detail(p: &Problem) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("file".into(), p.file.clone().into());
    if let Some(line) = p.line {
        m.insert("line".into(), line.to_string().into());
    }
    if let Some(column) = &p.column {
        m.insert("column".into(), column.clone().into());
    }
    m.insert("rule".into(), p.rule.into());
    m.insert("reason".into(), p.reason.clone().into());
    m
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}
