//! `POST /admin/import`: a OneRoster CSV package (a zip) imported through a
//! running server, for remote use; the same import as `rollcall import`.
//! Needs the `admin` scope, since one package can create, change and
//! soft-delete any record.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rollcall_csv::{ImportError, ImportOptions, Mode, Package, Problem, Progress};
use rollcall_service::ServiceError;
use rollcall_service::scope::Operation;
use rollcall_store::{Origin, StoreError, WriteContext};
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::extract::{Authenticated, QueryPairs};
use crate::metrics::Rejection;
use crate::routes::IdParam;
use crate::state::AppState;

/// The largest package accepted over HTTP. Bigger districts import with the
/// CLI, which also has no request timeout to fit in.
pub const MAX_PACKAGE_BYTES: usize = 256 * 1024 * 1024;

/// When a client turned away because another import is running should try
/// again: about as long as an import may take (the request timeout).
const BUSY_RETRY_AFTER: Duration = crate::REQUEST_TIMEOUT;

/// Kept between the wait for an import and the request timeout, so that
/// the 202 with the job's URL is always sent.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// One import at a time per server: each holds its package and its plan in
/// memory and competes for the one writer, so a second would only double
/// the memory and wait.
#[derive(Clone)]
pub struct ImportGate(Arc<Semaphore>);

impl Default for ImportGate {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }
}

/// Checks, in the order that costs the least: the scope, the media type and
/// the declared length, and a free slot, all before a byte of the body is
/// read; then the body goes to a temporary file (never memory) and is
/// unzipped on the blocking pool within the configured limits.
pub async fn import(
    State(state): State<AppState>,
    Extension(gate): Extension<ImportGate>,
    auth: Authenticated,
    pairs: QueryPairs,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    auth.require(Operation::Admin, &oneroster::model::user::USERS)?;
    check_headers(&headers)?;
    let mut options = options(&state, &pairs)?;
    let Ok(slot) = gate.0.try_acquire_owned() else {
        return Ok(busy());
    };
    let file = spool(body).await?;
    let limits = state.config.import_limits;
    // The slot travels with the unzip, which a dropped request cannot stop.
    let (package, slot) = tokio::task::spawn_blocking(move || (Package::from_zip(file, limits), slot))
        .await
        .map_err(|e| ApiError::Internal(format!("unzipping failed: {e}")))?;
    let package = package.map_err(|e| ApiError::bad_request(format!("the body is not a readable zip: {e}")))?;
    let job = state.import_jobs.start(now(&state));
    let watched = job.clone();
    options.progress = Some(Progress(Arc::new(move |written, total| {
        watched.progress(written, total)
    })));
    let (running, store, clock) = (job.clone(), state.rollcall.engine.store().clone(), state.clone());
    // The job holds the import slot until it finishes, however long the
    // request that started it lasts.
    let writer = WriteContext {
        origin: Origin::Import,
        ..WriteContext::current()
    };
    tokio::spawn(WriteContext::scope(writer, async move {
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
        drop(slot);
    }));
    // Answer (202 at the latest) before the request timeout cuts the
    // request off, however long the upload and the unzip took.
    let left = crate::REQUEST_TIMEOUT.saturating_sub(started.elapsed() + ANSWER_MARGIN);
    if let Some(outcome) = job.wait(state.config.import_wait.min(left)).await {
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

/// 415 unless the body is declared a zip; 413 when it declares a length
/// past [`MAX_PACKAGE_BYTES`].
fn check_headers(headers: &HeaderMap) -> Result<(), ApiError> {
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
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_PACKAGE_BYTES as u64) {
        return Err(too_large());
    }
    Ok(())
}

fn too_large() -> ApiError {
    ApiError::Status {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("the package is larger than {MAX_PACKAGE_BYTES} bytes; import it with the CLI"),
    }
}

/// 503 `server_busy` with `Retry-After`: another import is running.
fn busy() -> Response {
    let mut response = ApiError::Status {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "another import is running; retry when it has finished".into(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER.as_secs()));
    response.extensions_mut().insert(Rejection::Busy);
    response
}

/// Writes the body to an anonymous temporary file (removed when closed),
/// refusing it once past [`MAX_PACKAGE_BYTES`] whatever it declared.
async fn spool(body: Body) -> Result<std::fs::File, ApiError> {
    let io = |e: std::io::Error| ApiError::Internal(format!("spooling the package: {e}"));
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(io)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut written = 0usize;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body failed: {e}")))?;
        written += chunk.len();
        if written > MAX_PACKAGE_BYTES {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(file.into_std().await)
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
        ImportError::Store(e @ StoreError::TimedOut(_)) | ImportError::Write(e @ StoreError::TimedOut(_)) => {
            ServiceError::from(e).into()
        }
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
