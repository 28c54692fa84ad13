//! Who is writing, for the change log: every request runs inside a
//! [`WriteContext`] naming its request id and the API as origin; the
//! `Authenticated` extractor names the client once its token is checked.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use rollcall_store::{Origin, WriteContext};

/// The layer: runs the rest of the request inside its write context.
pub async fn layer(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ctx = WriteContext {
        actor: None,
        request_id,
        origin: Origin::Api,
    };
    WriteContext::scope(ctx, next.run(request)).await
}
