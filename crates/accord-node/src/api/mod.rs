//! The client API: HTTP + WebSocket, JSON, under `/v1` (spec/client-api.md).

pub mod admin;
pub mod auth;
mod error;
pub mod extract;
pub mod handlers;
pub mod limits;
pub mod peers;
pub mod reports;
pub mod stream;

pub use error::ApiError;

use crate::config::Config;
use crate::federation::outbox::Outbox;
use crate::metrics::Metrics;
use crate::network::Network;
use crate::rooms::Rooms;
use accord_proto::identity::Handle;
use accord_proto::{AccountId, NodeId, RoomId, SecretKey, Sha256Hash};
use accord_store::Store;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Signals shutdown to every task holding a clone.
pub use tokio_util::sync::CancellationToken as Shutdown;

/// Everything the API handlers share.
pub struct AppState {
    /// The node's key (attestations, stamps).
    pub node_key: SecretKey,
    /// The node's id.
    pub node_id: NodeId,
    /// The configuration.
    pub config: Config,
    /// The store.
    pub store: Store,
    /// Rooms held here.
    pub rooms: Rooms,
    /// Challenges and sessions.
    pub sessions: auth::Sessions,
    /// Rate limiters.
    pub limits: limits::Limits,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Handle → account of local accounts.
    pub handles: Mutex<HashMap<Handle, AccountId>>,
    /// Serialises registrations.
    pub registration_lock: tokio::sync::Mutex<()>,
    /// Serialises room creations.
    pub creation_lock: tokio::sync::Mutex<()>,
    /// Fires on shutdown.
    pub shutdown: CancellationToken,
    /// Open live streams per account.
    pub streams: Mutex<HashMap<AccountId, usize>>,
    /// The peer-to-peer network.
    pub network: Network,
    /// Home node of every account whose verified identity is stored.
    pub homes: Mutex<HashMap<AccountId, NodeId>>,
    /// Identity hashes of documents already verified and stored (a peer
    /// sending them again costs no signature check).
    pub known_identities: Mutex<HashSet<Sha256Hash>>,
    /// Delivery of this node's events to peers.
    pub(crate) outbox: Outbox,
    /// Syncs running, by peer and room.
    pub(crate) syncing: Mutex<HashSet<(NodeId, RoomId)>>,
    /// Local events waiting for their room's next store write.
    pub(crate) appends: Mutex<HashMap<RoomId, Vec<handlers::PendingAppend>>>,
    /// Blocklists and the enforcement index.
    pub lists: crate::lists::Lists,
    /// The admin endpoint's bearer token (`admin.token` in the data
    /// directory).
    pub admin_token: String,
    /// Bulk imports being staged, by list.
    pub(crate) staged: Mutex<HashMap<accord_proto::ListId, Vec<accord_formats::Imported>>>,
    /// Reports, cases, moderators and the audit log.
    pub reports: crate::reports::Reports,
    /// Peers' latest verified policy manifests.
    pub manifests: Mutex<HashMap<NodeId, accord_proto::Verified<accord_proto::policy::PolicyManifest>>>,
}

impl AppState {
    /// The home node of a known account.
    pub fn home_of(&self, account: &AccountId) -> Option<NodeId> {
        self.homes.lock().unwrap_or_else(|p| p.into_inner()).get(account).copied()
    }
}

async fn per_ip_limit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match state.limits.request(addr.ip()) {
        Ok(()) => next.run(request).await,
        Err(ms) => {
            state.metrics.reject("rate_limited");
            ApiError::rate_limited(ms).into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.encode())
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

async fn not_found() -> ApiError {
    ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

fn admin_router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/lists", post(admin::create).get(admin::status))
        .route("/lists/{name}/entries", post(admin::add).get(admin::show))
        .route("/lists/{name}/remove", post(admin::remove))
        .route("/lists/{name}/import", post(admin::import))
        .route("/lists/{name}/stage", post(admin::stage))
        .route("/lists/{name}/commit", post(admin::commit))
        .route("/lists/{name}/export", get(admin::export))
        .route("/subscriptions", post(admin::subscribe))
        .route("/subscriptions/remove", post(admin::unsubscribe))
        .route("/exceptions", post(admin::exception))
        .route("/evidence", get(admin::evidence))
        .route("/trust", post(admin::trust))
        .route("/quarantine", get(admin::quarantine))
        .route("/quarantine/release", post(admin::release))
        .route("/reports", get(reports::admin_cases))
        .route("/reports/{case}", get(reports::admin_case))
        .route("/reports/{case}/resolve", post(reports::admin_resolve))
        .route("/moderators", get(reports::moderators).post(reports::add_moderator))
        .route("/moderators/remove", post(reports::remove_moderator))
        .route("/audit", get(reports::audit))
        .route("/audit/verify", get(reports::audit_verify))
        .route("/peers", get(peers::blocked))
        .route("/peers/block", post(peers::block))
        .route("/peers/unblock", post(peers::unblock))
        // Bulk imports are large; only the local operator gets here.
        .layer(DefaultBodyLimit::max(admin::MAX_IMPORT_BODY))
        .layer(middleware::from_fn_with_state(state, admin::guard))
}

/// The API's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.config.api.max_body_bytes;
    Router::new()
        .route("/v1/node", get(handlers::node_info))
        .route("/v1/auth/challenge", post(auth::challenge))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/register", post(handlers::register))
        .route("/v1/identities/{account}", get(handlers::identity))
        .route("/v1/events", post(handlers::submit))
        .route("/v1/rooms", get(handlers::my_rooms))
        .route("/v1/rooms/{room}", get(handlers::room_state))
        .route("/v1/rooms/{room}/events", get(handlers::history))
        .route("/v1/stream", get(stream::stream))
        .route(
            "/v1/reports",
            post(reports::file).get(reports::mine).layer(DefaultBodyLimit::max(reports::MAX_REPORT_REQUEST)),
        )
        .route("/v1/mod/cases", get(reports::cases))
        .route("/v1/mod/cases/{case}", get(reports::case))
        .route("/v1/mod/actions", post(reports::act))
        .route("/v1/audit", get(reports::audit))
        .route("/metrics", get(metrics))
        .nest("/admin", admin_router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), per_ip_limit))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
