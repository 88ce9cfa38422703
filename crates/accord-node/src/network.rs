//! The peer-to-peer side: one task owns the libp2p `Swarm` and talks to the
//! rest of the node through bounded channels.
//!
//! [`Network`] is the cheap handle the node holds: it sends [`Command`]s to
//! the event loop and, for requests, awaits the answer on a oneshot channel.
//! Requests from peers arrive on the [`Inbound`] channel given to
//! [`Network::start`]; the node answers each through [`Network::respond`].
//! Every outbound request ends, with its answer or a failure (the
//! request-response timeout included), so no pending entry is left behind.

use accord_proto::SecretKey;
use accord_proto::federation::{self, FedRequest, FedResponse};
use futures::StreamExt;
pub use libp2p::PeerId;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol, Swarm, connection_limits, identify, identity, noise, ping, tcp, yamux};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub use behaviour::{Behaviour, BehaviourEvent};
pub use libp2p::Multiaddr as Address;

mod behaviour {
    #![allow(missing_docs, reason = "the derive generates an undocumented event enum")]
    use accord_proto::federation::{FedRequest, FedResponse};
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{connection_limits, identify, ping, request_response};

    /// The node's libp2p behaviour.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        pub(super) limits: connection_limits::Behaviour,
        pub(super) identify: identify::Behaviour,
        pub(super) ping: ping::Behaviour,
        pub(super) federation: request_response::json::Behaviour<FedRequest, FedResponse>,
    }
}

/// Incoming connections being set up at once.
const MAX_PENDING_INCOMING: u32 = 64;
/// Established incoming connections.
const MAX_INCOMING: u32 = 512;
/// Established connections per peer.
const MAX_PER_PEER: u32 = 4;
/// Requests from peers waiting for the node to answer; more are refused
/// with `busy` rather than queued.
pub const INBOUND_QUEUE: usize = 256;
/// How long a request to a peer may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Identify protocol version of Accord nodes.
const PROTOCOL_VERSION: &str = "/accord/1.0.0";

/// Why the network could not start or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The key, a transport or an address was refused.
    #[error("{0}")]
    Setup(String),
    /// A request to a peer failed (dial, timeout, closed connection, …).
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer.
        peer: PeerId,
        /// What went wrong.
        reason: String,
    },
    /// The event loop has stopped.
    #[error("the network has stopped")]
    Stopped,
}

/// A request from a peer, for the node to answer with [`Network::respond`].
pub struct Inbound {
    /// The peer that asked.
    pub peer: PeerId,
    /// What it asked.
    pub request: FedRequest,
    /// Where the answer goes.
    pub channel: ResponseChannel<FedResponse>,
}

/// Commands to the network task.
pub enum Command {
    /// Send a request and report the answer.
    Request {
        /// The peer.
        peer: PeerId,
        /// The request.
        request: FedRequest,
        /// Where the answer or failure goes.
        reply: oneshot::Sender<Result<FedResponse, NetworkError>>,
    },
    /// Answer a peer's request.
    Respond {
        /// The request's channel.
        channel: ResponseChannel<FedResponse>,
        /// The answer.
        response: FedResponse,
    },
    /// Dial an address (ending in `/p2p/PEER_ID`).
    Dial(Multiaddr),
    /// Stop the event loop.
    Shutdown,
}

/// Handle to the running network task.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    listen_addrs: Arc<Mutex<Vec<Multiaddr>>>,
    peers: Arc<Mutex<usize>>,
}

impl Network {
    /// Builds the swarm from the node key, listens on `listen`, dials
    /// `bootstrap`, and spawns the event loop. Requests from peers are
    /// delivered on `inbound`.
    pub async fn start(
        key: &SecretKey,
        listen: &[String],
        bootstrap: &[String],
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Network, NetworkError> {
        let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
        let keypair = identity::Keypair::ed25519_from_bytes(*key.to_seed()).map_err(|e| setup(&e))?;
        let protocol = StreamProtocol::new(federation::PROTOCOL);
        let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| setup(&e))?
            .with_quic()
            .with_behaviour(|k| Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                        .with_max_established_incoming(Some(MAX_INCOMING))
                        .with_max_established_per_peer(Some(MAX_PER_PEER)),
                ),
                identify: identify::Behaviour::new(identify::Config::new(PROTOCOL_VERSION.into(), k.public())),
                ping: ping::Behaviour::default(),
                federation: request_response::Behaviour::with_codec(
                    request_response::json::codec::Codec::default()
                        .set_request_size_maximum(federation::MAX_REQUEST_BYTES)
                        .set_response_size_maximum(federation::MAX_RESPONSE_BYTES),
                    [(protocol, ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
                ),
            })
            .map_err(|e| setup(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        for addr in listen {
            let addr: Multiaddr = addr.parse().map_err(|e| setup(&format!("listen address {addr}: {e}")))?;
            swarm.listen_on(addr).map_err(|e| setup(&e))?;
        }
        for addr in bootstrap {
            let addr: Multiaddr = addr.parse().map_err(|e| setup(&format!("bootstrap address {addr}: {e}")))?;
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::warn!("cannot dial bootstrap peer {addr}: {e}");
            }
        }
        let (commands, rx) = mpsc::channel(256);
        let network = Network { commands, listen_addrs: Arc::default(), peers: Arc::default() };
        let mut event_loop =
            EventLoop { swarm, commands: rx, inbound, pending: HashMap::new(), network: network.clone() };
        // Wait briefly for the listeners to report their addresses, so the
        // node can print them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while network.listen_addrs().len() < listen.len() {
            let Ok(Some(event)) = tokio::time::timeout_at(deadline, event_loop.swarm.next()).await else { break };
            event_loop.handle(event);
        }
        tokio::spawn(event_loop.run());
        Ok(network)
    }

    /// The addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen_addrs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        *self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Dials a peer (`…/p2p/PEER_ID`).
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetworkError> {
        self.commands.send(Command::Dial(addr)).await.map_err(|_| NetworkError::Stopped)
    }

    /// Sends a request to a peer and waits for its answer (at most the
    /// request timeout). Cancel-safe: dropping the future abandons the
    /// answer, and the event loop forgets the request when it ends.
    pub async fn request(&self, peer: PeerId, request: FedRequest) -> Result<FedResponse, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Request { peer, request, reply }).await.map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Answers a peer's request.
    pub async fn respond(&self, channel: ResponseChannel<FedResponse>, response: FedResponse) {
        let _ = self.commands.send(Command::Respond { channel, response }).await;
    }

    /// Stops the event loop.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
    }
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    inbound: mpsc::Sender<Inbound>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<FedResponse, NetworkError>>>,
    network: Network,
}

impl EventLoop {
    async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.command(command),
                },
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Request { peer, request, reply } => {
                let id = self.swarm.behaviour_mut().federation.send_request(&peer, request);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                // Fails only if the peer went away meanwhile.
                let _ = self.swarm.behaviour_mut().federation.send_response(channel, response);
            }
            Command::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!("cannot dial {addr}: {e}");
                }
            }
            Command::Shutdown => {}
        }
    }

    fn set_peer_count(&self) {
        *self.network.peers.lock().unwrap_or_else(|p| p.into_inner()) = self.swarm.connected_peers().count();
    }

    fn handle(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!("p2p listening on {address}");
                self.network.listen_addrs.lock().unwrap_or_else(|p| p.into_inner()).push(address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                tracing::debug!("connected to {peer_id}");
                self.set_peer_count();
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                tracing::debug!("disconnected from {peer_id}");
                self.set_peer_count();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                for addr in info.listen_addrs {
                    self.swarm.add_peer_address(peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Federation(event)) => self.federation(event),
            _ => {}
        }
    }

    fn federation(&mut self, event: request_response::Event<FedRequest, FedResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    if let Err(refused) = self.inbound.try_send(Inbound { peer, request, channel }) {
                        // Finish local work before taking more from peers:
                        // when the node is behind, say so at once.
                        let Inbound { channel, .. } = refused.into_inner();
                        let busy = FedResponse::Error { code: "busy".into(), message: "try again later".into() };
                        let _ = self.swarm.behaviour_mut().federation.send_response(channel, busy);
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::Request { peer, reason: error.to_string() }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!("request from {peer} failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
