//! The client API while the node starts (spec/client-api.md §11): its
//! listeners bind as soon as the store is open, and until the rooms are
//! loaded they answer `/healthz` (alive), `/readyz` (`503`, the `rooms`
//! check saying how many are loaded) and everything else `503 starting`,
//! under the same per-address request rate as afterwards.

use super::{healthz, limited};
use crate::core::health;
use crate::core::limits::Limits;
use crate::core::rooms::LoadProgress;
use crate::http::ApiError;
use crate::metrics::Metrics;
use accord_api::ErrorCode;
use accord_store::Store;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;

/// What the listeners know before the core is assembled.
#[derive(Clone)]
pub struct StartingState {
    /// The open store.
    pub store: Store,
    /// How far room loading has got.
    pub progress: Arc<LoadProgress>,
    /// How many bootstrap peers the configuration names.
    pub bootstrap: usize,
    /// The per-address request rate, shared with the started node.
    pub limits: Arc<Limits>,
    /// Metrics, shared with the started node.
    pub metrics: Arc<Metrics>,
}

/// The routes served while the node starts.
pub fn router(state: StartingState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(starting)
        .layer(middleware::from_fn_with_state(state.clone(), per_ip_limit))
        .with_state(state)
}

async fn per_ip_limit(
    State(state): State<StartingState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    limited(&state.limits, &state.metrics, addr, request, next).await
}

async fn readyz(State(state): State<StartingState>) -> impl IntoResponse {
    (StatusCode::SERVICE_UNAVAILABLE, Json(health::while_loading(&state.store, &state.progress, state.bootstrap)))
}

async fn starting(State(state): State<StartingState>) -> ApiError {
    let (loaded, total) = state.progress.counts();
    ApiError::new(ErrorCode::Starting, format!("the node is starting: loading rooms, {loaded} of {total}"))
}
