//! A member's own data over HTTP (spec/client-api.md §3.1): the export of
//! the account and its deletion.

use super::ApiState;
use super::auth::Session;
use crate::core::deletion::{self, DeleteError};
use crate::core::export::{self, ExportError};
use crate::http::ApiError;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::account::{AccountExport, DeleteAccountRequest, DeleteAccountResponse, DeletionResponse};
use axum::extract::State;

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match &e {
            ExportError::Store(s) => store(s),
            _ => ApiError::new(e.code(), e.to_string()),
        }
    }
}

impl From<DeleteError> for ApiError {
    fn from(e: DeleteError) -> Self {
        match &e {
            DeleteError::Envelope(env) => env.clone().into(),
            DeleteError::Store(s) => store(s),
            _ => ApiError::new(e.code(), e.to_string()),
        }
    }
}

fn store(e: &accord_store::StoreError) -> ApiError {
    if e.is_no_space() { ApiError::storage_full(e) } else { ApiError::internal(e) }
}

/// `GET /v1/account/export`
pub async fn export(State(api): State<ApiState>, Session(account): Session) -> Result<Reply<AccountExport>, ApiError> {
    Ok(Reply(export::export(&api.core, &account).await?))
}

/// `GET /v1/deletions/{account}`
pub async fn deletion(
    State(api): State<ApiState>,
    axum::extract::Path(account): axum::extract::Path<String>,
) -> Result<Reply<DeletionResponse>, ApiError> {
    let account: accord_proto::AccountId =
        account.parse().map_err(|e| ApiError::bad_request(format!("account: {e}")))?;
    match api.core.store.account_deletion(&account)? {
        Some(deletion) => Ok(Reply(DeletionResponse { deletion })),
        None => Err(ApiError::new(accord_api::ErrorCode::UnknownAccount, "this account has not deleted itself")),
    }
}

/// `POST /v1/account/delete`: the account's signed deletion is applied
/// (to completion, even if the client goes away) and its sessions end.
pub async fn delete(
    State(api): State<ApiState>,
    Session(account): Session,
    Json(req): Json<DeleteAccountRequest>,
) -> Result<Reply<DeleteAccountResponse>, ApiError> {
    let core = api.core.clone();
    let done = api
        .core
        .tasks()
        .spawn_to_completion(async move { deletion::delete(&core, account, req.deletion).await })
        .await
        .map_err(ApiError::internal)?;
    if let Err(e) = &done {
        api.core.metrics.reject(e.code());
    }
    let done = done?;
    api.sessions.end_all(&account);
    Ok(Reply(done))
}
