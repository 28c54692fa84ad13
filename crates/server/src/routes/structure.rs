//! createCourseStructure: a course and its outline of course components
//! (see `oneroster::model::course_structure`) stored in one transaction, so
//! a bad lesson leaves nothing behind.

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use oneroster::model::course::COURSES;
use oneroster::model::course_structure;
use rollcall_service::scope::Operation;

use super::API_PREFIX;
use super::collection::{created, writer};
use crate::error::ApiError;
use crate::extract::{Authenticated, JsonBody};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{API_PREFIX}/courses/structure"), post(create))
}

/// Answers with the course's `sourcedIdPairs`, as createCourse does.
async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    JsonBody(mut body): JsonBody,
) -> Result<Response, ApiError> {
    auth.require(Operation::Write, &COURSES)?;
    let engine = writer(&state, &auth, &headers)?;
    if let Some(course) = body.get_mut("course") {
        super::extended::fold(&state, &COURSES, course).await?;
    }
    let planned = course_structure::plan(body).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    rollcall_store::WriteContext::set_origin(rollcall_store::Origin::Bulk);
    let mut pairs = engine.create_all(planned).await?;
    Ok(created(&state, pairs.remove(0)))
}
