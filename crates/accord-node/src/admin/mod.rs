//! The operator's door (spec/blocklists.md §12, spec/reports.md §12):
//! lists, subscriptions, exceptions, evidence, quarantine, the report
//! queue, moderators, the audit log, the peer firewall and the node's
//! status. Served under `/admin` on the admin listener only (`[admin]
//! listen`: loopback or a Unix socket, never the client API's listener),
//! only to loopback clients bearing the token in the data directory's
//! `admin.token` (what `accord-node list …` sends), or a dashboard session
//! opened with it ([`session`]).

pub mod backup;
pub mod curation;
pub mod lists;
pub mod peers;
pub mod reports;
pub mod session;

use crate::core::Core;
use crate::http::ApiError;
use crate::http::reply::Reply;
use accord_api::admin::StatusResponse;
use accord_formats::Imported;
use accord_proto::ListId;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRef, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the admin door holds besides the core.
#[derive(Clone)]
pub struct AdminState {
    /// The node.
    pub core: Arc<Core>,
    /// The bearer token (`admin.token` in the data directory).
    token: Arc<str>,
    /// Bulk imports being staged, by list.
    staged: Arc<Mutex<HashMap<ListId, Vec<Imported>>>>,
    /// Live dashboard sessions.
    sessions: Arc<session::Sessions>,
}

impl AdminState {
    /// The admin door of `core`, opened by `token`.
    pub fn new(core: Arc<Core>, token: String) -> Self {
        Self { core, token: token.into(), staged: Arc::default(), sessions: Arc::default() }
    }
}

impl FromRef<AdminState> for Arc<Core> {
    fn from_ref(state: &AdminState) -> Self {
        state.core.clone()
    }
}

/// Lets through loopback clients with the admin token or a live dashboard
/// session (with its header) only.
async fn guard(
    State(admin): State<AdminState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(refusal) =
        session::authorize(addr.ip(), request.headers(), &admin.token, &admin.sessions, Instant::now())
    {
        admin.core.metrics.reject(refusal.code().as_str());
        return ApiError::from(refusal).into_response();
    }
    next.run(request).await
}

/// `GET /admin/status`: the node at a glance.
async fn status(State(state): State<Arc<Core>>) -> Reply<StatusResponse> {
    Reply(crate::core::status::status(&state).await)
}

/// The admin routes, to be nested under `/admin` in the admin listener's
/// router (of any state).
pub fn router<S: Clone + Send + Sync + 'static>(state: AdminState) -> Router<S> {
    Router::new()
        .route("/lists", post(lists::create).get(lists::status))
        .route("/lists/{name}/entries", post(lists::add).get(lists::show))
        .route("/lists/{name}/remove", post(lists::remove))
        .route("/lists/{name}/import", post(lists::import))
        .route("/import/parse", post(lists::parse))
        .route("/lists/{name}/stage", post(lists::stage))
        .route("/lists/{name}/commit", post(lists::commit))
        .route("/lists/{name}/export", get(lists::export))
        .route("/subscriptions", post(lists::subscribe))
        .route("/discover/{peer}", get(lists::discover))
        .route("/pdq/match", post(lists::match_pdq))
        .route("/subscriptions/remove", post(lists::unsubscribe))
        .route("/exceptions", post(lists::exception))
        .route("/suggestions", get(curation::suggestions))
        .route("/suggestions/approve", post(curation::approve))
        .route("/suggestions/decline", post(curation::decline))
        .route("/kept", get(curation::kept))
        .route("/notes", get(curation::notes).post(curation::add_note))
        .route("/evidence", get(lists::evidence))
        .route("/trust", post(lists::trust))
        .route("/equivocations", get(lists::equivocations))
        .route("/quarantine", get(lists::quarantine))
        .route("/quarantine/release", post(lists::release))
        .route("/reports", get(reports::cases))
        .route("/reports/{case}", get(reports::case))
        .route("/reports/{case}/resolve", post(reports::resolve))
        .route("/reports/{case}/notes", post(reports::add_note))
        .route("/reports/{case}/assign", post(reports::assign))
        .route("/reporters/muted", get(reports::muted))
        .route("/reporters/mute", post(reports::mute))
        .route("/reporters/unmute", post(reports::unmute))
        .route("/appeals", get(reports::appeals))
        .route("/appeals/{appeal}/resolve", post(reports::resolve_appeal))
        .route("/moderators", get(reports::moderators).post(reports::add_moderator))
        .route("/moderators/remove", post(reports::remove_moderator))
        .route("/audit", get(reports::audit))
        .route("/audit/verify", get(reports::audit_verify))
        .route("/peers", get(peers::blocked))
        .route("/peers/block", post(peers::block))
        .route("/peers/unblock", post(peers::unblock))
        .route("/status", get(status))
        .route("/backup", post(backup::backup))
        .route("/session/logout", post(session::close))
        // Bulk imports are large; only the local operator gets here.
        .layer(DefaultBodyLimit::max(lists::MAX_IMPORT_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        // Takes the token in its body, and checks it itself.
        .route("/session", post(session::open))
        .with_state(state)
}
