//! Sending events over the node's WebSocket (`send` frames, client API §6):
//! one connection carries many sends at once, with no HTTP request per
//! message.
//!
//! A [`StreamSender`] is a thin handle over a private task that owns the
//! socket. The task numbers each send, writes its frame and hands the
//! node's answer back to the caller, which verifies the receipt as
//! [`Room::send`](crate::Room::send) does. A dropped connection fails the
//! sends in flight with [`SdkError::Transport`] and is opened again at the
//! next send; a send is safe to repeat (a repeat of a stored event is
//! answered with its receipt).

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::http::transport;
use crate::stream::{Ws, open};
use crate::timeline::SendReceipt;
use accord_api::events::SendEventResponse;
use accord_api::stream::{ClientFrame, MAX_SENDS_IN_FLIGHT, ServerFrame};
use accord_proto::event::{EventBody, EventContent};
use accord_proto::{RoomId, Verified};
use futures::{SinkExt as _, StreamExt as _};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How many times a send refused with `rate_limited` is tried again.
const RATE_LIMIT_RETRIES: u32 = 5;

/// The node's answer to one send, before it is verified.
type Answer = Result<SendEventResponse>;

/// One send handed to the socket's task.
struct Outgoing {
    frame: String,
    id: u64,
    answer: oneshot::Sender<Answer>,
}

/// Sends a client's events over one WebSocket to its node, many at once.
///
/// Cheap to clone; every clone shares the connection. The connection closes
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct StreamSender {
    client: Client,
    outgoing: mpsc::Sender<Outgoing>,
}

impl Client {
    /// A sender of this account's events over the node's WebSocket: the
    /// fast path for a client that sends many messages. The connection is
    /// opened at the first send.
    pub fn stream_sender(&self) -> StreamSender {
        let (outgoing, queue) = mpsc::channel(MAX_SENDS_IN_FLIGHT);
        tokio::spawn(Connection { client: self.clone(), ws: None, in_flight: HashMap::new() }.run(queue));
        StreamSender { client: self.clone(), outgoing }
    }
}

impl StreamSender {
    /// Signs `content` for `room` and sends it; the verified receipt, as
    /// [`Room::send`](crate::Room::send) returns it.
    pub async fn send(&self, room: RoomId, content: EventContent) -> Result<SendReceipt> {
        let signed = self.client.sign_event(Some(room), content)?;
        self.send_signed(&signed).await
    }

    /// Sends a text message to `room`.
    pub async fn send_text(&self, room: RoomId, text: &str) -> Result<SendReceipt> {
        let text = text.to_owned().try_into().map_err(|e| SdkError::InvalidInput(format!("{e}")))?;
        self.send(room, EventContent::Message { text, reply_to: None, attachments: vec![] }).await
    }

    /// Sends an event this account signed; the verified receipt.
    pub async fn send_signed(&self, signed: &Verified<EventBody>) -> Result<SendReceipt> {
        let mut tries = 0;
        loop {
            match self.exchange(signed).await {
                Ok(resp) => return self.client.verify_receipt(signed, resp).await,
                Err(err) if err.code() == "duplicate_event" => return self.client.stored_receipt(signed, err).await,
                Err(SdkError::Api { code, retry_after_ms, .. })
                    if code == "rate_limited" && tries < RATE_LIMIT_RETRIES =>
                {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(retry_after_ms.unwrap_or(100).max(1))).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One send and the node's answer.
    async fn exchange(&self, signed: &Verified<EventBody>) -> Answer {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let frame = ClientFrame::Send { id, event: Box::new(signed.raw().clone()), via: vec![] };
        let frame = serde_json::to_string(&frame).map_err(|e| SdkError::Protocol(e.to_string()))?;
        let (answer, answered) = oneshot::channel();
        let closed = || SdkError::Transport { message: "the sender's connection task ended".into() };
        self.outgoing.send(Outgoing { frame, id, answer }).await.map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }
}

/// The task that owns the socket.
struct Connection {
    client: Client,
    ws: Option<Ws>,
    in_flight: HashMap<u64, oneshot::Sender<Answer>>,
}

impl Connection {
    async fn run(mut self, mut queue: mpsc::Receiver<Outgoing>) {
        loop {
            tokio::select! {
                next = queue.recv() => match next {
                    Some(out) => self.write(out).await,
                    None => break,
                },
                frame = read(&mut self.ws), if self.ws.is_some() => self.on_read(frame),
            }
        }
        if let Some(mut ws) = self.ws.take() {
            let _ = ws.close(None).await;
        }
    }

    /// Writes one send, opening the connection first if there is none.
    async fn write(&mut self, out: Outgoing) {
        if self.ws.is_none() {
            match self.connect().await {
                Ok(ws) => self.ws = Some(ws),
                Err(err) => {
                    let _ = out.answer.send(Err(err));
                    return;
                }
            }
        }
        let Some(ws) = self.ws.as_mut() else { return };
        match ws.send(Message::text(out.frame)).await {
            Ok(()) => {
                self.in_flight.insert(out.id, out.answer);
            }
            Err(e) => {
                let _ = out.answer.send(Err(transport(&e)));
                self.drop_connection("writing a send");
            }
        }
    }

    /// Opens the socket, logging in again once if the session was refused.
    async fn connect(&self) -> Result<Ws> {
        let (token, generation) = self.client.session_token().await?;
        match open(&self.client, &token).await {
            Err(SdkError::Api { status: 401, .. }) => {
                self.client.invalidate_session(generation).await;
                let (token, _) = self.client.session_token().await?;
                open(&self.client, &token).await
            }
            other => other,
        }
    }

    fn on_read(&mut self, frame: Option<Result<String>>) {
        let text = match frame {
            Some(Ok(text)) => text,
            Some(Err(_)) | None => return self.drop_connection("reading"),
        };
        let (id, answer) = match serde_json::from_str::<ServerFrame>(&text) {
            Ok(ServerFrame::Sent { id, receipt }) => (id, Ok(*receipt)),
            Ok(ServerFrame::NotSent { id, error }) => (id, Err(SdkError::api(None, error))),
            Ok(_) => return,
            Err(e) => {
                tracing::debug!("a frame from the node does not parse: {e}");
                return;
            }
        };
        if let Some(waiting) = self.in_flight.remove(&id) {
            let _ = waiting.send(answer);
        }
    }

    /// Forgets the connection and fails the sends in flight on it.
    fn drop_connection(&mut self, while_: &str) {
        self.ws = None;
        for (_, waiting) in self.in_flight.drain() {
            let message = format!("the live stream closed while {while_}; the send may be repeated");
            let _ = waiting.send(Err(SdkError::Transport { message }));
        }
    }
}

/// The next text frame of the socket (pings are answered by the WebSocket
/// layer); `None` when it closed.
async fn read(ws: &mut Option<Ws>) -> Option<Result<String>> {
    let ws = ws.as_mut()?;
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return Some(Ok(text.as_str().to_owned())),
            Ok(Message::Close(_)) => return None,
            Ok(_) => continue,
            Err(e) => return Some(Err(transport(&e))),
        }
    }
}
