//! Reports and moderation over HTTP (spec/reports.md §11–§12): filing
//! reports and following them, the moderator queue and actions, and the
//! audit log.

use super::auth::Session;
use crate::core::Core;
use crate::core::reports::{self, ModeratorView, ReportsError, actions, appeals, teams};
use crate::http::ApiError;
use crate::http::case_id;
use crate::http::extract::Json;
use crate::http::reply::Reply;
use accord_api::ErrorCode;
use accord_api::admin::{ModeratorRequest, ModeratorRole, ModeratorsResponse};
use accord_api::moderation::{ActionReceipt, ActionRequest, CaseDetail, CasesQuery, CasesResponse};
use accord_api::reports::{ReportRequest, ReportStatus, ReportsResponse};
use accord_api::teams::{AppealRequest, AppealStatus, AppealsQuery, AppealsResponse, NoteRequest, NotesResponse};
use accord_proto::audit::AuditLog;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use std::sync::Arc;

/// Largest `POST /v1/reports` body: a report of up to 1 MiB, base64 in JSON.
pub const MAX_REPORT_REQUEST: usize = 2 * 1024 * 1024;

impl From<ReportsError> for ApiError {
    fn from(e: ReportsError) -> Self {
        match &e {
            ReportsError::RateLimited(ms) => ApiError::rate_limited(*ms),
            ReportsError::Store(e) => ApiError::internal(e),
            ReportsError::List(e) if e.code() == "internal" => ApiError::internal(e),
            // A moderator's action whose list entries fail answers the
            // list's code with 400 (accord-api's `ErrorCode::status`).
            ReportsError::List(_) => ApiError::with_status(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
            _ => ApiError::new(e.code(), e.to_string()),
        }
    }
}

fn moderator(state: &Core, session: &Session) -> Result<ModeratorView, ApiError> {
    state.reports.moderator(&session.0).ok_or_else(|| ReportsError::NotModerator.into())
}

/// `POST /v1/reports`: files a report.
pub async fn file(
    State(state): State<Arc<Core>>,
    session: Session,
    Json(req): Json<ReportRequest>,
) -> Result<Reply<ReportStatus>, ApiError> {
    let status = reports::file(&state, session.0, req.report).await.inspect_err(|e| state.metrics.reject(e.code()))?;
    Ok(Reply(status))
}

/// `GET /v1/reports`: the session account's reports.
pub async fn mine(State(state): State<Arc<Core>>, session: Session) -> Reply<ReportsResponse> {
    Reply(ReportsResponse { reports: reports::statuses(&state, &session.0).await })
}

/// `GET /v1/mod/list-notes`: private notes on a list's entries (moderators).
pub async fn list_notes(
    State(state): State<Arc<Core>>,
    session: Session,
    Query(q): Query<accord_api::curation::NotesQuery>,
) -> Result<Reply<accord_api::curation::NotesResponse>, ApiError> {
    moderator(&state, &session)?;
    Ok(Reply(accord_api::curation::NotesResponse { notes: state.lists.notes(&state.store, &q.list, q.entry).await? }))
}

/// `POST /v1/mod/list-notes`: a moderator's private note on a list entry,
/// kept under the moderator's account id.
pub async fn add_list_note(
    State(state): State<Arc<Core>>,
    session: Session,
    Json(req): Json<accord_api::curation::ModNoteRequest>,
) -> Result<Reply<accord_api::curation::Note>, ApiError> {
    moderator(&state, &session)?;
    let by = Some(session.0.to_string());
    Ok(Reply(state.lists.add_note(&state.store, &req.list, req.entry, req.text, by).await?))
}

/// `GET /v1/mod/cases`: the queue (moderators).
pub async fn cases(
    State(state): State<Arc<Core>>,
    session: Session,
    Query(q): Query<CasesQuery>,
) -> Result<Reply<CasesResponse>, ApiError> {
    let viewer = moderator(&state, &session)?;
    Ok(Reply(CasesResponse { cases: reports::queue(&state, q.state, q.source, Some(&viewer)).await }))
}

/// `GET /v1/mod/cases/{case}`: one case (moderators).
pub async fn case(
    State(state): State<Arc<Core>>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Reply<CaseDetail>, ApiError> {
    let viewer = moderator(&state, &session)?;
    Ok(Reply(reports::case_detail(&state, &case_id(&id)?, Some(&viewer)).await?))
}

/// `POST /v1/mod/actions`: a moderator's signed action.
pub async fn act(
    State(state): State<Arc<Core>>,
    session: Session,
    Json(req): Json<ActionRequest>,
) -> Result<Reply<ActionReceipt>, ApiError> {
    moderator(&state, &session)?;
    let receipt = actions::resolve(&state, req.action).await.inspect_err(|e| state.metrics.reject(e.code()))?;
    Ok(Reply(receipt))
}

/// `POST /v1/mod/cases/{case}/notes`: a moderator's internal note.
pub async fn add_note(
    State(state): State<Arc<Core>>,
    session: Session,
    Path(id): Path<String>,
    Json(req): Json<NoteRequest>,
) -> Result<Reply<NotesResponse>, ApiError> {
    let viewer = moderator(&state, &session)?;
    Ok(Reply(NotesResponse { notes: teams::add_note(&state, case_id(&id)?, Some(&viewer), req.text).await? }))
}

/// `GET /v1/mod/appeals`: appeals of this node's decisions (moderators).
pub async fn mod_appeals(
    State(state): State<Arc<Core>>,
    session: Session,
    Query(q): Query<AppealsQuery>,
) -> Result<Reply<AppealsResponse>, ApiError> {
    let viewer = moderator(&state, &session)?;
    Ok(Reply(AppealsResponse { appeals: appeals::queue(&state, q.state, Some(&viewer)).await }))
}

/// `POST /v1/appeals`: an account of this node appeals a decision against
/// it; the signed appeal authenticates it (no session: a blocked account
/// has none).
pub async fn file_appeal(
    State(state): State<Arc<Core>>,
    Json(req): Json<AppealRequest>,
) -> Result<Reply<AppealStatus>, ApiError> {
    let status = appeals::file(&state, req.appeal).await.inspect_err(|e| state.metrics.reject(e.code()))?;
    Ok(Reply(status))
}

/// `GET /v1/appeals`: the session account's appeals.
pub async fn my_appeals(State(state): State<Arc<Core>>, session: Session) -> Reply<AppealsResponse> {
    Reply(AppealsResponse { appeals: appeals::mine(&state, &session.0).await })
}

/// An `admin` moderator of this node, else `403 forbidden`.
fn admin_moderator(state: &Core, session: &Session) -> Result<ModeratorView, ApiError> {
    let viewer = moderator(state, session)?;
    if viewer.role == ModeratorRole::Admin {
        Ok(viewer)
    } else {
        Err(ApiError::new(ErrorCode::Forbidden, "only admin moderators manage moderators"))
    }
}

/// `GET /v1/mod/moderators`: the moderators, roles and scopes (moderators).
pub async fn moderators(
    State(state): State<Arc<Core>>,
    session: Session,
) -> Result<Reply<ModeratorsResponse>, ApiError> {
    moderator(&state, &session)?;
    Ok(Reply(ModeratorsResponse { moderators: state.reports.moderators() }))
}

/// `POST /v1/mod/moderators`: an admin moderator adds a moderator or sets
/// its role and categories.
pub async fn add_moderator(
    State(state): State<Arc<Core>>,
    session: Session,
    Json(req): Json<ModeratorRequest>,
) -> Result<Reply<ModeratorsResponse>, ApiError> {
    let by = admin_moderator(&state, &session)?;
    let role = req.role.unwrap_or_default();
    if role == ModeratorRole::Admin && !req.categories.is_empty() {
        return Err(ApiError::bad_request("an admin acts on every category: give no categories"));
    }
    state.reports.add_moderator(&state.store, req.account, role, req.categories).await?;
    tracing::info!(account = %req.account, role = role.as_str(), by = %by.account, "moderator added");
    Ok(Reply(ModeratorsResponse { moderators: state.reports.moderators() }))
}

/// `POST /v1/mod/moderators/remove`: an admin moderator removes one.
pub async fn remove_moderator(
    State(state): State<Arc<Core>>,
    session: Session,
    Json(req): Json<ModeratorRequest>,
) -> Result<Reply<ModeratorsResponse>, ApiError> {
    let by = admin_moderator(&state, &session)?;
    if !state.reports.remove_moderator(&state.store, &req.account).await? {
        return Err(ApiError::new(ErrorCode::UnknownModerator, "that account is not a moderator here"));
    }
    tracing::info!(account = %req.account, by = %by.account, "moderator removed");
    Ok(Reply(ModeratorsResponse { moderators: state.reports.moderators() }))
}

/// `GET /v1/audit`: the audit log export.
pub async fn audit(State(state): State<Arc<Core>>) -> Result<Reply<AuditLog>, ApiError> {
    Ok(Reply(reports::export_audit(&state).await?))
}
