//! The witness's C2SP tlog-witness HTTP interface (spec/blocklists.md
//! §13.2): `POST /witness/add-checkpoint` on the client API's listener,
//! the submission prefix being `/witness`.

use crate::core::Core;
use crate::core::lists::distribution;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// `POST /witness/add-checkpoint`: `200` with cosignature lines, `409`
/// with the witness's size (`text/x.tlog.size`), or the refusal's status
/// with a message.
pub async fn add_checkpoint(State(state): State<Arc<Core>>, body: Bytes) -> Response {
    let (status, body) = distribution::witness(&state, &body).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status == StatusCode::CONFLICT {
        accord_proto::blocklist::witness::SIZE_CONTENT_TYPE
    } else {
        "text/plain; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}
