//! A typed stand-in for a node's client API, for SDK tests only.
//!
//! It serves the endpoints the SDK uses, signs and stamps like a node
//! (with real keys, so the SDK's verification runs for real), and can be
//! told to misbehave: drop the live stream, skip or repeat cursors, tamper
//! with an event, forget its sessions. It can also act on blocklists the
//! way a node does: hide timeline items, and refuse requests with
//! `blocked` and the entry's provenance. It applies no room rules and keeps
//! everything in memory; the real node is tested end to end elsewhere.

// Handlers answer errors as axum responses, which are large; this is test code.
#![allow(clippy::result_large_err)]

use accord_api::auth::{ChallengeRequest, ChallengeResponse, LoginRequest, LoginResponse};
use accord_api::events::{SendEventRequest, SendEventResponse};
use accord_api::identities::IdentityResponse;
use accord_api::node::{NodeInfo, RegistrationPolicy};
use accord_api::register::{RegisterRequest, RegisterResponse};
use accord_api::rooms::{
    HistoryQuery, HistoryResponse, ItemContent, RoomState, RoomSummary, RoomsResponse, TimelineItem,
};
use accord_api::stream::{ClientFrame, ServerFrame};
use accord_api::{ErrorBody, ErrorCode, ErrorDetail, Provenance};
use accord_proto::auth::AuthResponse;
use accord_proto::blocklist::{Action, Category};
use accord_proto::event::UnverifiedEvent;
use accord_proto::event::{Event, EventBody, EventContent, Role};
use accord_proto::identity::{Attestation, IdentityDocument, VerificationLevel};
use accord_proto::{
    AccountId, IssuerId, ListId, NodeId, RoomId, SecretKey, SignedBytes, Timestamp, Unverified, Verified,
};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// What one live-stream connection does wrong.
#[derive(Debug, Clone)]
pub(crate) enum StreamFault {
    /// Closes the connection after sending this many event frames.
    CloseAfter(usize),
    /// Never sends this cursor on this connection.
    Skip(u64),
    /// Sends every event frame twice.
    Repeat,
    /// Refuses the subscription with this error code.
    Refuse(&'static str),
    /// Refuses the subscription with `blocked` and this provenance.
    RefuseBlocked(Box<Provenance>),
}

pub(crate) struct MockNode {
    pub(crate) url: String,
    pub(crate) key: SecretKey,
    state: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    inner: Mutex<Inner>,
    notify: broadcast::Sender<RoomId>,
}

struct Inner {
    key: SecretKey,
    identities: HashMap<AccountId, (SignedBytes, SignedBytes)>,
    challenges: Vec<String>,
    tokens: HashMap<String, AccountId>,
    rooms: HashMap<RoomId, Vec<Event>>,
    stream_faults: VecDeque<Vec<StreamFault>>,
    tampered: Vec<u64>,
    /// Cursors served hidden, with their provenance.
    hidden: HashMap<u64, Provenance>,
    /// When set, every sent event is refused as `blocked` with this provenance.
    blocked_sends: Option<Provenance>,
    /// Identities refused as `blocked`, with their provenance.
    blocked_identities: HashMap<AccountId, Provenance>,
    logins: usize,
    stream_connections: usize,
    history_requests: usize,
    next_token: u64,
}

pub(crate) const NODE_NAME: &str = "test.node";

type Reply<T> = Result<Json<T>, Response>;

fn error(status: StatusCode, code: ErrorCode) -> Response {
    let message = format!("mock: {code}");
    (status, Json(ErrorBody::from(ErrorDetail::new(code, message)))).into_response()
}

/// The `403 blocked` answer, naming the blocklist entry.
fn blocked(provenance: &Provenance) -> Response {
    let detail = ErrorDetail::new(ErrorCode::Blocked, "mock: blocked").with_provenance(provenance.clone());
    (StatusCode::FORBIDDEN, Json(ErrorBody::from(detail))).into_response()
}

/// The list the mock's blocklist entries belong to.
pub(crate) fn spam_list() -> ListId {
    let issuer = IssuerId::from(SecretKey::from_seed([240; 32]).public());
    ListId { issuer, name: "spam".parse().expect("list name") }
}

/// A provenance naming entry `entry` of [`spam_list`].
pub(crate) fn provenance(entry: u64, reason: Option<&str>) -> Provenance {
    Provenance::of_entry(spam_list(), entry, Category::Spam, Action::Reject, reason.map(str::to_owned))
}

impl MockNode {
    pub(crate) async fn start() -> MockNode {
        let key = SecretKey::from_seed([250; 32]);
        let (notify, _) = broadcast::channel(1024);
        let state = Arc::new(Shared {
            inner: Mutex::new(Inner {
                key: key.clone(),
                identities: HashMap::new(),
                challenges: Vec::new(),
                tokens: HashMap::new(),
                rooms: HashMap::new(),
                stream_faults: VecDeque::new(),
                tampered: Vec::new(),
                hidden: HashMap::new(),
                blocked_sends: None,
                blocked_identities: HashMap::new(),
                logins: 0,
                stream_connections: 0,
                history_requests: 0,
                next_token: 0,
            }),
            notify,
        });
        let app = Router::new()
            .route("/v1/node", get(node))
            .route("/v1/auth/challenge", post(challenge))
            .route("/v1/auth/login", post(login))
            .route("/v1/register", post(register))
            .route("/v1/identities/{account}", get(identity))
            .route("/v1/events", post(send_event))
            .route("/v1/rooms", get(rooms))
            .route("/v1/rooms/{room}", get(room_state))
            .route("/v1/rooms/{room}/events", get(history))
            .route("/v1/stream", get(stream))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockNode { url, key, state, server }
    }

    pub(crate) fn node_id(&self) -> NodeId {
        NodeId::from(self.key.public())
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.state.inner.lock().expect("lock"))
    }

    /// Forgets every session token, as a node restart does.
    pub(crate) fn forget_sessions(&self) {
        self.with(|s| s.tokens.clear());
    }

    pub(crate) fn logins(&self) -> usize {
        self.with(|s| s.logins)
    }

    pub(crate) fn stream_connections(&self) -> usize {
        self.with(|s| s.stream_connections)
    }

    pub(crate) fn history_requests(&self) -> usize {
        self.with(|s| s.history_requests)
    }

    /// The faults of the next live-stream connections, one list per connection.
    pub(crate) fn plan_streams(&self, plan: Vec<Vec<StreamFault>>) {
        self.with(|s| s.stream_faults = plan.into());
    }

    /// Serves the event at `cursor` with a broken author signature.
    pub(crate) fn tamper(&self, cursor: u64) {
        self.with(|s| s.tampered.push(cursor));
    }

    /// Serves the item at `cursor` hidden, with this provenance.
    pub(crate) fn hide(&self, cursor: u64, provenance: Provenance) {
        self.with(|s| s.hidden.insert(cursor, provenance));
    }

    /// Refuses every sent event as `blocked` with this provenance.
    pub(crate) fn block_sends(&self, provenance: Provenance) {
        self.with(|s| s.blocked_sends = Some(provenance));
    }

    /// Refuses lookups of `account`'s identity as `blocked`.
    pub(crate) fn block_identity(&self, account: AccountId, provenance: Provenance) {
        self.with(|s| s.blocked_identities.insert(account, provenance));
    }

    /// Registers an identity directly (for accounts of other nodes).
    pub(crate) fn add_identity(&self, doc: &Verified<IdentityDocument>, att: &Verified<Attestation>) {
        self.with(|s| s.identities.insert(doc.account, (doc.raw().clone(), att.raw().clone())));
    }

    /// Appends an event signed by `author` and stamped by `stamper` (which
    /// may be another node than this one) to a room's timeline.
    pub(crate) fn inject(&self, room: RoomId, author: &SecretKey, stamper: &SecretKey, content: EventContent) -> u64 {
        let cursor = self.with(|s| {
            let events = s.rooms.get_mut(&room).expect("room");
            let body = EventBody { room: Some(room), author: author.account_id(), ts: Timestamp::now(), content };
            let body = Verified::sign(body, author).expect("sign");
            let last = events.last().expect("create");
            let seq = events.len() as u64 + 1;
            let event = Event::stamp(body, stamper, seq, vec![last.id()], last.order_key().0 + 1, Timestamp::now())
                .expect("stamp");
            events.push(event);
            events.len() as u64
        });
        let _ = self.state.notify.send(room);
        cursor
    }
}

impl Drop for MockNode {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Inner {
    fn session(&self, headers: &HeaderMap) -> Result<AccountId, Response> {
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated))?;
        self.tokens.get(token).copied().ok_or_else(|| error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated))
    }

    fn item(&self, room: &RoomId, cursor: u64) -> TimelineItem {
        let content = match self.hidden.get(&cursor) {
            Some(provenance) => ItemContent::Hidden(Box::new(provenance.clone())),
            None => {
                let mut event: UnverifiedEvent = self.rooms[room][cursor as usize - 1].to_unverified();
                if self.tampered.contains(&cursor) {
                    let mut author = event.author.raw().clone();
                    author.sig = event.origin.raw().sig;
                    event.author = Unverified::from_raw(author);
                }
                ItemContent::Event(Box::new(event))
            }
        };
        TimelineItem { cursor, content, accepted: true, redacted: false }
    }
}

async fn node(State(s): State<Arc<Shared>>) -> Json<NodeInfo> {
    let key = s.inner.lock().expect("lock").key.public();
    Json(NodeInfo {
        node: NodeId::from(key),
        name: NODE_NAME.parse().expect("node name"),
        version: "mock".into(),
        registration: RegistrationPolicy::Open,
        p2p: vec![],
        peers: vec![],
    })
}

async fn challenge(State(s): State<Arc<Shared>>, Json(_): Json<ChallengeRequest>) -> Json<ChallengeResponse> {
    let mut st = s.inner.lock().expect("lock");
    st.next_token += 1;
    let challenge = format!("Y2hhbGxlbmdl{:04}", st.next_token);
    st.challenges.push(challenge.clone());
    Json(ChallengeResponse {
        challenge,
        node: NodeId::from(st.key.public()),
        expires: Timestamp::now().plus_millis(60_000),
    })
}

async fn login(State(s): State<Arc<Shared>>, Json(body): Json<LoginRequest>) -> Reply<LoginResponse> {
    let mut st = s.inner.lock().expect("lock");
    let answer = Unverified::<AuthResponse>::from_raw(body.response)
        .verify()
        .map_err(|_| error(StatusCode::BAD_REQUEST, ErrorCode::BadSignature))?;
    if answer.node != NodeId::from(st.key.public()) {
        return Err(error(StatusCode::BAD_REQUEST, ErrorCode::Invalid));
    }
    let Some(pos) = st.challenges.iter().position(|c| *c == answer.challenge) else {
        return Err(error(StatusCode::UNAUTHORIZED, ErrorCode::BadChallenge));
    };
    st.challenges.remove(pos);
    if !st.identities.contains_key(&answer.account) {
        return Err(error(StatusCode::FORBIDDEN, ErrorCode::NotRegistered));
    }
    st.next_token += 1;
    let token = format!("token-{}", st.next_token);
    st.tokens.insert(token.clone(), answer.account);
    st.logins += 1;
    Ok(Json(LoginResponse { token, account: answer.account, expires: Timestamp::now().plus_millis(86_400_000) }))
}

async fn register(State(s): State<Arc<Shared>>, Json(body): Json<RegisterRequest>) -> Reply<RegisterResponse> {
    let mut st = s.inner.lock().expect("lock");
    let doc = Unverified::<IdentityDocument>::from_raw(body.identity)
        .verify()
        .map_err(|_| error(StatusCode::BAD_REQUEST, ErrorCode::BadSignature))?;
    if doc.home != NodeId::from(st.key.public()) || doc.handle.node().as_str() != NODE_NAME {
        return Err(error(StatusCode::FORBIDDEN, ErrorCode::WrongHome));
    }
    if st.identities.contains_key(&doc.account) {
        return Err(error(StatusCode::CONFLICT, ErrorCode::AlreadyRegistered));
    }
    let att = Attestation {
        account: doc.account,
        identity: doc.body_hash(),
        node: NodeId::from(st.key.public()),
        registered: Timestamp::now(),
        level: VerificationLevel::Open,
    };
    let att = Verified::sign(att, &st.key).expect("attest");
    st.identities.insert(doc.account, (doc.raw().clone(), att.raw().clone()));
    Ok(Json(RegisterResponse { attestation: att.to_unverified() }))
}

async fn identity(State(s): State<Arc<Shared>>, Path(account): Path<String>) -> Reply<IdentityResponse> {
    let st = s.inner.lock().expect("lock");
    let account: AccountId = account.parse().map_err(|_| error(StatusCode::BAD_REQUEST, ErrorCode::BadRequest))?;
    if let Some(provenance) = st.blocked_identities.get(&account) {
        return Err(blocked(provenance));
    }
    let (doc, att) =
        st.identities.get(&account).ok_or_else(|| error(StatusCode::NOT_FOUND, ErrorCode::UnknownAccount))?;
    Ok(Json(IdentityResponse {
        identity: Unverified::from_raw(doc.clone()),
        attestation: Unverified::from_raw(att.clone()),
        trust: None,
    }))
}

async fn send_event(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<SendEventRequest>,
) -> Reply<SendEventResponse> {
    let (room, cursor, answer) = {
        let mut st = s.inner.lock().expect("lock");
        let account = st.session(&headers)?;
        if let Some(provenance) = &st.blocked_sends {
            return Err(blocked(provenance));
        }
        let body = Unverified::<EventBody>::from_raw(body.event)
            .verify()
            .map_err(|_| error(StatusCode::BAD_REQUEST, ErrorCode::BadSignature))?;
        if body.author != account {
            return Err(error(StatusCode::FORBIDDEN, ErrorCode::NotSessionAccount));
        }
        let key = st.key.clone();
        let event = match body.room {
            None => Event::stamp(body, &key, 1, vec![], 0, Timestamp::now()).expect("stamp"),
            Some(room) => {
                let events = st.rooms.get(&room).ok_or_else(|| error(StatusCode::NOT_FOUND, ErrorCode::UnknownRoom))?;
                let last = events.last().expect("create");
                let seq = events.iter().filter(|e| e.origin() == NodeId::from(key.public())).count() as u64 + 1;
                Event::stamp(body, &key, seq, vec![last.id()], last.order_key().0 + 1, Timestamp::now()).expect("stamp")
            }
        };
        let room = event.room();
        let events = st.rooms.entry(room).or_default();
        if events.iter().any(|e| e.id() == event.id()) {
            return Err(error(StatusCode::CONFLICT, ErrorCode::DuplicateEvent));
        }
        events.push(event.clone());
        let cursor = events.len() as u64;
        (room, cursor, SendEventResponse { event_id: event.id(), room, cursor, event: event.to_unverified() })
    };
    let _ = s.notify.send(room);
    let _ = cursor;
    Ok(Json(answer))
}

async fn rooms(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Reply<RoomsResponse> {
    let st = s.inner.lock().expect("lock");
    let account = st.session(&headers)?;
    let rooms: Vec<RoomSummary> = st
        .rooms
        .iter()
        .filter(|(_, events)| events.iter().any(|e| e.author() == account))
        .map(|(room, events)| {
            let name = match events[0].content() {
                EventContent::Create { name, .. } => name.to_string(),
                _ => String::new(),
            };
            RoomSummary { room: *room, name, role: Role::Member, members: 1 }
        })
        .collect();
    Ok(Json(RoomsResponse { rooms }))
}

async fn room_state(State(s): State<Arc<Shared>>, headers: HeaderMap, Path(room): Path<String>) -> Reply<RoomState> {
    let st = s.inner.lock().expect("lock");
    st.session(&headers)?;
    let room: RoomId = room.parse().map_err(|_| error(StatusCode::BAD_REQUEST, ErrorCode::BadRequest))?;
    let events = st.rooms.get(&room).ok_or_else(|| error(StatusCode::NOT_FOUND, ErrorCode::UnknownRoom))?;
    let timeline = accord_proto::room::resolve(room, events).expect("resolve");
    let state = &timeline.state;
    Ok(Json(RoomState {
        room,
        name: state.name().to_string(),
        join_rule: state.join_rule(),
        creator: state.creator(),
        members: state.members().iter().copied().collect(),
        roles: state.roles().clone(),
        bans: state.bans().iter().copied().collect(),
        invites: state.invites().iter().copied().collect(),
        history_hash: state.history_hash(),
        accepted: state.accepted(),
        latest_cursor: events.len() as u64,
    }))
}

async fn history(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(room): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Reply<HistoryResponse> {
    let mut st = s.inner.lock().expect("lock");
    st.session(&headers)?;
    st.history_requests += 1;
    let room: RoomId = room.parse().map_err(|_| error(StatusCode::BAD_REQUEST, ErrorCode::BadRequest))?;
    let len = st.rooms.get(&room).ok_or_else(|| error(StatusCode::NOT_FOUND, ErrorCode::UnknownRoom))?.len() as u64;
    let limit = q.limit.unwrap_or(100);
    let cursors: Vec<u64> = match q.before {
        Some(before) => (1..before.min(len + 1)).rev().collect(),
        None => ((q.after.unwrap_or(0) + 1)..=len).collect(),
    };
    let more = cursors.len() > limit;
    let events: Vec<TimelineItem> = cursors.into_iter().take(limit).map(|c| st.item(&room, c)).collect();
    Ok(Json(HistoryResponse { events, more }))
}

async fn stream(State(s): State<Arc<Shared>>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let faults = {
        let mut st = s.inner.lock().expect("lock");
        if let Err(refused) = st.session(&headers) {
            return refused;
        }
        st.stream_connections += 1;
        st.stream_faults.pop_front().unwrap_or_default()
    };
    ws.on_upgrade(move |socket| serve_stream(s, socket, faults))
}

async fn serve_stream(s: Arc<Shared>, mut socket: WebSocket, faults: Vec<StreamFault>) {
    let mut notified = s.notify.subscribe();
    let Some(Ok(Message::Text(text))) = socket.recv().await else { return };
    let frame: ClientFrame = serde_json::from_str(text.as_str()).expect("frame");
    let ClientFrame::Subscribe { room, after: mut sent_up_to } = frame else { return };
    for fault in &faults {
        let error = match fault {
            StreamFault::Refuse(code) => ErrorDetail::new(ErrorCode::from_code(code), "mock refuses"),
            StreamFault::RefuseBlocked(provenance) => {
                ErrorDetail::new(ErrorCode::Blocked, "mock: blocked").with_provenance((**provenance).clone())
            }
            _ => continue,
        };
        let frame = serde_json::to_string(&ServerFrame::Error { error }).expect("frame");
        let _ = socket.send(Message::text(frame)).await;
        // The connection stays open, as the contract says.
        while socket.recv().await.is_some() {}
        return;
    }
    let mut frames_sent = 0;
    loop {
        let pending: Vec<(u64, TimelineItem)> = {
            let st = s.inner.lock().expect("lock");
            let len = st.rooms.get(&room).map_or(0, |e| e.len() as u64);
            ((sent_up_to + 1)..=len).map(|c| (c, st.item(&room, c))).collect()
        };
        for (cursor, item) in pending {
            sent_up_to = cursor;
            if faults.iter().any(|f| matches!(f, StreamFault::Skip(c) if *c == cursor)) {
                continue;
            }
            let copies = if faults.iter().any(|f| matches!(f, StreamFault::Repeat)) { 2 } else { 1 };
            for _ in 0..copies {
                let frame = ServerFrame::Event { room, item: Box::new(item.clone()) };
                let frame = serde_json::to_string(&frame).expect("frame");
                if socket.send(Message::text(frame)).await.is_err() {
                    return;
                }
            }
            frames_sent += 1;
            if faults.iter().any(|f| matches!(f, StreamFault::CloseAfter(n) if frames_sent >= *n)) {
                return;
            }
        }
        tokio::select! {
            changed = notified.recv() => if changed.is_err() { return },
            msg = socket.recv() => match msg {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
