//! Registration, identities, events and rooms (spec/client-api.md §3–§5).

use super::ApiError;
use super::auth::Session;
use crate::config::RegistrationPolicy;
use crate::core::Core;
use crate::core::accounts;
use crate::core::rooms::{TimelineItem, append, joins, may_read};
use crate::http::extract::{Json, Query};
use crate::http::reply::{ReceiptReply, Reply, wire_item};
use accord_api::ErrorCode;
use accord_api::events::{SendEventRequest, SendEventResponse};
use accord_api::identities::IdentityResponse;
use accord_api::node::{self, NodeInfo};
use accord_api::register::{RegisterRequest, RegisterResponse};
use accord_api::rooms::{HistoryQuery, HistoryResponse, JoinStatus, RoomState, RoomSummary, RoomsResponse};
use accord_proto::{AccountId, RoomId};
use axum::extract::{ConnectInfo, Path, State};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

fn forbidden(code: &'static str, message: &str) -> ApiError {
    ApiError::new(code, message)
}

/// `GET /v1/node`
pub async fn node_info(State(state): State<Arc<Core>>) -> Reply<NodeInfo> {
    let registration = match state.config.registration.policy {
        RegistrationPolicy::Open => node::RegistrationPolicy::Open,
        RegistrationPolicy::Invite => node::RegistrationPolicy::Invite,
        RegistrationPolicy::Closed => node::RegistrationPolicy::Closed,
    };
    Reply(NodeInfo {
        node: state.node_id,
        name: state.config.node.name.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        registration,
        p2p: state.network.listen_addrs().iter().map(|a| format!("{a}/p2p/{}", state.node_id)).collect(),
        peers: state.network.peers().iter().map(ToString::to_string).collect(),
    })
}

/// `POST /v1/register`
pub async fn register(
    State(state): State<Arc<Core>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Json(req): Json<RegisterRequest>,
) -> Result<Reply<RegisterResponse>, ApiError> {
    // Registrations have their own rate per address (per /64 for IPv6),
    // far below the general request rate: accounts are what Sybils farm.
    if let Err(ms) = state.limits.registration(client.ip()) {
        tracing::debug!(client = %client.ip(), "registration rate exceeded");
        state.metrics.reject("rate_limited");
        return Err(ApiError::rate_limited(ms));
    }
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
    Ok(Reply(RegisterResponse { attestation: result?.to_unverified() }))
}

/// `GET /v1/identities/{account}`
pub async fn identity(
    State(state): State<Arc<Core>>,
    Path(account): Path<String>,
) -> Result<Reply<IdentityResponse>, ApiError> {
    let account: AccountId = account.parse().map_err(|e| ApiError::bad_request(format!("account: {e}")))?;
    Ok(Reply(accounts::lookup(&state, &account).await?))
}

/// `POST /v1/events`
pub async fn submit(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    Json(req): Json<SendEventRequest>,
) -> Result<ReceiptReply, ApiError> {
    Ok(ReceiptReply(send(&state, account, req).await?))
}

/// Submits an event for `account` (`POST /v1/events`, and `send` frames of
/// the live stream): the account's event rate, then the room's append; the
/// receipt.
pub(crate) async fn send(
    state: &Arc<Core>,
    account: AccountId,
    req: SendEventRequest,
) -> Result<SendEventResponse, ApiError> {
    let started = Instant::now();
    let result = match state.limits.event(&account) {
        Ok(()) => append::submit(state, account, req.event, &req.via).await.map_err(ApiError::from),
        Err(ms) => Err(ApiError::rate_limited(ms)),
    };
    match &result {
        Ok(_) => {
            state.metrics.events_accepted.inc();
            state.metrics.ack_seconds.observe(started.elapsed().as_secs_f64());
        }
        // Not a refusal: the event is sent once its room is held.
        Err(e) if *e.code() == ErrorCode::JoinInProgress => {}
        Err(e) => state.metrics.reject(e.code().as_str()),
    }
    let done = result?;
    let event = done.item.event.ok_or_else(|| ApiError::internal("a stored event without its envelopes"))?;
    Ok(SendEventResponse { event_id: done.event_id, room: done.room, cursor: done.item.cursor, event })
}

/// `GET /v1/rooms/{room}/join`: where the session's account's join of the
/// room stands; `404 unknown_room` for a room it neither asked to join nor
/// is a member of or invited to.
pub async fn join_status(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    Path(room): Path<String>,
) -> Result<Reply<JoinStatus>, ApiError> {
    let room: RoomId = room.parse().map_err(|e| ApiError::bad_request(format!("room: {e}")))?;
    joins::status(&state, room, &account).await.map(Reply).ok_or_else(|| {
        ApiError::new(ErrorCode::UnknownRoom, "no join of this room by this account, and no such room here")
    })
}

/// `GET /v1/rooms`
pub async fn my_rooms(
    State(state): State<Arc<Core>>,
    Session(account): Session,
) -> Result<Reply<RoomsResponse>, ApiError> {
    let mut rooms = Vec::new();
    for (room, role) in state.store.rooms_of(&account)? {
        if let Some(handle) = state.rooms.get(&room) {
            let rt = handle.lock().await;
            let members = rt.state.members().len() as u64;
            rooms.push(RoomSummary { room, name: rt.state.name().to_string(), role, members });
        }
    }
    Ok(Reply(RoomsResponse { rooms }))
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
) -> Result<Reply<RoomState>, ApiError> {
    let room = parse_room(&room)?;
    let handle = state.rooms.get(&room).ok_or_else(unknown_room)?;
    let rt = handle.lock().await;
    let s = &rt.state;
    if !may_read(s, &account) && !s.invites().contains(&account) {
        return Err(forbidden("not_member", "author is not a member of this room"));
    }
    Ok(Reply(RoomState {
        room,
        name: s.name().to_string(),
        join_rule: s.join_rule(),
        creator: s.creator(),
        members: s.members().iter().copied().collect(),
        roles: s.roles().iter().map(|(a, r)| (*a, *r)).collect(),
        bans: s.bans().iter().copied().collect(),
        invites: s.invites().iter().copied().collect(),
        history_hash: s.history_hash(),
        accepted: s.accepted() as u64,
        latest_cursor: rt.cursor,
    }))
}

/// `GET /v1/rooms/{room}/events`
pub async fn history(
    State(state): State<Arc<Core>>,
    Session(account): Session,
    Path(room): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Reply<HistoryResponse>, ApiError> {
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
        handle.lock().await.items(entries).into_iter().map(|i| i.served(&state)).collect();
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
    Ok(Reply(HistoryResponse { events: items.into_iter().filter_map(wire_item).collect(), more }))
}
