//! Reports and moderation over HTTP (spec/reports.md §11–§12): filing
//! reports and following them, the moderator queue and actions, the audit
//! log, and the admin endpoint's report routes.

use super::{ApiError, AppState, auth::Session};
use crate::reports::{self, CaseFilter, ReportsError, actions};
use accord_proto::audit::Verdict;
use accord_proto::{AccountId, ListName, Sha256Hash, SignedBytes};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest `POST /v1/reports` body: a report of up to 1 MiB, base64 in JSON.
pub const MAX_REPORT_REQUEST: usize = 2 * 1024 * 1024;

impl From<ReportsError> for ApiError {
    fn from(e: ReportsError) -> Self {
        let status = match &e {
            ReportsError::RateLimited(ms) => return ApiError::rate_limited(*ms),
            ReportsError::Store(e) => return ApiError::internal(e),
            ReportsError::NotReporter | ReportsError::NotModerator => StatusCode::FORBIDDEN,
            ReportsError::UnknownCase | ReportsError::UnknownList => StatusCode::NOT_FOUND,
            ReportsError::Resolved | ReportsError::AuditTampered(_) => StatusCode::CONFLICT,
            e if e.code() == "too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            ReportsError::List(e) if e.code() == "internal" => return ApiError::internal(e),
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

fn case_id(text: &str) -> Result<Sha256Hash, ApiError> {
    text.parse().map_err(|_| ApiError::bad_request("a case id is 64 hex digits"))
}

fn moderator(state: &AppState, session: &Session) -> Result<(), ApiError> {
    if state.reports.is_moderator(&session.0) { Ok(()) } else { Err(ReportsError::NotModerator.into()) }
}

/// `POST /v1/reports` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    report: SignedBytes,
}

/// `POST /v1/reports`: files a report.
pub async fn file(
    State(state): State<Arc<AppState>>,
    session: Session,
    Json(req): Json<ReportRequest>,
) -> Result<Json<Value>, ApiError> {
    let status = reports::file(&state, session.0, req.report).await.inspect_err(|e| state.metrics.reject(e.code()))?;
    Ok(Json(json!(status)))
}

/// `GET /v1/reports`: the session account's reports.
pub async fn mine(State(state): State<Arc<AppState>>, session: Session) -> Json<Value> {
    Json(json!({"reports": reports::statuses(&state, &session.0).await}))
}

/// `?state=` of queue listings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    #[serde(default)]
    state: CaseFilter,
}

/// `GET /v1/mod/cases`: the queue (moderators).
pub async fn cases(
    State(state): State<Arc<AppState>>,
    session: Session,
    Query(q): Query<QueueQuery>,
) -> Result<Json<Value>, ApiError> {
    moderator(&state, &session)?;
    Ok(Json(json!({"cases": reports::queue(&state, q.state).await})))
}

/// `GET /v1/mod/cases/{case}`: one case (moderators).
pub async fn case(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    moderator(&state, &session)?;
    Ok(Json(json!(reports::case_detail(&state, &case_id(&id)?).await?)))
}

/// `POST /v1/mod/actions` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    action: SignedBytes,
}

/// `POST /v1/mod/actions`: a moderator's signed action.
pub async fn act(
    State(state): State<Arc<AppState>>,
    session: Session,
    Json(req): Json<ActionRequest>,
) -> Result<Json<Value>, ApiError> {
    moderator(&state, &session)?;
    let receipt = actions::resolve(&state, req.action).await.inspect_err(|e| state.metrics.reject(e.code()))?;
    Ok(Json(json!(receipt)))
}

/// `GET /v1/audit` and `GET /admin/audit`: the audit log export.
pub async fn audit(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(reports::export_audit(&state).await?)))
}

/// `GET /admin/audit/verify`: checks the stored audit log.
pub async fn audit_verify(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    match reports::verify_audit(&state).await {
        Ok(head) => Ok(Json(json!({"ok": true, "size": head.size, "root": head.root}))),
        Err(e) => {
            let index = match &e {
                accord_proto::audit::AuditError::Action { index, .. }
                | accord_proto::audit::AuditError::WrongNode { index } => Some(*index),
                _ => None,
            };
            let mut error = ApiError::new(StatusCode::CONFLICT, "audit_tampered", e.to_string());
            error.message =
                format!("{} ({}{})", e, e.code(), index.map(|i| format!(", action {i}")).unwrap_or_default());
            Err(error)
        }
    }
}

/// `GET /admin/reports`: the queue.
pub async fn admin_cases(State(state): State<Arc<AppState>>, Query(q): Query<QueueQuery>) -> Json<Value> {
    Json(json!({"cases": reports::queue(&state, q.state).await}))
}

/// `GET /admin/reports/{case}`: one case.
pub async fn admin_case(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(reports::case_detail(&state, &case_id(&id)?).await?)))
}

/// `POST /admin/reports/{case}/resolve` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    action: Verdict,
    #[serde(default)]
    list: Option<ListName>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    days: Option<u64>,
}

/// `POST /admin/reports/{case}/resolve`: the operator resolves a case; the
/// node signs the action.
pub async fn admin_resolve(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Json(req): Json<ResolveRequest>,
) -> Result<Json<Value>, ApiError> {
    let reason = super::admin::reason(req.reason)?;
    if req.action.needs_list() && req.list.is_none() {
        return Err(ApiError::bad_request(format!("`{}` needs a list (--list NAME)", req.action)));
    }
    let list = if req.action.needs_list() { req.list } else { None };
    let receipt = actions::resolve_as_node(&state, case_id(&id)?, req.action, list, reason, req.days).await?;
    Ok(Json(json!(receipt)))
}

/// `POST /admin/moderators` and `/admin/moderators/remove` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeratorRequest {
    account: AccountId,
}

/// `GET /admin/moderators`.
pub async fn moderators(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"moderators": state.reports.moderators()}))
}

/// `POST /admin/moderators`: adds a moderator account.
pub async fn add_moderator(
    State(state): State<Arc<AppState>>,
    Json(req): Json<ModeratorRequest>,
) -> Result<Json<Value>, ApiError> {
    state.reports.add_moderator(&state.store, req.account).await?;
    tracing::info!(account = %req.account, "moderator added");
    Ok(Json(json!({"moderators": state.reports.moderators()})))
}

/// `POST /admin/moderators/remove`: removes a moderator account.
pub async fn remove_moderator(
    State(state): State<Arc<AppState>>,
    Json(req): Json<ModeratorRequest>,
) -> Result<Json<Value>, ApiError> {
    if !state.reports.remove_moderator(&state.store, &req.account).await? {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "unknown_moderator", "that account is not a moderator here"));
    }
    tracing::info!(account = %req.account, "moderator removed");
    Ok(Json(json!({"moderators": state.reports.moderators()})))
}
