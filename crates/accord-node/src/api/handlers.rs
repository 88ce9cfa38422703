//! Registration, identities, events and rooms (spec/client-api.md §3–§5).

use super::ApiError;
use super::auth::Session;
use super::extract::{Json, Query};
use crate::core::Core;
use crate::core::accounts;
use crate::core::rooms::{TimelineItem, append, may_read};
use accord_api::ErrorCode;
use accord_proto::{AccountId, RoomId, SignedBytes};
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

fn forbidden(code: &'static str, message: &str) -> ApiError {
    ApiError::new(code, message)
}

/// `GET /v1/node`
pub async fn node_info(State(state): State<Arc<Core>>) -> axum::Json<Value> {
    axum::Json(json!({
        "node": state.node_id,
        "name": state.config.node.name,
        "version": env!("CARGO_PKG_VERSION"),
        "registration": state.config.registration.policy,
        "p2p": state.network.listen_addrs().iter().map(|a| format!("{a}/p2p/{}", state.node_id)).collect::<Vec<_>>(),
        "peers": state.network.peers().iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}

/// `POST /v1/register` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    identity: SignedBytes,
    #[serde(default)]
    invite: Option<String>,
}

/// `POST /v1/register`
pub async fn register(
    State(state): State<Arc<Core>>,
    Json(req): Json<RegisterRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    // Run to completion even if the client goes away: a registration half
    // done (stored, but not in the handle index) must not happen.
    let core = state.clone();
    let result = state
        .tasks()
        .spawn_to_completion(async move { accounts::register(&core, req.identity, req.invite).await })
        .await
        .map_err(ApiError::internal)
        .and_then(|r| r.map_err(ApiError::from));
    if let Err(e) = &result {
        state.metrics.reject(e.code().as_str());
    }
    Ok(axum::Json(json!({"attestation": result?})))
}

/// `GET /v1/identities/{account}`
pub async fn identity(
    State(state): State<Arc<Core>>,
    Path(account): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let account: AccountId = account.parse().map_err(|e| ApiError::bad_request(format!("account: {e}")))?;
    let found = accounts::lookup(&state, &account).await?;
    Ok(axum::Json(json!({"identity": found.identity, "attestation": found.attestation, "trust": found.trust})))
}

/// `POST /v1/events` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    event: SignedBytes,
    /// Nodes that hold the room, for an event (a join) in a room this
    /// node does not hold yet: node ids, or p2p addresses ending in
    /// `/p2p/NODE_ID`.
    #[serde(default)]
    via: Vec<String>,
}

/// `POST /v1/events`
pub async fn submit(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    Json(req): Json<SubmitRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let started = Instant::now();
    let result = match state.limits.event(&account) {
        Ok(()) => append::submit(&state, account, req.event, &req.via).await.map_err(ApiError::from),
        Err(ms) => Err(ApiError::rate_limited(ms)),
    };
    match &result {
        Ok(_) => {
            state.metrics.events_accepted.inc();
            state.metrics.ack_seconds.observe(started.elapsed().as_secs_f64());
        }
        Err(e) => state.metrics.reject(e.code().as_str()),
    }
    let done = result?;
    Ok(axum::Json(json!({
        "event_id": done.event_id, "room": done.room, "cursor": done.item.cursor, "event": done.item.event,
    })))
}

/// `GET /v1/rooms`
pub async fn my_rooms(
    State(state): State<Arc<Core>>,
    Session(account): Session,
) -> Result<axum::Json<Value>, ApiError> {
    let mut rooms = Vec::new();
    for (room, role) in state.store.rooms_of(&account)? {
        if let Some(handle) = state.rooms.get(&room) {
            let rt = handle.lock().await;
            rooms.push(
                json!({"room": room, "name": rt.state.name(), "role": role, "members": rt.state.members().len()}),
            );
        }
    }
    Ok(axum::Json(json!({ "rooms": rooms })))
}

fn parse_room(text: &str) -> Result<RoomId, ApiError> {
    text.parse().map_err(|e| ApiError::bad_request(format!("room: {e}")))
}

fn unknown_room() -> ApiError {
    ApiError::new(ErrorCode::UnknownRoom, "no such room on this node")
}

/// `GET /v1/rooms/{room}`
pub async fn room_state(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    Path(room): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let room = parse_room(&room)?;
    let handle = state.rooms.get(&room).ok_or_else(unknown_room)?;
    let rt = handle.lock().await;
    let s = &rt.state;
    if !may_read(s, &account) && !s.invites().contains(&account) {
        return Err(forbidden("not_member", "author is not a member of this room"));
    }
    let roles: serde_json::Map<String, Value> = s.roles().iter().map(|(a, r)| (a.to_string(), json!(r))).collect();
    Ok(axum::Json(json!({
        "room": room,
        "name": s.name(),
        "join_rule": s.join_rule(),
        "creator": s.creator(),
        "members": s.members(),
        "roles": roles,
        "bans": s.bans(),
        "invites": s.invites(),
        "history_hash": s.history_hash(),
        "accepted": s.accepted(),
        "latest_cursor": rt.cursor,
    })))
}

/// History query parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    after: Option<u64>,
    before: Option<u64>,
    limit: Option<usize>,
}

/// `GET /v1/rooms/{room}/events`
pub async fn history(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    Path(room): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let room = parse_room(&room)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 500"));
    }
    if q.after.is_some() && q.before.is_some() {
        return Err(ApiError::bad_request("give after or before, not both"));
    }
    let handle = state.rooms.get(&room).ok_or_else(unknown_room)?;
    if !may_read(&handle.lock().await.state, &account) {
        return Err(forbidden("not_member", "author is not a member of this room"));
    }
    let mut entries = state.store.timeline(&room, q.after, q.before, limit + 1)?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    let mut items: Vec<TimelineItem> =
        handle.lock().await.items(entries).into_iter().map(|i| i.served(&state.lists, &state.store)).collect();
    // Purged events keep their cursors: show them as hidden, with why.
    let cursors: Vec<u64> = items.iter().map(|i| i.cursor).collect();
    if let (Some(lo), Some(hi)) = (cursors.iter().min(), cursors.iter().max()) {
        let start = q.after.map_or(*lo, |a| a + 1);
        for cursor in start..*hi {
            if cursors.contains(&cursor) {
                continue;
            }
            if let Some(why) = state.store.purged_at(&room, cursor)? {
                let hidden = serde_json::from_slice(&why).ok();
                items.push(TimelineItem { cursor, event: None, accepted: false, redacted: false, hidden });
            }
        }
        if q.before.is_some() {
            items.sort_by_key(|i| std::cmp::Reverse(i.cursor));
        } else {
            items.sort_by_key(|i| i.cursor);
        }
    }
    Ok(axum::Json(json!({"events": items, "more": more})))
}
