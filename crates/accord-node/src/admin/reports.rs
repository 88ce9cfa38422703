//! Reports at the admin endpoint (spec/reports.md §12): the operator's
//! queue, resolutions signed by the node, moderator accounts, and a check
//! of the stored audit log.

use crate::core::Core;
use crate::core::reports::{self, actions};
use crate::http::ApiError;
use crate::http::case_id;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::admin::{AuditVerified, ModeratorRequest, ModeratorsResponse, ResolveRequest};
use accord_api::moderation::{ActionReceipt, CaseDetail, CasesQuery, CasesResponse};
use accord_proto::audit::AuditLog;
use axum::extract::{Path, Query, State};
use std::sync::Arc;

/// `GET /admin/reports`: the queue.
pub async fn cases(State(state): State<Arc<Core>>, Query(q): Query<CasesQuery>) -> Reply<CasesResponse> {
    Reply(CasesResponse { cases: reports::queue(&state, q.state).await })
}

/// `GET /admin/reports/{case}`: one case.
pub async fn case(State(state): State<Arc<Core>>, Path(id): Path<String>) -> Result<Reply<CaseDetail>, ApiError> {
    Ok(Reply(reports::case_detail(&state, &case_id(&id)?).await?))
}

/// `POST /admin/reports/{case}/resolve`: the operator resolves a case; the
/// node signs the action.
pub async fn resolve(
    State(state): State<Arc<Core>>,
    Path(id): Path<String>,
    Json(req): Json<ResolveRequest>,
) -> Result<Reply<ActionReceipt>, ApiError> {
    let reason = super::lists::reason(req.reason)?;
    if req.action.needs_list() && req.list.is_none() {
        return Err(ApiError::bad_request(format!("`{}` needs a list (--list NAME)", req.action)));
    }
    let list = if req.action.needs_list() { req.list } else { None };
    let receipt = actions::resolve_as_node(&state, case_id(&id)?, req.action, list, reason, req.days).await?;
    Ok(Reply(receipt))
}

/// `GET /admin/moderators`.
pub async fn moderators(State(state): State<Arc<Core>>) -> Reply<ModeratorsResponse> {
    Reply(ModeratorsResponse { moderators: state.reports.moderators() })
}

/// `POST /admin/moderators`: adds a moderator account.
pub async fn add_moderator(
    State(state): State<Arc<Core>>,
    Json(req): Json<ModeratorRequest>,
) -> Result<Reply<ModeratorsResponse>, ApiError> {
    state.reports.add_moderator(&state.store, req.account).await?;
    tracing::info!(account = %req.account, "moderator added");
    Ok(Reply(ModeratorsResponse { moderators: state.reports.moderators() }))
}

/// `POST /admin/moderators/remove`: removes a moderator account.
pub async fn remove_moderator(
    State(state): State<Arc<Core>>,
    Json(req): Json<ModeratorRequest>,
) -> Result<Reply<ModeratorsResponse>, ApiError> {
    if !state.reports.remove_moderator(&state.store, &req.account).await? {
        return Err(ApiError::new(ErrorCode::UnknownModerator, "that account is not a moderator here"));
    }
    tracing::info!(account = %req.account, "moderator removed");
    Ok(Reply(ModeratorsResponse { moderators: state.reports.moderators() }))
}

/// `GET /admin/audit`: the audit log export, as `GET /v1/audit`.
pub async fn audit(State(state): State<Arc<Core>>) -> Result<Reply<AuditLog>, ApiError> {
    Ok(Reply(reports::export_audit(&state).await?))
}

/// `GET /admin/audit/verify`: checks the stored audit log.
pub async fn audit_verify(State(state): State<Arc<Core>>) -> Result<Reply<AuditVerified>, ApiError> {
    match reports::verify_audit(&state).await {
        Ok(head) => Ok(Reply(AuditVerified { ok: true, size: head.size, root: head.root })),
        Err(e) => {
            let index = match &e {
                accord_proto::audit::AuditError::Action { index, .. }
                | accord_proto::audit::AuditError::WrongNode { index } => Some(*index),
                _ => None,
            };
            let message = format!("{} ({}{})", e, e.code(), index.map(|i| format!(", action {i}")).unwrap_or_default());
            Err(ApiError::new(ErrorCode::AuditTampered, message))
        }
    }
}
