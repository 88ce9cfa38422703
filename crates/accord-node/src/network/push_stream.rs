//! The push stream (`/accord/push/1`, spec/federation.md §1.2a): one
//! long-lived stream to a peer that carries this node's pushes, where a
//! request of `/accord/federation/1` opens, negotiates and closes a stream
//! for each.
//!
//! [`Behaviour`] only opens and accepts the streams. The network's event
//! loop hands each to a task of its own: [`drive`] writes the requests it
//! is given, one at a time, and reads each answer; [`serve`] reads a
//! peer's requests, hands them to the node like any other, and writes the
//! answers back in order.

use super::{Inbound, NetEvent, Network, NetworkError, Reply};
use crate::metrics::Metrics;
use accord_proto::federation::{
    FedRequest, FedResponse, FrameLengthError, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PUSH_STREAM_PROTOCOL,
    push_stream_frame, push_stream_frame_length,
};
use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::ReadyUpgrade;
use libp2p::swarm::handler::ConnectionEvent;
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm, NetworkBehaviour,
    NotifyHandler, Stream, StreamUpgradeError, SubstreamProtocol, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// One request for [`drive`] to send, and where its answer goes.
pub(super) type Exchange = (Box<FedRequest>, oneshot::Sender<Result<FedResponse, NetworkError>>);

/// Requests a push stream's task holds before the event loop sends them
/// as requests of their own instead.
pub(super) const QUEUE: usize = 16;

/// Push streams one peer may have open to this node at once (one per
/// connection, at most [`super::MAX_PER_PEER`] connections).
pub(super) const MAX_INBOUND_PER_PEER: usize = 4;

/// What the behaviour reports to the event loop.
#[derive(Debug)]
pub enum Event {
    /// A peer opened a push stream to this node.
    Inbound {
        /// The peer.
        peer: PeerId,
        /// The stream, to be served.
        stream: Stream,
    },
    /// A push stream this node asked for is open.
    Outbound {
        /// The peer.
        peer: PeerId,
        /// The stream, to be driven.
        stream: Stream,
    },
    /// The peer does not speak `/accord/push/1` (an older node).
    Unsupported {
        /// The peer.
        peer: PeerId,
    },
    /// A push stream could not be opened for another reason.
    Failed {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
}

/// Asks a connection's handler to open a push stream.
#[derive(Debug)]
pub struct Open;

/// What a connection's handler reports: a stream, or why none was opened.
#[derive(Debug)]
pub enum Opened {
    /// The peer opened one.
    Inbound(Stream),
    /// The one asked for.
    Outbound(Stream),
    /// The peer refused the protocol.
    Unsupported,
    /// Opening failed otherwise.
    Failed(String),
}

/// Opens and accepts push streams.
#[derive(Default)]
pub struct Behaviour {
    queue: VecDeque<ToSwarm<Event, Open>>,
    waker: Option<Waker>,
}

impl Behaviour {
    /// Asks for a push stream to `peer`, which must be connected: the
    /// answer is an [`Event::Outbound`], [`Event::Unsupported`] or
    /// [`Event::Failed`], or nothing if the connection closes first.
    pub fn open(&mut self, peer: PeerId) {
        self.queue.push_back(ToSwarm::NotifyHandler { peer_id: peer, handler: NotifyHandler::Any, event: Open });
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Event;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<Handler, ConnectionDenied> {
        Ok(Handler::default())
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<Handler, ConnectionDenied> {
        Ok(Handler::default())
    }

    fn on_swarm_event(&mut self, _: FromSwarm<'_>) {}

    fn on_connection_handler_event(&mut self, peer: PeerId, _: ConnectionId, event: THandlerOutEvent<Self>) {
        let event = match event {
            Opened::Inbound(stream) => Event::Inbound { peer, stream },
            Opened::Outbound(stream) => Event::Outbound { peer, stream },
            Opened::Unsupported => Event::Unsupported { peer },
            Opened::Failed(reason) => Event::Failed { peer, reason },
        };
        self.queue.push_back(ToSwarm::GenerateEvent(event));
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Event, THandlerInEvent<Self>>> {
        match self.queue.pop_front() {
            Some(event) => Poll::Ready(event),
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A connection's side of [`Behaviour`].
#[derive(Default)]
pub struct Handler {
    /// Streams asked for and not yet requested from the connection.
    wanted: usize,
    /// What is to be reported.
    opened: VecDeque<Opened>,
}

fn protocol() -> SubstreamProtocol<ReadyUpgrade<StreamProtocol>, ()> {
    SubstreamProtocol::new(ReadyUpgrade::new(StreamProtocol::new(PUSH_STREAM_PROTOCOL)), ())
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Open;
    type ToBehaviour = Opened;
    type InboundProtocol = ReadyUpgrade<StreamProtocol>;
    type OutboundProtocol = ReadyUpgrade<StreamProtocol>;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, ()> {
        protocol()
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ConnectionHandlerEvent<Self::OutboundProtocol, (), Opened>> {
        if let Some(opened) = self.opened.pop_front() {
            return Poll::Ready(ConnectionHandlerEvent::NotifyBehaviour(opened));
        }
        if self.wanted > 0 {
            self.wanted -= 1;
            return Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest { protocol: protocol() });
        }
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, _: Open) {
        self.wanted += 1;
    }

    fn on_connection_event(&mut self, event: ConnectionEvent<'_, Self::InboundProtocol, Self::OutboundProtocol>) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(inbound) => {
                self.opened.push_back(Opened::Inbound(inbound.protocol))
            }
            ConnectionEvent::FullyNegotiatedOutbound(outbound) => {
                self.opened.push_back(Opened::Outbound(outbound.protocol));
            }
            ConnectionEvent::DialUpgradeError(failed) => self.opened.push_back(match failed.error {
                StreamUpgradeError::NegotiationFailed => Opened::Unsupported,
                other => Opened::Failed(other.to_string()),
            }),
            _ => {}
        }
    }
}

/// Why a frame could not be read.
enum FrameError {
    /// The stream failed or ended within a frame.
    Io(io::Error),
    /// The length is 0 or over the limit.
    Length(FrameLengthError),
}

/// Writes `bytes` as one frame, flushed.
async fn write_frame(stream: &mut Stream, bytes: &[u8]) -> io::Result<()> {
    let frame = push_stream_frame(bytes).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame length"))?;
    stream.write_all(&frame).await?;
    stream.flush().await
}

/// Reads one frame of at most `limit` bytes; `None` when the stream ends
/// before a frame begins. Nothing is allocated before the length is
/// checked against the limit.
async fn read_frame(stream: &mut Stream, limit: u64) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let first = stream.read(&mut prefix).await.map_err(FrameError::Io)?;
    if first == 0 {
        return Ok(None);
    }
    stream.read_exact(&mut prefix[first..]).await.map_err(FrameError::Io)?;
    let length = push_stream_frame_length(prefix, limit).map_err(FrameError::Length)?;
    let mut bytes = vec![0u8; length];
    stream.read_exact(&mut bytes).await.map_err(FrameError::Io)?;
    Ok(Some(bytes))
}

/// Sends each request it is given on `stream`, one at a time, and reports
/// its answer; each exchange may take at most `timeout`. The first
/// failure ends the stream: that request and any still queued fail, and
/// the next push opens a new stream.
pub(super) async fn drive(
    peer: PeerId,
    mut stream: Stream,
    mut requests: mpsc::Receiver<Exchange>,
    metrics: Arc<Metrics>,
    timeout: Duration,
) {
    let traffic = &metrics.fed_traffic;
    let failed = |reason: String| NetworkError::Request { peer, reason };
    while let Some((request, reply)) = requests.recv().await {
        let exchange = async {
            let bytes = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
            write_frame(&mut stream, &bytes).await.map_err(|e| e.to_string())?;
            traffic.requests_sent.inc();
            traffic.bytes_sent.inc_by(bytes.len() as u64 + 4);
            let answer = match read_frame(&mut stream, MAX_RESPONSE_BYTES).await {
                Ok(Some(answer)) => answer,
                Ok(None) => return Err("the push stream was closed".to_string()),
                Err(FrameError::Io(e)) => return Err(e.to_string()),
                Err(FrameError::Length(e)) => return Err(format!("an answer: {e}")),
            };
            traffic.bytes_received.inc_by(answer.len() as u64 + 4);
            FedResponse::decode(&answer).map_err(|e| e.to_string())
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(response)) => {
                metrics.fed_pushes_streamed.inc();
                let _ = reply.send(Ok(response));
            }
            Ok(Err(reason)) => {
                let _ = reply.send(Err(failed(reason)));
                break;
            }
            Err(_) => {
                let _ = reply.send(Err(failed("the push stream's answer timed out".into())));
                break;
            }
        }
    }
    requests.close();
    while let Ok((_, reply)) = requests.try_recv() {
        let _ = reply.send(Err(failed("the push stream was closed".into())));
    }
    let _ = stream.close().await;
}

/// Serves the requests `peer` sends on `stream`: each is handed to the
/// node as an [`Inbound`] request, or answered `busy` when the node's
/// queue is full, and the answers are written back in order. A frame of a
/// bad length is answered with an error and ends the stream; a request
/// that does not decode is answered with an error. Both count against the
/// peer, as on `/accord/federation/1`. Returns the peer when the stream
/// ends.
pub(super) async fn serve(
    peer: PeerId,
    mut stream: Stream,
    events: mpsc::Sender<NetEvent>,
    network: Network,
    metrics: Arc<Metrics>,
) -> PeerId {
    let traffic = &metrics.fed_traffic;
    let refuse = |code: &str, message: String| FedResponse::Error { code: code.into(), message };
    loop {
        let bytes = match read_frame(&mut stream, MAX_REQUEST_BYTES).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) | Err(FrameError::Io(_)) => break,
            Err(FrameError::Length(e)) => {
                metrics.fed_reject(e.code());
                network.penalize(peer, "bad_frame").await;
                let answer = refuse(e.code(), format!("a request: {e}"));
                if let Ok(bytes) = serde_json::to_vec(&answer) {
                    let _ = write_frame(&mut stream, &bytes).await;
                }
                break;
            }
        };
        traffic.requests_received.inc();
        traffic.bytes_received.inc_by(bytes.len() as u64 + 4);
        let answer = match FedRequest::decode(&bytes) {
            Err(e) => {
                metrics.fed_reject(e.code());
                if e.is_fault() {
                    network.penalize(peer, "bad_frame").await;
                }
                refuse(e.code(), e.to_string())
            }
            Ok(request) => {
                let (reply, answer) = oneshot::channel();
                let inbound = Inbound { peer, request, channel: Reply::Stream(reply) };
                match events.try_send(NetEvent::Request(inbound)) {
                    // The node drops the reply only when it stops.
                    Ok(()) => match answer.await {
                        Ok(answer) => answer,
                        Err(_) => break,
                    },
                    // Finish local work before taking more from peers.
                    Err(_) => refuse("busy", "try again later".into()),
                }
            }
        };
        let Ok(bytes) = serde_json::to_vec(&answer) else { break };
        if write_frame(&mut stream, &bytes).await.is_err() {
            break;
        }
        traffic.bytes_sent.inc_by(bytes.len() as u64 + 4);
    }
    let _ = stream.close().await;
    peer
}
