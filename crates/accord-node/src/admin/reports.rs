//! Reports at the admin endpoint (spec/reports.md §12): the operator's
//! queue, resolutions signed by the node, moderator accounts with their
//! roles, the team's work (notes, assignments, muted reporters), appeals,
//! and a check of the stored audit log.

use crate::core::Core;
use crate::core::reports::{self, actions, appeals, teams};
use crate::http::ApiError;
use crate::http::case_id;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::admin::{AuditVerified, ModeratorRequest, ModeratorRole, ModeratorsResponse, ResolveRequest};
use accord_api::moderation::{ActionReceipt, CaseDetail, CasesQuery, CasesResponse};
use accord_api::teams::{
    AppealResolveRequest, AppealsQuery, AppealsResponse, AssignRequest, MuteRequest, MutedResponse, NoteRequest,
    NotesResponse, UnmuteRequest,
};
use accord_proto::audit::AuditLog;
use axum::extract::{Path, Query, State};
use std::sync::Arc;

/// `GET /admin/reports`: the queue.
pub async fn cases(State(state): State<Arc<Core>>, Query(q): Query<CasesQuery>) -> Reply<CasesResponse> {
    Reply(CasesResponse { cases: reports::queue(&state, q.state, q.source, None).await })
}

/// `GET /admin/reports/{case}`: one case.
pub async fn case(State(state): State<Arc<Core>>, Path(id): Path<String>) -> Result<Reply<CaseDetail>, ApiError> {
    Ok(Reply(reports::case_detail(&state, &case_id(&id)?, None).await?))
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
    let role = req.role.unwrap_or_default();
    if role == ModeratorRole::Admin && !req.categories.is_empty() {
        return Err(ApiError::bad_request("an admin acts on every category: give no categories"));
    }
    state.reports.add_moderator(&state.store, req.account, role, req.categories).await?;
    tracing::info!(account = %req.account, role = role.as_str(), "moderator added");
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

/// `POST /admin/reports/{case}/notes`: the operator's internal note.
pub async fn add_note(
    State(state): State<Arc<Core>>,
    Path(id): Path<String>,
    Json(req): Json<NoteRequest>,
) -> Result<Reply<NotesResponse>, ApiError> {
    Ok(Reply(NotesResponse { notes: teams::add_note(&state, case_id(&id)?, None, req.text).await? }))
}

/// `POST /admin/reports/{case}/assign`: assigns a case; the node signs it.
pub async fn assign(
    State(state): State<Arc<Core>>,
    Path(id): Path<String>,
    Json(req): Json<AssignRequest>,
) -> Result<Reply<ActionReceipt>, ApiError> {
    Ok(Reply(teams::assign_as_node(&state, case_id(&id)?, req.account).await?))
}

/// `GET /admin/reporters/muted`: the muted reporters.
pub async fn muted(State(state): State<Arc<Core>>) -> Reply<MutedResponse> {
    Reply(MutedResponse { muted: teams::muted(&state).await })
}

/// `POST /admin/reporters/mute`: mutes a reporter; the node signs it.
pub async fn mute(
    State(state): State<Arc<Core>>,
    Json(req): Json<MuteRequest>,
) -> Result<Reply<MutedResponse>, ApiError> {
    let reason = super::lists::reason(req.reason)?;
    Ok(Reply(MutedResponse { muted: teams::mute_as_node(&state, req.account, req.case, reason).await? }))
}

/// `POST /admin/reporters/unmute`: lifts a reporter's mute; the node signs it.
pub async fn unmute(
    State(state): State<Arc<Core>>,
    Json(req): Json<UnmuteRequest>,
) -> Result<Reply<MutedResponse>, ApiError> {
    let reason = super::lists::reason(req.reason)?;
    Ok(Reply(MutedResponse { muted: teams::unmute_as_node(&state, req.account, reason).await? }))
}

/// `GET /admin/appeals`: appeals of this node's decisions.
pub async fn appeals(State(state): State<Arc<Core>>, Query(q): Query<AppealsQuery>) -> Reply<AppealsResponse> {
    Reply(AppealsResponse { appeals: appeals::queue(&state, q.state, None).await })
}

/// `POST /admin/appeals/{appeal}/resolve`: the operator upholds or
/// overturns an appealed decision; the node signs it.
pub async fn resolve_appeal(
    State(state): State<Arc<Core>>,
    Path(id): Path<String>,
    Json(req): Json<AppealResolveRequest>,
) -> Result<Reply<ActionReceipt>, ApiError> {
    let reason = super::lists::reason(req.reason)?;
    Ok(Reply(appeals::resolve_as_node(&state, case_id(&id)?, req.action, reason).await?))
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
