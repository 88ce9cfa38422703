//! The live stream over WebSocket (spec/client-api.md §6).
//!
//! Each subscription is a task that first replays the room from the store
//! after the client's cursor, then follows the room's live feed. If the
//! feed overflows or skips a cursor, the task reads the gap from the store:
//! every cursor is delivered once, in order, and nothing is skipped.
//!
//! A `send` frame submits an event as `POST /v1/events` does, without an
//! HTTP request per message: up to [`MAX_SENDS_IN_FLIGHT`] run at once per
//! connection, each answered by its own `sent` or `not_sent` frame, and the
//! connection's further frames wait while that many are in flight.

use super::auth::Session;
use super::{ApiError, ApiState};
use crate::core::Core;
use crate::core::rooms::{LiveItem, TimelineItem, may_read};
use crate::http::reply::wire_item;
use accord_api::events::SendEventRequest;
use accord_api::stream::{ClientFrame, MAX_CLIENT_FRAME, MAX_SENDS_IN_FLIGHT, ServerFrame};
use accord_api::{ErrorCode, ErrorDetail};
use accord_proto::{AccountId, RoomId};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::task::{AbortHandle, JoinSet};

/// Frames queued for one connection before subscription tasks wait.
const OUTBOX: usize = 256;
/// Events read from the store per catch-up page.
const PAGE: usize = 200;
/// Frames a client may send per second on one connection…
const FRAMES_PER_SECOND: NonZeroU32 = match NonZeroU32::new(20) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};
/// …with this burst.
const FRAME_BURST: NonZeroU32 = match NonZeroU32::new(40) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};
/// The socket's read buffer, in bytes.
const READ_BUFFER: usize = 4096;
/// Rooms one connection may follow at once.
const MAX_SUBSCRIPTIONS: usize = 256;

/// `GET /v1/stream`
pub async fn stream(
    State(api): State<ApiState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    session: Session,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws = ws.map_err(|e| ApiError::bad_request(format!("not a WebSocket upgrade: {}", e.body_text())))?;
    let slot = StreamSlot::take(&api, session.0)?;
    let state = api.core.clone();
    // The server hands the connection over: the node's tasks track it, so
    // shutdown waits for it to close.
    let tasks = state.tasks().clone();
    // Small socket buffers: an idle follower should cost kilobytes, not the
    // default 128 KiB of read buffer; frames are small and flushed each.
    let ws = ws.read_buffer_size(READ_BUFFER).write_buffer_size(0);
    Ok(ws.max_message_size(MAX_CLIENT_FRAME).max_frame_size(MAX_CLIENT_FRAME).on_upgrade(move |socket| {
        tasks.track(async move {
            connection(state, session, addr.ip(), socket).await;
            drop(slot);
        })
    }))
}

/// One of an account's live-stream slots; given back when dropped, whether
/// the connection ended or the upgrade never completed.
struct StreamSlot {
    api: ApiState,
    account: AccountId,
}

impl StreamSlot {
    fn take(api: &ApiState, account: AccountId) -> Result<StreamSlot, ApiError> {
        let mut open = api.streams.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(account).or_default();
        if *count >= api.core.config.limits.streams_per_account {
            api.core.metrics.reject("rate_limited");
            return Err(ApiError::rate_limited(1000));
        }
        *count += 1;
        Ok(StreamSlot { api: api.clone(), account })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.api.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.account) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.account);
            }
        }
    }
}

async fn connection(state: Arc<Core>, Session(account): Session, ip: IpAddr, socket: WebSocket) {
    state.metrics.streams.inc();
    let (mut sink, mut source) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUTBOX);
    let mut tasks = JoinSet::new();
    tasks.spawn(async move {
        while let Some(text) = out_rx.recv().await {
            if sink.send(Message::Text(Utf8Bytes::from(text))).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut subs: HashMap<RoomId, AbortHandle> = HashMap::new();
    let frames = RateLimiter::direct(Quota::per_second(FRAMES_PER_SECOND).allow_burst(FRAME_BURST));
    let sends = Arc::new(Semaphore::new(MAX_SENDS_IN_FLIGHT));
    let shutdown = state.tasks().shutdown().clone();
    loop {
        let frame = tokio::select! {
            frame = source.next() => frame,
            () = shutdown.cancelled() => break,
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => continue,
        };
        let send_error = |code: ErrorCode, message: String| {
            let _ = out_tx.try_send(text_frame(&ServerFrame::Error { error: ErrorDetail::new(code, message) }));
        };
        let frame = ClientFrame::parse(&text);
        // A send is limited as `POST /v1/events` is (the client address's
        // request rate, then the account's event rate); other frames by the
        // connection's frame rate.
        let limited = match &frame {
            Ok(ClientFrame::Send { .. }) => state.limits.request(ip).is_err(),
            _ => frames.check().is_err(),
        };
        if limited {
            state.metrics.reject("rate_limited");
            match frame {
                Ok(ClientFrame::Send { id, .. }) => {
                    let error = ErrorDetail::new(ErrorCode::RateLimited, "too many requests from this address");
                    let _ = out_tx.try_send(text_frame(&ServerFrame::NotSent { id, error }));
                }
                _ => send_error(ErrorCode::RateLimited, "too many frames; slow down".into()),
            }
            continue;
        }
        match frame {
            Err(e) => send_error(e.code(), e.to_string()),
            Ok(ClientFrame::Send { id, event, via }) => {
                // Wait for a free slot: the connection's next frames wait too.
                let Ok(permit) = sends.clone().acquire_owned().await else { break };
                while tasks.try_join_next().is_some() {}
                let (state, out) = (state.clone(), out_tx.clone());
                // Boxed: the send's future is kilobytes, and the task
                // then copies a pointer instead of it.
                tasks.spawn(Box::pin(async move {
                    let answer =
                        match super::handlers::send(&state, account, SendEventRequest { event: *event, via }).await {
                            Ok(receipt) => ServerFrame::Sent { id, receipt: Box::new(receipt) },
                            Err(e) => ServerFrame::NotSent { id, error: e.detail().clone() },
                        };
                    let _ = out.send(text_frame(&answer)).await;
                    drop(permit);
                }));
            }
            Ok(ClientFrame::Unsubscribe { room }) => {
                if let Some(task) = subs.remove(&room) {
                    task.abort();
                }
            }
            Ok(ClientFrame::Subscribe { room, .. }) if subs.len() >= MAX_SUBSCRIPTIONS && !subs.contains_key(&room) => {
                send_error(ErrorCode::RateLimited, format!("at most {MAX_SUBSCRIPTIONS} rooms per connection"));
            }
            Ok(ClientFrame::Subscribe { room, after }) => {
                let Some(handle) = state.rooms.get(&room) else {
                    send_error(ErrorCode::UnknownRoom, format!("no room {room} on this node"));
                    continue;
                };
                let live = {
                    let mut rt = handle.lock().await;
                    if !may_read(&rt.state, &account) {
                        send_error(ErrorCode::NotMember, format!("not a member of {room}"));
                        continue;
                    }
                    rt.subscribe()
                };
                // Forget followers that have ended (unsubscribed, or no
                // longer members).
                while tasks.try_join_next().is_some() {}
                let follower = tasks.spawn(follow(state.clone(), account, room, after, live, out_tx.clone()));
                if let Some(old) = subs.insert(room, follower) {
                    old.abort();
                }
            }
        }
    }
    // Followers end now; the writer ends once it has sent what they queued.
    for task in subs.into_values() {
        task.abort();
    }
    drop(out_tx);
    while tasks.join_next().await.is_some() {}
    state.metrics.streams.dec();
}

/// A frame as text, written as the node writes all its JSON (keys sorted).
fn text_frame(frame: &ServerFrame) -> String {
    crate::http::sorted::frame(frame)
}

/// The event frame of an item, as served to this connection; `None` for an
/// item the wire cannot carry (see `wire_item`).
fn frame(state: &Core, room: &RoomId, item: &TimelineItem) -> Option<String> {
    let item = wire_item(item.clone().served(state))?;
    Some(text_frame(&ServerFrame::Event { room: *room, item: Box::new(item) }))
}

/// Delivers every cursor of `room` after `after`, once, in order.
async fn follow(
    state: Arc<Core>,
    account: AccountId,
    room: RoomId,
    mut last: u64,
    mut live: broadcast::Receiver<Arc<LiveItem>>,
    out: mpsc::Sender<String>,
) {
    let not_member = || {
        let error = ErrorDetail::new(ErrorCode::NotMember, format!("no longer a member of {room}"));
        text_frame(&ServerFrame::Error { error })
    };
    // A stream of an account blocked since it opened ends with the reason.
    let blocked = || {
        state.lists.check_account(&state.store, &account).map(|p| {
            let error =
                ErrorDetail::new(ErrorCode::Blocked, "refused by a blocklist this node enforces").with_provenance(p);
            text_frame(&ServerFrame::Error { error })
        })
    };
    loop {
        // Catch up from the store until it has nothing newer.
        loop {
            let page = match state.store.timeline(&room, Some(last), None, PAGE) {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!("stream of {room}: {e}");
                    return;
                }
            };
            let full = page.len() == PAGE;
            let items = match state.rooms.get(&room) {
                Some(h) => {
                    let rt = h.lock().await;
                    if !may_read(&rt.state, &account) {
                        let _ = out.send(not_member()).await;
                        return;
                    }
                    rt.items(page)
                }
                None => return,
            };
            if let Some(refusal) = blocked() {
                let _ = out.send(refusal).await;
                return;
            }
            for item in items {
                if let Some(text) = frame(&state, &room, &item)
                    && out.send(text).await.is_err()
                {
                    return;
                }
                last = item.cursor;
            }
            if !full {
                break;
            }
        }
        // Follow the live feed while it is contiguous.
        loop {
            match live.recv().await {
                Ok(live) if live.item.cursor <= last => continue,
                Ok(live) if live.item.cursor == last + 1 => {
                    if let Some(refusal) = blocked() {
                        let _ = out.send(refusal).await;
                        return;
                    }
                    // Encoded once per item, for every follower of the room.
                    let encoded = live.encoded.get_or_init(|| frame(&state, &room, &live.item).map(Arc::from));
                    if let Some(text) = encoded
                        && out.send(text.to_string()).await.is_err()
                    {
                        return;
                    }
                    last = live.item.cursor;
                    if live.removed == Some(account) {
                        let _ = out.send(not_member()).await;
                        return;
                    }
                }
                Ok(_) => break, // a gap: read it from the store
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let notice = text_frame(&ServerFrame::Lagged { room, resume_from: last });
                    if out.send(notice).await.is_err() {
                        return;
                    }
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
