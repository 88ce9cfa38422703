//! Registration, identities, events and rooms (spec/client-api.md §3–§5).

use super::auth::Session;
use super::extract::{Json, Query};
use super::{ApiError, AppState};
use crate::config::RegistrationPolicy;
use crate::federation::sync::JoinError;
use crate::network;
use crate::rooms::{LiveItem, RoomRuntime, TimelineItem, load_room, may_read};
use accord_proto::event::{Event, EventBody, EventContent, Role};
use accord_proto::identity::{Attestation, IdentityDocument, VerificationLevel};
use accord_proto::{AccountId, EventId, NodeId, RoomId, SignedBytes, Timestamp, Unverified, Verified};
use accord_store::{EventRecord, MembershipChange, RoomRecord};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

/// How far ahead of the node's clock an event's timestamp may be.
const MAX_FUTURE_MS: u64 = 5 * 60 * 1000;
/// How far behind the node's clock an event's timestamp may be.
const MAX_PAST_MS: u64 = 24 * 3600 * 1000;

fn forbidden(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

/// `GET /v1/node`
pub async fn node_info(State(state): State<Arc<AppState>>) -> axum::Json<Value> {
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
    State(state): State<Arc<AppState>>,
    Json(req): Json<RegisterRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    // Run to completion even if the client goes away: a registration half
    // done (stored, but not in the handle index) must not happen.
    let task_state = state.clone();
    let result = tokio::spawn(async move { register_inner(&task_state, req).await })
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(e)));
    if let Err(e) = &result {
        state.metrics.reject(e.code);
    }
    result
}

async fn register_inner(state: &AppState, req: RegisterRequest) -> Result<axum::Json<Value>, ApiError> {
    let doc = Unverified::<IdentityDocument>::from_raw(req.identity).verify()?;
    if let Some(p) = state.lists.check_account(&state.store, &doc.account) {
        return Err(ApiError::blocked(&p));
    }
    if doc.home != state.node_id || doc.handle.node() != &state.config.node.name {
        return Err(forbidden("wrong_home", "the identity document names another home node or node name"));
    }
    // One registration at a time keeps handles unique and invites single-use.
    let _guard = state.registration_lock.lock().await;
    let policy = &state.config.registration;
    let (level, invite) = match policy.policy {
        RegistrationPolicy::Closed => {
            return Err(forbidden("registration_closed", "this node does not accept registrations"));
        }
        RegistrationPolicy::Open => (VerificationLevel::Open, None),
        RegistrationPolicy::Invite => {
            let code = req.invite.ok_or_else(|| forbidden("bad_invite", "an invite code is required"))?;
            if !policy.invites.contains(&code) || state.store.invite_used(&code)? {
                return Err(forbidden("bad_invite", "unknown or already used invite code"));
            }
            (VerificationLevel::Invited, Some(code))
        }
    };
    if state.store.identity(&doc.account)?.is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_registered", "this account is already registered"));
    }
    if state.handles.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&doc.handle) {
        return Err(ApiError::new(StatusCode::CONFLICT, "handle_taken", "this handle belongs to another account"));
    }
    let attestation = Verified::sign(
        Attestation {
            account: doc.account,
            identity: doc.body_hash(),
            node: state.node_id,
            registered: Timestamp::now(),
            level,
        },
        &state.node_key,
    )?;
    state.store.put_identity(&doc.account, doc.raw(), attestation.raw(), invite.as_deref()).await?;
    state.handles.lock().unwrap_or_else(|p| p.into_inner()).insert(doc.handle.clone(), doc.account);
    state.homes.lock().unwrap_or_else(|p| p.into_inner()).insert(doc.account, state.node_id);
    state.known_identities.lock().unwrap_or_else(|p| p.into_inner()).insert(doc.body_hash());
    state.metrics.registrations.inc();
    tracing::info!(account = %doc.account, handle = %doc.handle, "registered");
    Ok(axum::Json(json!({"attestation": attestation})))
}

/// `GET /v1/identities/{account}`
pub async fn identity(
    State(state): State<Arc<AppState>>,
    Path(account): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let account: AccountId = account.parse().map_err(|e| ApiError::bad_request(format!("account: {e}")))?;
    if let Some(p) = state.lists.check_account(&state.store, &account) {
        return Err(ApiError::blocked(&p));
    }
    let (identity, attestation) = state
        .store
        .identity(&account)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_account", "no such account on this node"))?;
    let trust = trust_signals(&state, &account, &attestation).await;
    Ok(axum::Json(json!({"identity": identity, "attestation": attestation, "trust": trust})))
}

/// What helps a user judge an account before trusting it
/// (spec/reports.md §13), from the stored, verified attestation.
async fn trust_signals(state: &AppState, account: &AccountId, attestation: &SignedBytes) -> Value {
    // Stored identities were verified when stored; a record that does not
    // read back gives no signals rather than an error.
    let Ok(att) = Unverified::<Attestation>::from_raw(attestation.clone()).verify() else {
        return Value::Null;
    };
    let now = Timestamp::now();
    let flags: Vec<_> = state
        .lists
        .lookup(accord_proto::blocklist::entry::TargetKind::Account, &account.to_string())
        .filter(|m| m.action == accord_proto::blocklist::entry::Action::Quarantine)
        .and_then(|m| state.lists.provenance(&state.store, m))
        .into_iter()
        .collect();
    json!({
        "home": att.node,
        "level": att.level,
        "registered": att.registered,
        "age_ms": now.as_millis().saturating_sub(att.registered.as_millis()),
        "flags": flags,
        "reports": state.reports.open_cases_accusing(account).await,
    })
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

/// Most `via` entries of one request.
const MAX_VIA: usize = 8;

/// `POST /v1/events`
pub async fn submit(
    State(state): State<Arc<AppState>>,
    session: Session,
    Json(req): Json<SubmitRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let started = Instant::now();
    let result = submit_inner(state.clone(), session, req).await;
    match &result {
        Ok(_) => {
            state.metrics.events_accepted.inc();
            state.metrics.ack_seconds.observe(started.elapsed().as_secs_f64());
        }
        Err(e) => state.metrics.reject(e.code),
    }
    result
}

async fn submit_inner(
    state: Arc<AppState>,
    Session(account): Session,
    req: SubmitRequest,
) -> Result<axum::Json<Value>, ApiError> {
    state.limits.event(&account).map_err(ApiError::rate_limited)?;
    let body = Unverified::<EventBody>::from_raw(req.event).verify()?;
    if let EventContent::Message { text, .. } = &body.content
        && text.as_str().len() > state.config.limits.max_message_bytes
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("messages on this node are limited to {} bytes", state.config.limits.max_message_bytes),
        ));
    }
    if body.author != account {
        return Err(forbidden("not_session_account", "the event is signed by another account than this session's"));
    }
    let now = Timestamp::now();
    if body.ts > now.plus_millis(MAX_FUTURE_MS) || body.ts.plus_millis(MAX_PAST_MS) < now {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_timestamp",
            "event timestamp is too far from the node's clock",
        ));
    }
    let id = EventId(body.body_hash());
    if let Some(p) = state.lists.check_body(&state.store, &body, body.room.unwrap_or(RoomId::from(id)))
        && p.action == accord_proto::blocklist::entry::Action::Reject
    {
        return Err(ApiError::blocked(&p));
    }
    if state.store.has_event(&id)? {
        return Err(ApiError::new(StatusCode::CONFLICT, "duplicate_event", format!("event {id} is already stored")));
    }
    let room = body.room.unwrap_or(RoomId::from(id));
    let is_create = matches!(body.content, EventContent::Create { .. });
    if !is_create && state.rooms.get(&room).is_none() && !req.via.is_empty() {
        fetch_room(&state, room, &req.via, account).await?;
    }
    // Stamping, storing and publishing run to completion in their own task:
    // if the client disconnects mid-way, the room's cursor and sequence
    // still advance exactly when the store write succeeds.
    let task_state = state.clone();
    let item = tokio::spawn(async move {
        if is_create { create_room(&task_state, body, id).await } else { append(&task_state, body).await }
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(axum::Json(json!({"event_id": id, "room": room, "cursor": item.cursor, "event": item.event})))
}

async fn create_room(state: &AppState, body: Verified<EventBody>, id: EventId) -> Result<TimelineItem, ApiError> {
    let _guard = state.creation_lock.lock().await;
    if state.rooms.get(&RoomId::from(id)).is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "duplicate_event", "this room already exists"));
    }
    let event = Event::stamp(body, &state.node_key, 1, vec![], 0, Timestamp::now()).map_err(ApiError::internal)?;
    let room = RoomId::from(id);
    let mut runtime =
        RoomRuntime::from_create(&event, state.node_id).ok_or_else(|| ApiError::internal("create event refused"))?;
    runtime.refresh_hosts(|a| state.home_of(a));
    let record = EventRecord {
        event: &event,
        cursor: 1,
        memberships: vec![MembershipChange { account: event.author(), role: Some(Role::Owner) }],
        room: Some(RoomRecord { room, name: runtime.state.name().to_string() }),
        outbox: vec![],
    };
    state.store.append_event(record).await?;
    state.rooms.insert(room, runtime);
    Ok(TimelineItem { cursor: 1, event: Some(event.to_unverified()), accepted: true, redacted: false, hidden: None })
}

/// The peers a local event must be pushed to: the room's hosts before it,
/// and the home of the account it targets (an invitee learns of the room),
/// except this node.
fn push_targets(state: &AppState, rt: &RoomRuntime, event: &Event) -> Vec<NodeId> {
    let mut targets: BTreeSet<NodeId> = rt.hosts().clone();
    let target = match event.content() {
        EventContent::Invite { target }
        | EventContent::Kick { target, .. }
        | EventContent::Ban { target, .. }
        | EventContent::Unban { target }
        | EventContent::SetRole { target, .. } => Some(*target),
        _ => None,
    };
    targets.extend(target.and_then(|t| state.home_of(&t)));
    targets.remove(&state.node_id);
    targets.into_iter().collect()
}

/// Fetches a room this node does not hold from the nodes in `via`.
async fn fetch_room(state: &Arc<AppState>, room: RoomId, via: &[String], joiner: AccountId) -> Result<(), ApiError> {
    if via.len() > MAX_VIA {
        return Err(ApiError::bad_request(format!("at most {MAX_VIA} via entries")));
    }
    let mut nodes = Vec::with_capacity(via.len());
    for text in via {
        if let Ok(node) = text.parse::<NodeId>() {
            nodes.push(node);
            continue;
        }
        let addr: network::Address = text
            .parse()
            .map_err(|_| ApiError::bad_request(format!("via: {text} is neither a node id nor an address")))?;
        let node = network::peer_of(&addr)
            .and_then(|p| network::node_id(&p))
            .ok_or_else(|| ApiError::bad_request(format!("via: {text} must end with /p2p/NODE_ID")))?;
        state.network.dial(addr).await.map_err(ApiError::internal)?;
        nodes.push(node);
    }
    crate::federation::sync::join_via(state, room, &nodes, joiner).await.map_err(|e| match e {
        JoinError::Store(e) => e.into(),
        JoinError::Refused(why) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_room", format!("no node named lets this account join: {why}"))
        }
    })
}

/// A local event waiting for its room's next store write, and where its
/// outcome goes.
pub(crate) type PendingAppend = (Verified<EventBody>, tokio::sync::oneshot::Sender<Result<TimelineItem, ApiError>>);

/// Appends a local event to its room. Concurrent senders to one room share
/// one store write (and one fsync): each queues its event, then takes the
/// room's lock, and whoever holds it writes every event queued by then.
/// The room's memory still never runs ahead of the store: the events are
/// applied, written and published under the lock, in cursor order.
async fn append(state: &Arc<AppState>, body: Verified<EventBody>) -> Result<TimelineItem, ApiError> {
    let room = body.room.ok_or_else(|| ApiError::bad_request("event names no room"))?;
    let handle = state
        .rooms
        .get(&room)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_room", "no such room on this node"))?;
    let (done, outcome) = tokio::sync::oneshot::channel();
    state.appends.lock().unwrap_or_else(|p| p.into_inner()).entry(room).or_default().push((body, done));
    {
        let mut rt = handle.lock().await;
        // Empty when an earlier holder of the lock wrote this event.
        let queued = state.appends.lock().unwrap_or_else(|p| p.into_inner()).remove(&room).unwrap_or_default();
        if !queued.is_empty() {
            append_group(state, room, &mut rt, queued).await;
        }
    }
    outcome.await.map_err(ApiError::internal)?
}

/// An event stamped and applied, waiting for the group's write.
struct Staged {
    event: Event,
    cursor: u64,
    memberships: Vec<MembershipChange>,
    targets: Vec<NodeId>,
    done: tokio::sync::oneshot::Sender<Result<TimelineItem, ApiError>>,
}

/// Stamps, authorizes and applies each queued event in turn, writes all
/// that passed in one store write, then publishes them and answers each
/// sender. Runs under the room's lock.
async fn append_group(state: &Arc<AppState>, room: RoomId, rt: &mut RoomRuntime, queued: Vec<PendingAppend>) {
    let mut staged: Vec<Staged> = Vec::with_capacity(queued.len());
    let mut ids = BTreeSet::new();
    let mut new_hosts: BTreeSet<NodeId> = BTreeSet::new();
    for (body, done) in queued {
        let id = EventId(body.body_hash());
        // Checked again under the room's lock (and within the group): two
        // copies of one event sent at once must not both be stored.
        match state.store.has_event(&id) {
            Ok(false) if ids.insert(id) => {}
            Ok(_) => {
                let _ = done.send(Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "duplicate_event",
                    "this event is already stored",
                )));
                continue;
            }
            Err(e) => {
                let _ = done.send(Err(e.into()));
                continue;
            }
        }
        let (depth, head) = rt.head();
        let stamped = Event::stamp(body, &state.node_key, rt.next_seq, vec![head], depth + 1, Timestamp::now())
            .map_err(ApiError::internal);
        let event = match stamped.and_then(|event| rt.state.authorize(&event).map(|()| event).map_err(ApiError::from)) {
            Ok(event) => event,
            Err(e) => {
                let _ = done.send(Err(e));
                continue;
            }
        };
        let targets = push_targets(state, rt, &event);
        let added = rt.add(event.clone());
        let hosts_before = rt.hosts().clone();
        rt.refresh_hosts(|a| state.home_of(a));
        new_hosts.extend(rt.hosts().difference(&hosts_before).copied());
        let cursor = rt.cursor + 1 + staged.len() as u64;
        staged.push(Staged { event, cursor, memberships: added.memberships, targets, done });
    }
    if staged.is_empty() {
        return;
    }
    // Authorize, change memory, store; a failed write reloads the room
    // from the store, so memory never runs ahead of it.
    let records = staged
        .iter()
        .map(|s| EventRecord {
            event: &s.event,
            cursor: s.cursor,
            memberships: s.memberships.clone(),
            room: None,
            outbox: s.targets.clone(),
        })
        .collect();
    if let Err(e) = state.store.append_events(records).await {
        if let Ok(fresh) = load_room(&state.store, state.node_id, room) {
            rt.replace_keeping_live(fresh);
            rt.refresh_hosts(|a| state.home_of(a));
        }
        let error = ApiError::from(e);
        for s in staged {
            let _ = s.done.send(Err(error.clone()));
        }
        return;
    }
    rt.cursor += staged.len() as u64;
    let targets: BTreeSet<NodeId> = staged.iter().flat_map(|s| s.targets.iter().copied()).collect();
    state.outbox.wake(state, room, targets);
    if staged.iter().any(|s| matches!(s.event.content(), EventContent::Join {})) {
        // A join of ours: introduce this node to every host it now knows.
        crate::federation::sync::introduce(state, room, rt.hosts().iter().copied().collect());
    } else if !new_hosts.is_empty() {
        crate::federation::sync::introduce(state, room, new_hosts.into_iter().collect());
    }
    for s in staged {
        let item = TimelineItem {
            cursor: s.cursor,
            event: Some(s.event.to_unverified()),
            accepted: true,
            redacted: false,
            hidden: None,
        };
        rt.publish(LiveItem::new(item.clone(), &s.event));
        let _ = s.done.send(Ok(item));
    }
}

/// `GET /v1/rooms`
pub async fn my_rooms(
    State(state): State<Arc<AppState>>,
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
    ApiError::new(StatusCode::NOT_FOUND, "unknown_room", "no such room on this node")
}

/// `GET /v1/rooms/{room}`
pub async fn room_state(
    State(state): State<Arc<AppState>>,
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
    State(state): State<Arc<AppState>>,
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
