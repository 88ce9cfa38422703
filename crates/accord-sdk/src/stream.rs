//! The live timeline of a room over the node's WebSocket (`/v1/stream`,
//! client API §6), made lossless on the client side too.
//!
//! The node promises each cursor once and in order on one connection. The
//! [`Subscription`] adds what one connection cannot: it remembers the last
//! cursor it delivered, and when the socket drops (or goes silent) it
//! reconnects with backoff and resubscribes from there. It checks every
//! cursor against the last one: a repeat is skipped, a jump is filled from
//! history before going on. Items a blocklist entry hides take up their
//! cursors like any other: they are not a jump.

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::http::{decode_error, transport};
use crate::policy::ReconnectPolicy;
use crate::room::Room;
use crate::timeline::{HistoryQuery, MAX_HISTORY_LIMIT, TimelineEntry, TimelineItem};
use accord_api::rooms::TimelineItem as RawTimelineItem;
use accord_api::stream::{ClientFrame, ServerFrame};
use accord_proto::RoomId;
use futures::{SinkExt as _, Stream, StreamExt as _};
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, RETRY_AFTER};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// After this long without a frame the stream pings the node; after twice
/// this long it reconnects.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting and the WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest frame accepted from the node. An event frame holds at most
/// about 40 KiB of base64 (client API §6, events ≤ 28 KiB of bodies).
const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// A WebSocket to the node.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the node's live stream with the session `token`.
pub(crate) async fn open(client: &Client, token: &str) -> Result<Ws> {
    let url = client.inner.http.stream_url();
    let mut request = url.as_str().into_client_request().map_err(|e| transport(&e))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| SdkError::Protocol("the session token is not a valid header value".into()))?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    let config =
        WebSocketConfig::default().max_message_size(Some(MAX_FRAME_BYTES)).max_frame_size(Some(MAX_FRAME_BYTES));
    // `true`: no Nagle delay on the client's small frames.
    let connector = Some(client.inner.http.ws_connector());
    let connecting = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(SdkError::Transport { message: "timed out opening the live stream".into() }),
        Ok(Err(WsError::Http(resp))) => {
            let retry_after = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok());
            let body = resp.body().as_deref().unwrap_or_default();
            Err(decode_error(resp.status().as_u16(), retry_after, body))
        }
        Ok(Err(e)) => Err(transport(&e)),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

impl Room {
    /// The room's live timeline from the first cursor after `after`:
    /// lossless, in order, each cursor once, every event verified; hidden
    /// items are skipped (or yielded by [`Subscription::next_entry`]). See
    /// [`Subscription`].
    pub fn subscribe(&self, after: u64) -> Subscription {
        Subscription::new(self.clone(), after)
    }
}

/// A room's live timeline: a [`Stream`] of verified [`TimelineItem`]s.
///
/// Lossless: every cursor after the starting one is yielded exactly once,
/// in ascending order — as an item, as an [`SdkError::Verification`] error
/// if it does not verify, or inside an [`SdkError::MissingCursors`] error
/// if the node can serve it neither live nor from history. Dropped
/// connections are reestablished (see [`ReconnectPolicy`]).
///
/// The exception is an item the node hides because of a blocklist entry
/// (client API §5): its cursor exists but has no event, so the stream
/// passes over it without yielding anything and without treating it as a
/// gap; [`last_cursor`](Self::last_cursor) counts it. To see hidden items
/// with their [`Provenance`](crate::Provenance), read the subscription with
/// [`next_entry`](Self::next_entry) instead of as a stream.
///
/// The stream ends after an error it cannot recover from: the node
/// refusing the subscription (e.g. `not_member`), or
/// [`SdkError::ReconnectFailed`]. Connecting starts at the first poll;
/// dropping the subscription closes the connection. `next()` is
/// cancel-safe: a `select!` that drops it loses nothing.
#[must_use = "a subscription does nothing unless polled"]
pub struct Subscription {
    inner: Pin<Box<dyn Stream<Item = Result<TimelineEntry>> + Send>>,
    last: Arc<AtomicU64>,
    room: RoomId,
}

impl Subscription {
    pub(crate) fn new(room: Room, after: u64) -> Self {
        let last = Arc::new(AtomicU64::new(after));
        let room_id = room.id();
        let driver = Driver {
            policy: room.client().inner.reconnect,
            client: room.client().clone(),
            room,
            cursor: Continuity::new(after),
            shared_last: last.clone(),
            pending: VecDeque::new(),
            conn: None,
            generation: None,
            failures: 0,
            idle: 0,
            retry_at: None,
            finished: false,
        };
        let stream = futures::stream::unfold(driver, |mut driver| async move {
            let entry = driver.next_entry().await?;
            Some((entry, driver))
        });
        Self { inner: Box::pin(stream), last, room: room_id }
    }

    /// The room.
    pub fn room(&self) -> RoomId {
        self.room
    }

    /// The last cursor yielded or passed over as hidden (or the starting
    /// one): where a later subscription should resume so that nothing is
    /// missed or repeated.
    pub fn last_cursor(&self) -> u64 {
        self.last.load(Ordering::Acquire)
    }

    /// The next cursor of the timeline, hidden items included: what the
    /// stream yields, with [`TimelineEntry::Hidden`] for each item a
    /// blocklist entry hides. `None` when the subscription has ended.
    ///
    /// Reading entries and reading the stream can be mixed; each cursor is
    /// yielded once either way. Cancel-safe, like the stream's `next()`.
    pub async fn next_entry(&mut self) -> Option<Result<TimelineEntry>> {
        self.inner.next().await
    }
}

impl Stream for Subscription {
    type Item = Result<TimelineItem>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match self.inner.as_mut().poll_next(cx) {
                // Counted in `last_cursor` by the driver; nothing to yield.
                Poll::Ready(Some(Ok(TimelineEntry::Hidden(_)))) => continue,
                Poll::Ready(Some(Ok(TimelineEntry::Item(item)))) => Poll::Ready(Some(Ok(item))),
                Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").field("room", &self.room).field("last_cursor", &self.last_cursor()).finish()
    }
}

/// What to do with an incoming cursor, given the last one delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Already delivered: skip it.
    Duplicate,
    /// The very next cursor: deliver it.
    Next,
    /// Cursors `from..=to` are missing before it.
    Gap { from: u64, to: u64 },
}

/// The cursor-continuity check: the last cursor delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Continuity {
    last: u64,
}

impl Continuity {
    pub(crate) fn new(after: u64) -> Self {
        Self { last: after }
    }

    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    pub(crate) fn classify(&self, cursor: u64) -> Step {
        if cursor <= self.last {
            Step::Duplicate
        } else if cursor == self.last + 1 {
            Step::Next
        } else {
            Step::Gap { from: self.last + 1, to: cursor - 1 }
        }
    }

    /// Records `cursor` as delivered; it must be the next one, or a cursor
    /// past a gap that was reported.
    pub(crate) fn advance_to(&mut self, cursor: u64) {
        debug_assert!(cursor > self.last);
        self.last = self.last.max(cursor);
    }
}

/// The state of one subscription, driven by polls of the stream.
struct Driver {
    client: Client,
    room: Room,
    policy: ReconnectPolicy,
    cursor: Continuity,
    /// The last cursor handed out, for [`Subscription::last_cursor`].
    shared_last: Arc<AtomicU64>,
    /// Entries verified and ready to yield, in cursor order, each with the
    /// cursor that is handed out with it (none for errors that stand for
    /// no cursor).
    pending: VecDeque<(Option<u64>, Result<TimelineEntry>)>,
    conn: Option<Ws>,
    /// The login generation of the token the connection used.
    generation: Option<u64>,
    /// Consecutive failures without anything delivered.
    failures: u32,
    /// Consecutive idle timeouts on the current connection.
    idle: u32,
    /// When the next connection attempt may start.
    retry_at: Option<tokio::time::Instant>,
    finished: bool,
}

impl Driver {
    async fn next_entry(&mut self) -> Option<Result<TimelineEntry>> {
        loop {
            // Whatever was verified before a failure is yielded first.
            if let Some((cursor, entry)) = self.pending.pop_front() {
                if let Some(cursor) = cursor {
                    self.shared_last.store(cursor, Ordering::Release);
                }
                return Some(entry);
            }
            if self.finished {
                return None;
            }
            let step = if self.conn.is_none() {
                if let Some(at) = self.retry_at.take() {
                    tokio::time::sleep_until(at).await;
                }
                self.connect().await
            } else {
                self.read().await
            };
            if let Err(err) = step {
                self.fail(err).await;
            }
        }
    }

    /// Opens the socket and subscribes from the last cursor delivered.
    async fn connect(&mut self) -> Result<()> {
        let (token, generation) = self.client.session_token().await?;
        self.generation = Some(generation);
        let mut ws = open(&self.client, &token).await?;
        let subscribe = ClientFrame::Subscribe { room: self.room.id(), after: self.cursor.last() };
        let text = serde_json::to_string(&subscribe).map_err(|e| SdkError::Protocol(e.to_string()))?;
        ws.send(Message::text(text)).await.map_err(|e| transport(&e))?;
        tracing::debug!(room = %self.room.id(), after = self.cursor.last(), "subscribed");
        self.conn = Some(ws);
        self.idle = 0;
        Ok(())
    }

    /// Reads and handles one frame, or pings on silence.
    async fn read(&mut self) -> Result<()> {
        let Some(ws) = self.conn.as_mut() else { return Ok(()) };
        let message = match tokio::time::timeout(IDLE_TIMEOUT, ws.next()).await {
            Err(_) => {
                self.idle += 1;
                if self.idle >= 2 {
                    return Err(SdkError::Transport { message: "the live stream went silent".into() });
                }
                return ws.send(Message::Ping(Bytes::new())).await.map_err(|e| transport(&e));
            }
            Ok(None) => {
                return Err(SdkError::Transport { message: "the node closed the live stream".into() });
            }
            Ok(Some(Err(e))) => return Err(transport(&e)),
            Ok(Some(Ok(message))) => message,
        };
        self.idle = 0;
        match message {
            Message::Text(text) => self.on_frame(text.as_str()).await,
            Message::Pong(_) => {
                self.failures = 0;
                Ok(())
            }
            Message::Close(frame) => {
                let reason = frame.map(|f| format!(" ({}: {})", f.code, f.reason)).unwrap_or_default();
                Err(SdkError::Transport { message: format!("the node closed the live stream{reason}") })
            }
            // Pings are answered by the WebSocket layer; the API sends no binary frames.
            _ => Ok(()),
        }
    }

    async fn on_frame(&mut self, text: &str) -> Result<()> {
        let frame: ServerFrame =
            serde_json::from_str(text).map_err(|e| SdkError::Protocol(format!("stream frame does not parse: {e}")))?;
        match frame {
            ServerFrame::Event { room, item } => {
                if room != self.room.id() {
                    tracing::debug!(%room, "ignoring an event of a room not subscribed to");
                    return Ok(());
                }
                self.failures = 0;
                self.on_item(*item).await
            }
            ServerFrame::Lagged { room, resume_from } => {
                tracing::debug!(%room, resume_from, "node reports the stream lagged; it continues from its store");
                self.failures = 0;
                Ok(())
            }
            ServerFrame::Error { error } => Err(SdkError::api(None, error)),
            // Answers to sends, which a subscription's connection makes none of.
            ServerFrame::Sent { .. } | ServerFrame::NotSent { .. } | ServerFrame::Unknown => Ok(()),
        }
    }

    /// Delivers a live item after anything missing before it.
    async fn on_item(&mut self, raw: RawTimelineItem) -> Result<()> {
        match self.cursor.classify(raw.cursor) {
            Step::Duplicate => return Ok(()),
            Step::Gap { from, to } => {
                tracing::debug!(from, to, "cursor gap on the live stream; filling it from history");
                self.fill_gap(to).await?;
            }
            Step::Next => {}
        }
        if self.cursor.classify(raw.cursor) == Step::Next { self.deliver(raw).await } else { Ok(()) }
    }

    /// Delivers every cursor up to `to` from history. Cursors the node
    /// cannot serve are reported once as [`SdkError::MissingCursors`].
    async fn fill_gap(&mut self, to: u64) -> Result<()> {
        while self.cursor.last() < to {
            let last = self.cursor.last();
            let limit = u32::try_from(to - last).unwrap_or(MAX_HISTORY_LIMIT).min(MAX_HISTORY_LIMIT);
            let page = self.room.fetch_history(HistoryQuery::after(last).limit(limit)).await?;
            let mut first_unusable = None;
            for raw in page.events {
                if raw.cursor > to {
                    first_unusable = Some(raw.cursor);
                    break;
                }
                match self.cursor.classify(raw.cursor) {
                    Step::Duplicate => {}
                    Step::Next => self.deliver(raw).await?,
                    Step::Gap { .. } => {
                        first_unusable = Some(raw.cursor);
                        break;
                    }
                }
            }
            if self.cursor.last() == last {
                // No progress: the node has nothing at `last + 1`.
                let skip_to = first_unusable.map_or(to, |c| (c - 1).min(to));
                tracing::warn!(from = last + 1, to = skip_to, "node cannot serve these cursors");
                let missing = SdkError::MissingCursors { room: self.room.id(), from: last + 1, to: skip_to };
                self.pending.push_back((Some(skip_to), Err(missing)));
                self.cursor.advance_to(skip_to);
            }
        }
        Ok(())
    }

    /// Verifies and queues the next item; a hidden item is queued as it
    /// is. A verification failure is queued as an error item in its place;
    /// any other error leaves the cursor undelivered (it is fetched again
    /// after reconnecting).
    async fn deliver(&mut self, raw: RawTimelineItem) -> Result<()> {
        let cursor = raw.cursor;
        match self.client.verify_entry(self.room.id(), raw).await {
            Ok(entry) => self.pending.push_back((Some(cursor), Ok(entry))),
            Err(err @ SdkError::Verification { .. }) => {
                tracing::warn!(cursor, error = %err, "event on the live stream does not verify");
                self.pending.push_back((Some(cursor), Err(err)));
            }
            Err(err) => return Err(err),
        }
        self.cursor.advance_to(cursor);
        Ok(())
    }

    /// Handles a failure of the connection or of what it delivered: either
    /// gives up (queueing the error as the last item) or schedules the
    /// next connection attempt.
    async fn fail(&mut self, err: SdkError) {
        self.conn = None;
        if let SdkError::Api { code, .. } = &err
            && code == "unauthenticated"
            && let Some(generation) = self.generation.take()
        {
            self.client.invalidate_session(generation).await;
        }
        if !err.is_transient() && !matches!(err, SdkError::Protocol(_)) {
            self.finished = true;
            self.pending.push_back((None, Err(err)));
            return;
        }
        self.failures += 1;
        if self.failures > self.policy.max_attempts {
            self.finished = true;
            let attempts = self.failures - 1;
            self.pending.push_back((None, Err(SdkError::ReconnectFailed { attempts, last: Box::new(err) })));
            return;
        }
        let mut delay = self.policy.delay(self.failures);
        if let SdkError::Api { retry_after_ms: Some(ms), .. } = &err {
            delay = delay.max(Duration::from_millis(*ms));
        }
        tracing::debug!(error = %err, attempt = self.failures, ?delay, "live stream failed; reconnecting");
        self.retry_at = Some(tokio::time::Instant::now() + delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_proto::SecretKey;

    #[test]
    fn continuity() {
        let mut c = Continuity::new(0);
        assert_eq!(c.classify(1), Step::Next);
        assert_eq!(c.classify(0), Step::Duplicate);
        assert_eq!(c.classify(4), Step::Gap { from: 1, to: 3 });
        c.advance_to(1);
        assert_eq!(c.classify(1), Step::Duplicate);
        assert_eq!(c.classify(2), Step::Next);
        c.advance_to(3);
        assert_eq!(c.last(), 3);
        assert_eq!(c.classify(2), Step::Duplicate);
        assert_eq!(c.classify(4), Step::Next);
    }

    #[test]
    fn a_replayed_sequence_yields_each_cursor_once() {
        // What a reconnect looks like: the node resends from the cursor
        // asked for, overlapping what was seen; only new cursors pass.
        let mut c = Continuity::new(10);
        let mut delivered = Vec::new();
        for cursor in [11, 12, 13, 12, 13, 14, 11, 15] {
            if c.classify(cursor) == Step::Next {
                c.advance_to(cursor);
                delivered.push(cursor);
            }
        }
        assert_eq!(delivered, vec![11, 12, 13, 14, 15]);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = ReconnectPolicy::new(Duration::from_millis(100), Duration::from_secs(1), 5);
        assert_eq!(p.delay(1), Duration::from_millis(100));
        assert_eq!(p.delay(2), Duration::from_millis(200));
        assert_eq!(p.delay(4), Duration::from_millis(800));
        assert_eq!(p.delay(5), Duration::from_secs(1));
        assert_eq!(p.delay(1000), Duration::from_secs(1));
        // A cap below the start is raised to the start.
        let p = ReconnectPolicy::new(Duration::from_secs(2), Duration::from_secs(1), 1);
        assert_eq!(p.delay(3), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn gives_up_after_the_bounded_attempts() {
        let client = Client::builder()
            .node_url("http://127.0.0.1:9")
            .key(SecretKey::from_seed([1; 32]))
            .reconnect_policy(ReconnectPolicy::new(Duration::from_millis(1), Duration::from_millis(2), 2))
            .build()
            .expect("client");
        let room = client.room(RoomId::from_bytes([1; 32]));
        let mut sub = room.subscribe(7);
        assert_eq!(sub.last_cursor(), 7);
        match sub.next().await {
            Some(Err(SdkError::ReconnectFailed { attempts: 2, last })) => {
                assert!(matches!(*last, SdkError::Transport { .. }), "{last:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(sub.next().await.is_none());
        assert_eq!(sub.last_cursor(), 7);
    }
}
