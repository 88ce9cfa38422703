//! The client API door: HTTP + WebSocket, JSON, under `/v1`
//! (spec/client-api.md). Handlers parse and authenticate a request, call
//! the core and translate its errors into API errors with stable codes.

pub mod account;
pub mod auth;
pub mod handlers;
pub mod media;
pub mod names;
pub mod reports;
pub mod starting;
pub mod stream;
pub mod witness;

use crate::http::ApiError;

use crate::core::Core;
use crate::core::limits::Limits;
use crate::metrics::Metrics;
use accord_api::ErrorCode;
use accord_proto::AccountId;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRef, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What the client API holds besides the core: sessions (kept in the store
/// too, so a restart ends none) and open streams.
#[derive(Clone)]
pub struct ApiState {
    /// The node.
    pub core: Arc<Core>,
    /// Challenges and sessions.
    pub sessions: Arc<auth::Sessions>,
    /// Open live streams per account.
    streams: Arc<Mutex<HashMap<AccountId, usize>>>,
}

impl ApiState {
    /// The client API of `core`.
    pub fn new(core: Arc<Core>) -> Self {
        // Sessions kept from before a restart; a store that cannot be read
        // here fails the node's start elsewhere first.
        let sessions = auth::Sessions::load(&core.store).unwrap_or_else(|e| {
            tracing::error!("reading the kept sessions: {e}");
            auth::Sessions::default()
        });
        Self { core, sessions: Arc::new(sessions), streams: Arc::default() }
    }
}

impl FromRef<ApiState> for Arc<Core> {
    fn from_ref(state: &ApiState) -> Self {
        state.core.clone()
    }
}

/// The request rate per client address: the connection's peer, or the
/// client a trusted proxy names (`http::forwarded`).
async fn per_ip_limit(
    State(state): State<Arc<Core>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    limited(&state.limits, &state.metrics, addr, request, next).await
}

/// Serves `request` if `addr` is within its request rate, else answers
/// `429 rate_limited`.
pub(crate) async fn limited(
    limits: &Limits,
    metrics: &Metrics,
    addr: SocketAddr,
    request: Request,
    next: Next,
) -> Response {
    match limits.request(addr.ip()) {
        Ok(()) => next.run(request).await,
        Err(ms) => {
            tracing::debug!(client = %addr.ip(), "request rate exceeded");
            metrics.reject("rate_limited");
            ApiError::rate_limited(ms).into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<Core>>) -> impl IntoResponse {
    crate::core::status::sample_memory(&state);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.encode())
}

async fn healthz() -> Json<accord_api::health::HealthResponse> {
    Json(accord_api::health::HealthResponse { status: "alive".into() })
}

async fn readyz(State(state): State<Arc<Core>>) -> impl IntoResponse {
    let ready = crate::core::health::readiness(&state);
    let status = if ready.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(ready))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take that method")
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint")
}

/// The API's routes, with the other doors' routes a listener serves beside
/// them (`doors`: the chat client's pages on the client API's listener; the
/// admin endpoint and the dashboard on the admin listener), all under one
/// per-address rate limit.
pub fn router(state: ApiState, doors: Router<ApiState>) -> Router {
    let max_body = state.core.config.api.max_body_bytes;
    Router::new()
        .route("/v1/node", get(handlers::node_info))
        .route(accord_proto::names::WELL_KNOWN_PATH, get(names::well_known))
        .route("/v1/nodes/{node}/name", get(names::node_name))
        .route("/v1/auth/challenge", post(auth::challenge))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/register", post(handlers::register))
        .route("/v1/identities/{account}", get(handlers::identity))
        .route("/v1/account/export", get(account::export))
        .route("/v1/account/delete", post(account::delete))
        .route("/v1/deletions/{account}", get(account::deletion))
        .route("/v1/events", post(handlers::submit))
        .route("/v1/rooms", get(handlers::my_rooms))
        .route("/v1/rooms/{room}", get(handlers::room_state))
        .route("/v1/rooms/{room}/events", get(handlers::history))
        .route("/v1/rooms/{room}/join", get(handlers::join_status))
        .route("/v1/stream", get(stream::stream))
        .route("/v1/media", post(media::upload).layer(DefaultBodyLimit::disable()))
        .route("/v1/media/{hash}", get(media::download))
        .route("/v1/media/{hash}/thumbnail", get(media::thumbnail))
        .route(
            "/v1/reports",
            post(reports::file).get(reports::mine).layer(DefaultBodyLimit::max(reports::MAX_REPORT_REQUEST)),
        )
        .route("/v1/mod/cases", get(reports::cases))
        .route("/v1/mod/cases/{case}", get(reports::case))
        .route("/v1/mod/actions", post(reports::act))
        .route("/v1/mod/cases/{case}/notes", post(reports::add_note))
        .route("/v1/mod/appeals", get(reports::mod_appeals))
        .route("/v1/mod/moderators", get(reports::moderators).post(reports::add_moderator))
        .route("/v1/mod/moderators/remove", post(reports::remove_moderator))
        .route("/v1/appeals", post(reports::file_appeal).get(reports::my_appeals))
        .route("/v1/mod/list-notes", get(reports::list_notes).post(reports::add_list_note))
        .route("/v1/audit", get(reports::audit))
        .route("/witness/add-checkpoint", post(witness::add_checkpoint))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(doors)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.core.clone(), per_ip_limit))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
