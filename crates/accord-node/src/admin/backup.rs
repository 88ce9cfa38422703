//! `POST /admin/backup`: a consistent copy of the running node's store, in
//! a directory on the node's machine (spec/blocklists.md §12.1). The
//! operator's `accord-node backup` calls it, then adds the configuration
//! and the node key.

use crate::core::Core;
use crate::core::backup::{self, BackupError};
use crate::http::ApiError;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::admin::{BackupManifest, BackupRequest};
use axum::extract::State;
use std::sync::Arc;

/// `POST /admin/backup`.
pub async fn backup(
    State(state): State<Arc<Core>>,
    Json(req): Json<BackupRequest>,
) -> Result<Reply<BackupManifest>, ApiError> {
    match backup::backup(&state, std::path::Path::new(&req.to)).await {
        Ok(manifest) => Ok(Reply(manifest)),
        Err(e @ BackupError::BadTarget(_)) => Err(ApiError::new(ErrorCode::BadRequest, e.to_string())),
        Err(e) => Err(ApiError::internal(e)),
    }
}
