//! The peer-to-peer side: one task owns the libp2p `Swarm` and talks to the
//! rest of the node through bounded channels.
//!
//! [`Network`] is the cheap handle the node holds: it sends [`Command`]s to
//! the event loop and, for requests, awaits the answer on a oneshot channel.
//! Requests from peers and connection changes arrive as [`NetEvent`]s on
//! the channel given to [`Network::start`]; the node answers each request
//! through [`Network::respond`]. Every outbound request ends, with its
//! answer or a failure (the request-response timeout included), so no
//! pending entry is left behind.
//!
//! The loop also keeps peers' [`Reputation`]: the node reports what a peer
//! sent that failed a check, and a peer past the threshold is disconnected
//! and refused for a while. Bootstrap peers are re-dialled while
//! disconnected; Kademlia (server mode, own protocol name, fed from
//! identify) finds the addresses of other nodes.

use crate::metrics::Metrics;
use crate::reputation::{self, Reputation};
use accord_proto::SecretKey;
use accord_proto::federation::{self, FedRequest, FedResponse};
use futures::StreamExt;
pub use libp2p::PeerId;
use libp2p::core::transport::{MemoryTransport, OptionalTransport, Transport as _};
use libp2p::core::upgrade;
use libp2p::kad;
use libp2p::metrics::Recorder;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{
    Multiaddr, StreamProtocol, Swarm, allow_block_list, connection_limits, gossipsub, identify, identity, noise, ping,
    tcp, yamux,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub use behaviour::{Behaviour, BehaviourEvent};
pub use libp2p::Multiaddr as Address;

pub mod bytes_codec;
pub mod codec;
mod dht_store;
pub mod push_stream;

use accord_proto::list_page::{
    LIST_PAGES_PROTOCOL, ListPageError, ListPageRequest, ListPageResponse, MAX_PAGE_BYTES, MAX_PAGE_REQUEST_BYTES,
};
use accord_proto::media::{MEDIA_PROTOCOL, MEDIA_REQUEST_BYTES, MediaRequest, MediaResponse, MediaWireError};
use bytes_codec::BytesCodec;
use codec::{FedCodec, Wire};

mod behaviour {
    #![allow(missing_docs, reason = "the derive generates an undocumented event enum")]
    use super::bytes_codec::BytesCodec;
    use super::codec::FedCodec;
    use super::dht_store::DhtStore;
    use super::push_stream;
    use libp2p::kad;
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::{allow_block_list, connection_limits, gossipsub, identify, ping, request_response};

    /// The node's libp2p behaviour.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
        pub(super) limits: connection_limits::Behaviour,
        pub(super) identify: identify::Behaviour,
        pub(super) ping: ping::Behaviour,
        pub(super) kad: kad::Behaviour<DhtStore>,
        pub(super) federation: request_response::Behaviour<FedCodec>,
        pub(super) push: push_stream::Behaviour,
        pub(super) media: request_response::Behaviour<BytesCodec>,
        pub(super) pages: request_response::Behaviour<BytesCodec>,
        pub(super) gossipsub: gossipsub::Behaviour,
    }
}

/// Incoming connections being set up at once.
const MAX_PENDING_INCOMING: u32 = 64;
/// Established connections per peer.
const MAX_PER_PEER: u32 = 4;
/// Requests from peers waiting for the node to answer; more are refused
/// with `busy` rather than queued.
pub const INBOUND_QUEUE: usize = 256;
/// How long a request to a peer may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Media requests from peers waiting for the node to answer; more are
/// answered `rate_limited` at once.
pub const MEDIA_INBOUND_QUEUE: usize = 64;
/// List page requests one connection may have open at once.
const PAGES_CONCURRENT_STREAMS: usize = 16;

/// The gossip topics every node subscribes to: a few fixed ones (spec/federation.md §1.3).
pub const GOSSIP_TOPICS: [&str; 4] =
    [federation::LISTS_TOPIC, federation::EQUIVOCATION_TOPIC, federation::MANIFESTS_TOPIC, federation::DELETIONS_TOPIC];

/// Gossipsub for a small federation: messages signed by their author node,
/// checked by the node before they are forwarded, ids by content (the same
/// announcement from two paths is one message), and peer scoring that
/// punishes invalid messages but not quiet topics or shared addresses.
fn gossip_behaviour(key: &identity::Keypair) -> Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let config = gossipsub::ConfigBuilder::default()
        .validate_messages()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .max_transmit_size(federation::MAX_GOSSIP_BYTES)
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(accord_proto::Sha256Hash::digest_parts(&[&m.data]).0.to_vec())
        })
        .mesh_n_low(2)
        .mesh_n(4)
        .mesh_n_high(8)
        .mesh_outbound_min(1)
        .heartbeat_interval(Duration::from_millis(500))
        .build()?;
    let mut behaviour = gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)?;
    let mut params = gossipsub::PeerScoreParams { ip_colocation_factor_weight: 0.0, ..Default::default() };
    for topic in GOSSIP_TOPICS {
        let topic_params = gossipsub::TopicScoreParams {
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: -100.0,
            ..Default::default()
        };
        params.topics.insert(gossipsub::IdentTopic::new(topic).hash(), topic_params);
    }
    behaviour.with_peer_score(params, gossipsub::PeerScoreThresholds::default())?;
    Ok(behaviour)
}

/// Identify protocol version of Accord nodes.
const PROTOCOL_VERSION: &str = "/accord/1.0.0";
/// Kademlia protocol name of Accord nodes.
const KAD_PROTOCOL: &str = "/accord/kad/1.0.0";
/// How often disconnected bootstrap peers are dialled again and blocks
/// are expired.
const REDIAL_EVERY: Duration = Duration::from_secs(5);
/// How long a peer that crossed the reputation threshold stays connected,
/// so that the answer explaining why (written just before) reaches it.
const CUT_OFF_AFTER: Duration = Duration::from_millis(500);
/// How often the Kademlia routing table is refreshed, at most. Right after
/// start it is refreshed after 1 s, then 2, 4, … : peers that started at
/// the same moment find each other in seconds, not after a full period.
/// One refresh is a lookup per bucket, so it is not repeated while one is
/// under way, nor on every change of the routing table.
const KAD_BOOTSTRAP_EVERY: Duration = Duration::from_secs(300);
/// How often each connection is pinged: every connection costs both ends
/// a ping per period, and a node of a large federation holds hundreds.
const PING_EVERY: Duration = Duration::from_secs(60);
/// Connections carrying no stream stay open this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How often Kademlia republishes the provider records of this node's
/// rooms (spec/federation.md §1.4).
const REPROVIDE_EVERY: Duration = Duration::from_secs(3600);
/// How long a provider record lives in other nodes' stores unless
/// republished.
const PROVIDER_TTL: Duration = Duration::from_secs(4 * 3600);
/// Most keys this node provides, and most records it keeps for others.
const MAX_DHT_RECORDS: usize = 65_536;

/// `delay` stretched or shrunk by up to a quarter, at random: nodes that
/// started together (a federation restarted after an upgrade) do not all
/// refresh their routing tables in the same instant.
fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(0.75 + fastrand::f64() / 2.0)
}

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
    /// The peer does not speak the protocol asked (an older node).
    #[error("{peer} does not speak the protocol")]
    Unsupported {
        /// The peer.
        peer: PeerId,
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
    pub channel: Reply,
}

/// Where the answer to a peer's request goes: the request's own stream of
/// `/accord/federation/1`, or the push stream it came on.
pub enum Reply {
    /// A request of `/accord/federation/1`, answered through the event loop.
    Request(ResponseChannel<FedResponse>),
    /// A request on a push stream, answered to the stream's task.
    Stream(oneshot::Sender<FedResponse>),
}

/// A peer's request for a piece of a blob, for the node to answer with
/// [`Network::respond_media`].
pub struct MediaInbound {
    /// The peer that asked.
    pub peer: PeerId,
    /// What it asked, or why that does not decode.
    pub request: Result<MediaRequest, MediaWireError>,
    /// Where the answer goes.
    pub channel: ResponseChannel<Vec<u8>>,
}

/// A peer's request for a page of a list's leaves
/// (`/accord/list-pages/1`), for the node to answer with
/// [`Network::respond_page`].
pub struct PageInbound {
    /// The peer that asked.
    pub peer: PeerId,
    /// What it asked, or why that does not decode.
    pub request: Result<ListPageRequest, ListPageError>,
    /// Where the answer goes.
    pub channel: ResponseChannel<Vec<u8>>,
}

/// A gossip message for the node to judge with [`Network::validate`].
pub struct Gossip {
    /// The topic.
    pub topic: String,
    /// The peer that forwarded it.
    pub source: PeerId,
    /// Its id (for the verdict).
    pub id: gossipsub::MessageId,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// What the network tells the node.
pub enum NetEvent {
    /// A gossip message arrived; it is forwarded only once the node
    /// accepts it.
    Gossip(Gossip),
    /// A peer asks something.
    Request(Inbound),
    /// A peer asks for a piece of a blob.
    Media(MediaInbound),
    /// A peer asks for a page of a list's leaves.
    Page(PageInbound),
    /// The first connection to a peer was established.
    Connected(PeerId),
    /// The last connection to a peer closed.
    Disconnected(PeerId),
    /// A peer's misbehaviour crossed the threshold: it is blocked for
    /// [`reputation::BLOCK_FOR`] (kept in the store, to survive a restart).
    Banned(PeerId),
}

/// Commands to the network task.
pub enum Command {
    /// Send a push, on the peer's push stream where it has one, and
    /// report the answer.
    Push {
        /// The peer.
        peer: PeerId,
        /// The push (boxed: requests are large).
        request: Box<FedRequest>,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<FedResponse, NetworkError>>,
    },
    /// Send a request and report the answer.
    Request {
        /// The peer.
        peer: PeerId,
        /// The request.
        request: Box<FedRequest>,
        /// Where the answer or failure goes.
        reply: oneshot::Sender<Result<FedResponse, NetworkError>>,
    },
    /// Ask a peer for a piece of a blob.
    MediaRequest {
        /// The peer.
        peer: PeerId,
        /// The request.
        request: MediaRequest,
        /// Where the answer or failure goes.
        reply: oneshot::Sender<Result<MediaResponse, NetworkError>>,
    },
    /// Answer a peer's media request.
    MediaRespond {
        /// The request's channel.
        channel: ResponseChannel<Vec<u8>>,
        /// The answer.
        response: MediaResponse,
    },
    /// Ask a peer for a page of a list's leaves.
    PageRequest {
        /// The peer.
        peer: PeerId,
        /// The request.
        request: ListPageRequest,
        /// Where the answer's bytes (decoded by the caller) or the failure go.
        reply: oneshot::Sender<Result<Vec<u8>, NetworkError>>,
    },
    /// Answer a peer's request for a page.
    PageRespond {
        /// The request's channel.
        channel: ResponseChannel<Vec<u8>>,
        /// The answer.
        response: ListPageResponse,
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
    /// Publish on a gossip topic.
    Publish {
        /// The topic.
        topic: String,
        /// The message.
        data: Vec<u8>,
    },
    /// The node's verdict on a gossip message.
    Validate {
        /// The message.
        id: gossipsub::MessageId,
        /// The peer that forwarded it.
        source: PeerId,
        /// Whether it is valid.
        valid: bool,
    },
    /// Count a refusal with this code against a peer.
    Penalize {
        /// The peer.
        peer: PeerId,
        /// The refusal's code (see [`reputation::weight`]).
        code: String,
    },
    /// Refuse and drop every connection to a peer until
    /// [`Command::Unblock`] (the operator's firewall, `/admin/peers/block`).
    Block(PeerId),
    /// Lift an operator's block and dial the peer again.
    Unblock(PeerId),
    /// Report the peers the operator blocked.
    Blocked(oneshot::Sender<Vec<PeerId>>),
    /// Report the reputation of the peers connected, scored or blocked.
    Reputation(oneshot::Sender<Vec<PeerReputation>>),
    /// Blocks kept from before a restart: the operator's, and those peers
    /// earned with how long each has left.
    Restore {
        /// The operator's blocks.
        operator: Vec<PeerId>,
        /// Earned blocks and the time each has left.
        earned: Vec<(PeerId, Duration)>,
    },
    /// Announce this node as a provider of a key in the DHT (a room it
    /// hosts, spec/federation.md §1.4); Kademlia republishes it, and if
    /// the routing table is empty, it is announced again once it is not.
    Provide(Vec<u8>),
    /// Stop announcing a key.
    StopProviding(Vec<u8>),
    /// Look up the providers of a key in the DHT: the first ones found
    /// that are not blocked (dialled at once), or none when the lookup
    /// ends without any.
    FindProviders {
        /// The key.
        key: Vec<u8>,
        /// Where the providers go.
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    /// Stop the event loop.
    Shutdown,
}

/// What the network knows of one peer's conduct (spec/federation.md §4, §9).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerReputation {
    /// The peer.
    pub peer: PeerId,
    /// A connection to it is open.
    pub connected: bool,
    /// Its misbehaviour score now.
    pub score: f64,
    /// Cut off for misbehaving, for a while.
    pub penalized: bool,
    /// Blocked by the operator.
    pub blocked: bool,
}

/// The transports a node's swarm speaks (noise and yamux on each stream
/// transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transports {
    /// TCP and QUIC: what a node runs with.
    Sockets,
    /// TCP, QUIC and libp2p's in-process memory transport (`/memory/PORT`),
    /// for many nodes in one process (`[testing] memory_transport`).
    WithMemory,
}

/// Handle to the running network task.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    listen_addrs: Arc<Mutex<Vec<Multiaddr>>>,
    peers: Arc<Mutex<HashSet<PeerId>>>,
    /// The event loop's task, awaited by [`Network::shutdown`].
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// The peer id a multiaddr ends with (`…/p2p/PEER_ID`).
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// The libp2p peer id of a node.
pub fn peer_id(node: &accord_proto::NodeId) -> PeerId {
    // An ed25519 node id is always a valid peer id; the fallback is never
    // taken.
    PeerId::from_bytes(&node.to_peer_id_bytes()).unwrap_or_else(|_| PeerId::random())
}

/// The node id of a peer (None for peers whose key is not ed25519).
pub fn node_id(peer: &PeerId) -> Option<accord_proto::NodeId> {
    accord_proto::NodeId::from_peer_id_bytes(&peer.to_bytes()).ok()
}

impl Network {
    /// Builds the swarm from the node key with `transports`, accepting at
    /// most `max_incoming` established incoming connections, listens on
    /// `listen`, dials `bootstrap`, and spawns the event loop. Requests from peers and
    /// connection changes are delivered on `events`.
    pub async fn start(
        key: &SecretKey,
        listen: &[String],
        bootstrap: &[String],
        transports: Transports,
        max_incoming: u32,
        events: mpsc::Sender<NetEvent>,
        metrics: Arc<Metrics>,
    ) -> Result<Network, NetworkError> {
        let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
        let keypair = identity::Keypair::ed25519_from_bytes(*key.to_seed()).map_err(|e| setup(&e))?;
        let protocol = StreamProtocol::new(federation::PROTOCOL);
        let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
            .map_err(|e| setup(&e))?
            .with_quic()
            .with_other_transport(|k| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                Ok(match transports {
                    Transports::Sockets => OptionalTransport::none(),
                    Transports::WithMemory => OptionalTransport::some(
                        MemoryTransport::default()
                            .upgrade(upgrade::Version::V1)
                            .authenticate(noise::Config::new(k)?)
                            .multiplex(yamux::Config::default()),
                    ),
                })
            })
            .map_err(|e| setup(&e))?
            .with_behaviour(|k| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Behaviour {
                    blocked: allow_block_list::Behaviour::default(),
                    kad: {
                        let me = k.public().to_peer_id();
                        let mut config = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
                        config
                            // The event loop refreshes the table itself.
                            .set_periodic_bootstrap_interval(None)
                            .set_provider_publication_interval(Some(REPROVIDE_EVERY))
                            .set_provider_record_ttl(Some(PROVIDER_TTL));
                        let store = dht_store::DhtStore::new(me, MAX_DHT_RECORDS, MAX_DHT_RECORDS);
                        let mut kad = kad::Behaviour::with_config(me, store, config);
                        // Loopback and private networks never confirm an
                        // external address: serve the DHT regardless.
                        kad.set_mode(Some(kad::Mode::Server));
                        kad
                    },
                    gossipsub: gossip_behaviour(k)?,
                    limits: connection_limits::Behaviour::new(
                        connection_limits::ConnectionLimits::default()
                            .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                            .with_max_established_incoming(Some(max_incoming))
                            .with_max_established_per_peer(Some(MAX_PER_PEER)),
                    ),
                    identify: identify::Behaviour::new(identify::Config::new(PROTOCOL_VERSION.into(), k.public())),
                    ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_EVERY)),
                    federation: request_response::Behaviour::with_codec(
                        FedCodec::new(metrics.fed_traffic.clone()),
                        [(protocol, ProtocolSupport::Full)],
                        request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
                    ),
                    push: push_stream::Behaviour::default(),
                    media: request_response::Behaviour::with_codec(
                        BytesCodec { request_limit: MEDIA_REQUEST_BYTES, response_limit: MediaResponse::MAX_BYTES },
                        [(StreamProtocol::new(MEDIA_PROTOCOL), ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(REQUEST_TIMEOUT)
                            .with_max_concurrent_streams(MEDIA_INBOUND_QUEUE),
                    ),
                    pages: request_response::Behaviour::with_codec(
                        BytesCodec { request_limit: MAX_PAGE_REQUEST_BYTES, response_limit: MAX_PAGE_BYTES },
                        [(StreamProtocol::new(LIST_PAGES_PROTOCOL), ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(REQUEST_TIMEOUT)
                            .with_max_concurrent_streams(PAGES_CONCURRENT_STREAMS),
                    ),
                })
            })
            .map_err(|e| setup(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
            .build();
        for addr in listen {
            let addr: Multiaddr = addr.parse().map_err(|e| setup(&format!("listen address {addr}: {e}")))?;
            // A transport error's own text is empty; its cause is in its source.
            swarm.listen_on(addr.clone()).map_err(|e| {
                let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_else(|| format!("{e:?}"));
                setup(&format!("listening on {addr}: {cause}"))
            })?;
        }
        let mut seeds = Vec::new();
        for text in bootstrap {
            let addr: Multiaddr = text.parse().map_err(|e| setup(&format!("bootstrap address {text}: {e}")))?;
            let peer = peer_of(&addr)
                .ok_or_else(|| setup(&format!("bootstrap address {text} must end with /p2p/<node id>")))?;
            swarm.add_peer_address(peer, addr.clone());
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
            if let Err(e) = swarm.dial(addr.clone()) {
                tracing::warn!("cannot dial bootstrap peer {addr}: {e}");
            }
            seeds.push((peer, addr));
        }
        for topic in GOSSIP_TOPICS {
            swarm.behaviour_mut().gossipsub.subscribe(&gossipsub::IdentTopic::new(topic)).map_err(|e| setup(&e))?;
        }
        let (commands, rx) = mpsc::channel(256);
        let network = Network { commands, listen_addrs: Arc::default(), peers: Arc::default(), task: Arc::default() };
        let libp2p_metrics = metrics.with_registry(libp2p::metrics::Metrics::new);
        let mut event_loop = EventLoop {
            swarm,
            commands: rx,
            events,
            pending: HashMap::new(),
            pending_media: HashMap::new(),
            pending_pages: HashMap::new(),
            pending_providers: HashMap::new(),
            reprovide_pending: false,
            bootstrapping: None,
            network: network.clone(),
            seeds,
            reputation: Reputation::default(),
            operator_blocked: HashSet::new(),
            cutting: Vec::new(),
            push_streams: HashMap::new(),
            push_waiting: HashMap::new(),
            push_unsupported: HashSet::new(),
            push_inbound: HashMap::new(),
            push_tasks: tokio::task::JoinSet::new(),
            metrics,
            libp2p_metrics,
        };
        // Wait briefly for the listeners to report their addresses, so the
        // node can print them.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while network.listen_addrs().len() < listen.len() {
            let Ok(Some(event)) = tokio::time::timeout_at(deadline, event_loop.swarm.next()).await else { break };
            event_loop.handle(event);
        }
        let task = tokio::spawn(event_loop.run());
        *network.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(network)
    }

    /// The addresses the node listens on.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen_addrs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of connected peers.
    pub fn peer_count(&self) -> usize {
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The connected peers.
    pub fn peers(&self) -> Vec<PeerId> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect()
    }

    /// Whether a connection to `peer` is open.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.peers.lock().unwrap_or_else(|p| p.into_inner()).contains(peer)
    }

    /// Publishes `data` on a gossip topic (best effort: peers that miss it
    /// learn the same by request-response).
    pub async fn publish(&self, topic: &str, data: Vec<u8>) -> Result<(), NetworkError> {
        self.commands.send(Command::Publish { topic: topic.into(), data }).await.map_err(|_| NetworkError::Stopped)
    }

    /// Gives the node's verdict on a gossip message: valid ones are
    /// forwarded, invalid ones count against the peer that sent them.
    pub async fn validate(&self, gossip: &Gossip, valid: bool) {
        let command = Command::Validate { id: gossip.id.clone(), source: gossip.source, valid };
        let _ = self.commands.send(command).await;
    }

    /// Counts a refusal with `code` against `peer` (see
    /// [`reputation::weight`]); enough of them disconnect and block it.
    pub async fn penalize(&self, peer: PeerId, code: &str) {
        if reputation::weight(code) > 0.0 {
            let _ = self.commands.send(Command::Penalize { peer, code: code.into() }).await;
        }
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
        self.commands
            .send(Command::Request { peer, request: Box::new(request), reply })
            .await
            .map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Asks `peer` for a piece of a blob and waits for its answer (at most
    /// the request timeout). An answer that does not decode is a failure.
    pub async fn fetch_media(&self, peer: PeerId, request: MediaRequest) -> Result<MediaResponse, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::MediaRequest { peer, request, reply }).await.map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Asks `peer` for a page of a list's leaves and waits for the answer's
    /// bytes (at most the request timeout), for the caller to decode
    /// ([`ListPageResponse::decode`]). A peer that does not speak
    /// `/accord/list-pages/1` fails with [`NetworkError::Unsupported`].
    pub async fn fetch_page(&self, peer: PeerId, request: ListPageRequest) -> Result<Vec<u8>, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::PageRequest { peer, request, reply }).await.map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)?
    }

    /// Answers a peer's request for a page.
    pub async fn respond_page(&self, channel: ResponseChannel<Vec<u8>>, response: ListPageResponse) {
        let _ = self.commands.send(Command::PageRespond { channel, response }).await;
    }

    /// Answers a peer's media request.
    pub async fn respond_media(&self, channel: ResponseChannel<Vec<u8>>, response: MediaResponse) {
        let _ = self.commands.send(Command::MediaRespond { channel, response }).await;
    }

    /// Sends a push to a peer and waits for its answer, like
    /// [`Network::request`], on the peer's push stream (opened at the
    /// first push, spec/federation.md §1.2a); to a peer that does not
    /// speak it, as a request of its own.
    ///
    /// Bounded by twice the request timeout (opening the stream, then the
    /// exchange): a push whose stream was asked of a connection that closed
    /// before opening it is given up, and the next push asks again.
    pub async fn push(&self, peer: PeerId, request: FedRequest) -> Result<FedResponse, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Push { peer, request: Box::new(request), reply })
            .await
            .map_err(|_| NetworkError::Stopped)?;
        match tokio::time::timeout(2 * REQUEST_TIMEOUT, answer).await {
            Ok(answer) => answer.map_err(|_| NetworkError::Stopped)?,
            Err(_) => Err(NetworkError::Request { peer, reason: "no push stream opened in time".into() }),
        }
    }

    /// Answers a peer's request.
    pub async fn respond(&self, channel: Reply, response: FedResponse) {
        match channel {
            Reply::Request(channel) => {
                let _ = self.commands.send(Command::Respond { channel, response }).await;
            }
            // Fails only if the stream ended meanwhile.
            Reply::Stream(reply) => {
                let _ = reply.send(response);
            }
        }
    }

    /// Refuses and drops every connection to `peer` until
    /// [`Network::unblock`]: the operator's own firewall
    /// (`POST /admin/peers/block`). Independent of the blocks that
    /// misbehaviour earns, which expire.
    pub async fn block(&self, peer: PeerId) -> Result<(), NetworkError> {
        self.commands.send(Command::Block(peer)).await.map_err(|_| NetworkError::Stopped)
    }

    /// Lifts an operator's block on `peer` and dials it again.
    pub async fn unblock(&self, peer: PeerId) -> Result<(), NetworkError> {
        self.commands.send(Command::Unblock(peer)).await.map_err(|_| NetworkError::Stopped)
    }

    /// Blocks again, after a restart, the peers the operator blocked and
    /// those that earned a block that has not ended (`earned`: each with
    /// the time it has left).
    pub async fn restore(&self, operator: Vec<PeerId>, earned: Vec<(PeerId, Duration)>) -> Result<(), NetworkError> {
        self.commands.send(Command::Restore { operator, earned }).await.map_err(|_| NetworkError::Stopped)
    }

    /// The peers the operator blocked.
    pub async fn blocked(&self) -> Result<Vec<PeerId>, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Blocked(reply)).await.map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }

    /// The reputation of every peer connected, with a score, or blocked,
    /// sorted by peer.
    pub async fn reputation(&self) -> Result<Vec<PeerReputation>, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Reputation(reply)).await.map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }

    /// Announces this node in the DHT as a provider of `key` (spec/federation.md §1.4).
    pub async fn provide(&self, key: &[u8]) {
        let _ = self.commands.send(Command::Provide(key.to_vec())).await;
    }

    /// Stops announcing `key`; records already stored elsewhere expire.
    pub async fn stop_providing(&self, key: &[u8]) {
        let _ = self.commands.send(Command::StopProviding(key.to_vec())).await;
    }

    /// The providers of `key` the DHT knows: the first ones a lookup finds
    /// (being dialled), or none. Not bounded in time here: the caller
    /// bounds it.
    pub async fn find_providers(&self, key: &[u8]) -> Result<Vec<PeerId>, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::FindProviders { key: key.to_vec(), reply })
            .await
            .map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }

    /// Stops the event loop and waits until it has ended (its sockets
    /// closed).
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!("the network's event loop failed: {e}");
        }
    }
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<FedResponse, NetworkError>>>,
    pending_media: HashMap<OutboundRequestId, oneshot::Sender<Result<MediaResponse, NetworkError>>>,
    pending_pages: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, NetworkError>>>,
    /// DHT lookups of providers under way, and where their answer goes.
    pending_providers: HashMap<kad::QueryId, oneshot::Sender<Vec<PeerId>>>,
    /// The routing table refresh this loop started, while under way.
    bootstrapping: Option<kad::QueryId>,
    /// A key was provided while the routing table was empty: provide
    /// every key again at the next refresh that finds peers.
    reprovide_pending: bool,
    network: Network,
    seeds: Vec<(PeerId, Multiaddr)>,
    reputation: Reputation,
    /// Peers the operator blocked; never expired.
    operator_blocked: HashSet<PeerId>,
    /// Peers blocked for misbehaviour whose connections are closed at the
    /// instant given, once the answer that told them why has been sent.
    cutting: Vec<(PeerId, tokio::time::Instant)>,
    /// Each peer's push stream, by the queue of its task.
    push_streams: HashMap<PeerId, mpsc::Sender<push_stream::Exchange>>,
    /// Pushes waiting for a push stream being opened.
    push_waiting: HashMap<PeerId, Vec<push_stream::Exchange>>,
    /// Peers connected now that do not speak the push stream.
    push_unsupported: HashSet<PeerId>,
    /// Push streams each peer has open to this node.
    push_inbound: HashMap<PeerId, usize>,
    /// The push streams' tasks; a serving task returns its peer.
    push_tasks: tokio::task::JoinSet<Option<PeerId>>,
    metrics: Arc<Metrics>,
    libp2p_metrics: libp2p::metrics::Metrics,
}

impl EventLoop {
    async fn run(mut self) {
        let mut redial = tokio::time::interval(REDIAL_EVERY);
        let mut cut = tokio::time::interval(CUT_OFF_AFTER / 5);
        let mut kad_delay = Duration::from_secs(1);
        let kad_refresh = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(kad_refresh);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.command(command),
                },
                Some(ended) = self.push_tasks.join_next(), if !self.push_tasks.is_empty() => {
                    if let Ok(Some(peer)) = ended {
                        self.push_served(peer);
                    }
                }
                _ = redial.tick() => self.redial(),
                _ = cut.tick(), if !self.cutting.is_empty() => self.cut_off_due(),
                () = &mut kad_refresh => {
                    if self.bootstrapping.is_none() {
                        // Fails only while the routing table is empty.
                        self.bootstrapping = self.swarm.behaviour_mut().kad.bootstrap().ok();
                    }
                    if self.reprovide_pending && self.routing_table_filled() {
                        // Keys provided while the table was empty reached
                        // nobody: announce them now that it has peers.
                        self.reprovide_pending = false;
                        self.reprovide();
                    }
                    kad_refresh.as_mut().reset(tokio::time::Instant::now() + jittered(kad_delay));
                    kad_delay = (kad_delay * 2).min(KAD_BOOTSTRAP_EVERY);
                }
            }
        }
    }

    /// Whether the Kademlia routing table holds any peer.
    fn routing_table_filled(&mut self) -> bool {
        self.swarm.behaviour_mut().kad.kbuckets().any(|bucket| bucket.num_entries() > 0)
    }

    /// Announces again every key this node provides.
    fn reprovide(&mut self) {
        let kad = &mut self.swarm.behaviour_mut().kad;
        let keys: Vec<kad::RecordKey> = {
            use kad::store::RecordStore as _;
            kad.store_mut().provided().map(|r| r.key.clone()).collect()
        };
        for key in keys {
            if let Err(e) = kad.start_providing(key) {
                tracing::warn!("announcing a room in the DHT: {e}");
            }
        }
    }

    /// Dials bootstrap peers that are not connected and lifts expired
    /// blocks.
    fn redial(&mut self) {
        for peer in self.reputation.expire(Instant::now()) {
            if !self.operator_blocked.contains(&peer) {
                self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                tracing::info!("peer {peer} is no longer blocked");
            }
        }
        self.metrics.fed_blocked.set(self.reputation.blocked_count() as i64);
        for (peer, addr) in self.seeds.clone() {
            let blocked = self.reputation.is_blocked(&peer) || self.operator_blocked.contains(&peer);
            if !self.swarm.is_connected(&peer) && !blocked {
                let _ = self.swarm.dial(addr);
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Push { peer, request, reply } => self.push(peer, request, reply),
            Command::Request { peer, request, reply } => {
                let id = self.swarm.behaviour_mut().federation.send_request(&peer, Wire::Valid(*request));
                self.pending.insert(id, reply);
            }
            Command::MediaRequest { peer, request, reply } => {
                let id = self.swarm.behaviour_mut().media.send_request(&peer, request.encode().to_vec());
                self.pending_media.insert(id, reply);
            }
            Command::MediaRespond { channel, response } => {
                // Fails only if the peer went away meanwhile.
                let _ = self.swarm.behaviour_mut().media.send_response(channel, response.encode());
            }
            Command::PageRequest { peer, request, reply } => {
                let id = self.swarm.behaviour_mut().pages.send_request(&peer, request.encode());
                self.pending_pages.insert(id, reply);
            }
            Command::PageRespond { channel, response } => {
                // Fails only if the peer went away meanwhile.
                let _ = self.swarm.behaviour_mut().pages.send_response(channel, response.encode());
            }
            Command::Respond { channel, response } => {
                // Fails only if the peer went away meanwhile.
                let _ = self.swarm.behaviour_mut().federation.send_response(channel, response);
            }
            Command::Dial(addr) => {
                if let Some(peer) = peer_of(&addr) {
                    self.swarm.add_peer_address(peer, addr.clone());
                }
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!("cannot dial {addr}: {e}");
                }
            }
            Command::Penalize { peer, code } => self.penalize(peer, &code),
            Command::Publish { topic, data } => {
                let topic = gossipsub::IdentTopic::new(topic);
                if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
                    tracing::debug!("gossip not published: {e}");
                }
            }
            Command::Validate { id, source, valid } => {
                let verdict =
                    if valid { gossipsub::MessageAcceptance::Accept } else { gossipsub::MessageAcceptance::Reject };
                self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &source, verdict);
                if !valid {
                    self.penalize(source, "bad_gossip");
                }
            }
            Command::Block(peer) => {
                tracing::info!("operator blocked peer {peer}");
                self.operator_blocked.insert(peer);
                // Closes the open connections too.
                self.swarm.behaviour_mut().blocked.block_peer(peer);
            }
            Command::Unblock(peer) => {
                if self.operator_blocked.remove(&peer) && !self.reputation.is_blocked(&peer) {
                    tracing::info!("operator unblocked peer {peer}");
                    self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                    // Fails only when no address of the peer is known; the
                    // DHT and redials find it later then.
                    let _ = self.swarm.dial(peer);
                }
            }
            Command::Blocked(reply) => {
                let mut peers: Vec<PeerId> = self.operator_blocked.iter().copied().collect();
                peers.sort();
                let _ = reply.send(peers);
            }
            Command::Reputation(reply) => {
                let now = Instant::now();
                let mut peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                peers.extend(self.reputation.known());
                peers.extend(self.operator_blocked.iter().copied());
                peers.sort();
                peers.dedup();
                let report = peers
                    .into_iter()
                    .map(|peer| PeerReputation {
                        peer,
                        connected: self.swarm.is_connected(&peer),
                        score: self.reputation.score(&peer, now),
                        penalized: self.reputation.is_blocked(&peer),
                        blocked: self.operator_blocked.contains(&peer),
                    })
                    .collect();
                let _ = reply.send(report);
            }
            Command::Restore { operator, earned } => {
                for peer in operator {
                    self.operator_blocked.insert(peer);
                    self.swarm.behaviour_mut().blocked.block_peer(peer);
                }
                for (peer, left) in earned {
                    self.reputation.restore(peer, Instant::now() + left);
                    self.swarm.behaviour_mut().blocked.block_peer(peer);
                }
                self.metrics.fed_blocked.set(self.reputation.blocked_count() as i64);
            }
            Command::Provide(key) => {
                let key = kad::RecordKey::new(&key);
                let provided = {
                    use kad::store::RecordStore as _;
                    self.swarm.behaviour_mut().kad.store_mut().provided().any(|r| r.key == key)
                };
                // Already announced: Kademlia republishes it.
                if provided {
                    return;
                }
                if !self.routing_table_filled() {
                    self.reprovide_pending = true;
                }
                if let Err(e) = self.swarm.behaviour_mut().kad.start_providing(key) {
                    tracing::warn!("announcing a room in the DHT: {e}");
                }
            }
            Command::StopProviding(key) => self.swarm.behaviour_mut().kad.stop_providing(&kad::RecordKey::new(&key)),
            Command::FindProviders { key, reply } => {
                let id = self.swarm.behaviour_mut().kad.get_providers(kad::RecordKey::new(&key));
                self.pending_providers.insert(id, reply);
            }
            Command::Shutdown => {}
        }
    }

    /// A step of a provider lookup: the first providers found are dialled
    /// at once (the addresses the lookup learnt are known only while it
    /// runs) and answered; a lookup that ends without any answers none.
    fn providers_found(&mut self, id: kad::QueryId, result: kad::GetProvidersResult, last: bool) {
        let me = *self.swarm.local_peer_id();
        let providers: Vec<PeerId> = match result {
            Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => providers
                .into_iter()
                .filter(|p| *p != me && !self.reputation.is_blocked(p) && !self.operator_blocked.contains(p))
                .collect(),
            Ok(kad::GetProvidersOk::FinishedWithNoAdditionalRecord { .. }) | Err(_) => Vec::new(),
        };
        if providers.is_empty() {
            // Ended: no step found anyone (a step that did was answered).
            if last && let Some(reply) = self.pending_providers.remove(&id) {
                let _ = reply.send(Vec::new());
            }
            return;
        }
        let Some(reply) = self.pending_providers.remove(&id) else { return };
        for peer in &providers {
            if !self.swarm.is_connected(peer) {
                // Fails only when no address is known; the request that
                // follows looks the peer up then.
                let _ = self.swarm.dial(*peer);
            }
        }
        let _ = reply.send(providers);
        if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
            query.finish();
        }
    }

    /// Counts `code` against `peer`. A peer that crosses the threshold is
    /// blocked: it is cut off [`CUT_OFF_AFTER`] later, so that the answer
    /// to the request that took it over (sent before this is called)
    /// still reaches it, and it is refused from then on.
    fn penalize(&mut self, peer: PeerId, code: &str) {
        if self.reputation.penalize(peer, reputation::weight(code), Instant::now()) {
            tracing::warn!("peer {peer} misbehaved (last: {code}): disconnected and blocked");
            self.cutting.push((peer, tokio::time::Instant::now() + CUT_OFF_AFTER));
            self.metrics.fed_blocked.set(self.reputation.blocked_count() as i64);
            // Kept by the node, so that a restart does not lift it. A full
            // queue loses only that: the block itself holds.
            let _ = self.events.try_send(NetEvent::Banned(peer));
        }
    }

    /// Cuts off the blocked peers whose grace has passed.
    fn cut_off_due(&mut self) {
        let now = tokio::time::Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.cutting.drain(..).partition(|(_, at)| *at <= now);
        self.cutting = later;
        for (peer, _) in due {
            // Still blocked: an expiry meanwhile lifted it (never within
            // the grace, but the check costs nothing).
            if self.reputation.is_blocked(&peer) {
                self.swarm.behaviour_mut().blocked.block_peer(peer);
            }
        }
    }

    fn set_peers(&self) {
        let peers: HashSet<PeerId> = self.swarm.connected_peers().copied().collect();
        self.metrics.fed_peers.set(peers.len() as i64);
        *self.network.peers.lock().unwrap_or_else(|p| p.into_inner()) = peers;
    }

    fn handle(&mut self, event: SwarmEvent<BehaviourEvent>) {
        self.libp2p_metrics.record(&event);
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!("p2p listening on {address}");
                self.network.listen_addrs.lock().unwrap_or_else(|p| p.into_inner()).push(address);
            }
            SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } => {
                tracing::debug!("connected to {peer_id}");
                self.set_peers();
                if num_established.get() == 1 {
                    let _ = self.events.try_send(NetEvent::Connected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                tracing::debug!("disconnected from {peer_id}");
                self.set_peers();
                if num_established == 0 {
                    self.push_streams.remove(&peer_id);
                    self.push_unsupported.remove(&peer_id);
                    self.push_unsent(peer_id);
                    let _ = self.events.try_send(NetEvent::Disconnected(peer_id));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => {
                self.libp2p_metrics.record(&event);
                if let identify::Event::Received { peer_id, info, .. } = event {
                    // Only peers that serve the DHT go into its routing
                    // table, so that lookups lead to Accord nodes.
                    let serves_kad = info.protocols.iter().any(|p| p.as_ref() == KAD_PROTOCOL);
                    for addr in info.listen_addrs {
                        self.swarm.add_peer_address(peer_id, addr.clone());
                        if serves_kad {
                            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => {
                self.libp2p_metrics.record(&event);
                match event {
                    kad::Event::OutboundQueryProgressed {
                        result: kad::QueryResult::GetClosestPeers(Ok(ok)), ..
                    } => {
                        for info in ok.peers {
                            for addr in info.addrs {
                                self.swarm.add_peer_address(info.peer_id, addr);
                            }
                        }
                    }
                    kad::Event::OutboundQueryProgressed {
                        id, result: kad::QueryResult::Bootstrap(_), step, ..
                    } if step.last && self.bootstrapping == Some(id) => self.bootstrapping = None,
                    kad::Event::OutboundQueryProgressed {
                        id,
                        result: kad::QueryResult::GetProviders(result),
                        step,
                        ..
                    } => self.providers_found(id, result, step.last),
                    _ => {}
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(event)) => self.libp2p_metrics.record(&event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => {
                self.libp2p_metrics.record(&event);
                if let gossipsub::Event::Message { propagation_source, message_id, message } = event {
                    let gossip = Gossip {
                        topic: message.topic.to_string(),
                        source: propagation_source,
                        id: message_id,
                        data: message.data,
                    };
                    if let Err(full) = self.events.try_send(NetEvent::Gossip(gossip)) {
                        // The node is behind: neither forward nor punish.
                        if let NetEvent::Gossip(g) = full.into_inner() {
                            let ignore = gossipsub::MessageAcceptance::Ignore;
                            self.swarm
                                .behaviour_mut()
                                .gossipsub
                                .report_message_validation_result(&g.id, &g.source, ignore);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Federation(event)) => self.federation(event),
            SwarmEvent::Behaviour(BehaviourEvent::Push(event)) => self.push_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Media(event)) => self.media(event),
            SwarmEvent::Behaviour(BehaviourEvent::Pages(event)) => self.pages(event),
            _ => {}
        }
    }

    fn media(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    let inbound = MediaInbound { peer, request: MediaRequest::decode(&request), channel };
                    if let Err(full) = self.events.try_send(NetEvent::Media(inbound))
                        && let NetEvent::Media(MediaInbound { channel, .. }) = full.into_inner()
                    {
                        let busy = MediaResponse::RateLimited.encode();
                        let _ = self.swarm.behaviour_mut().media.send_response(channel, busy);
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending_media.remove(&request_id) {
                        let answer = MediaResponse::decode(&response)
                            .map_err(|e| NetworkError::Request { peer, reason: e.to_string() });
                        let _ = reply.send(answer);
                    }
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.pending_media.remove(&request_id) {
                    let _ = reply.send(Err(NetworkError::Request { peer, reason: error.to_string() }));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!("media request from {peer} failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn pages(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request { request, channel, .. } => {
                    let inbound = PageInbound { peer, request: ListPageRequest::decode(&request), channel };
                    if let Err(full) = self.events.try_send(NetEvent::Page(inbound))
                        && let NetEvent::Page(PageInbound { channel, .. }) = full.into_inner()
                    {
                        let busy = ListPageResponse::error("busy", "try again later").encode();
                        let _ = self.swarm.behaviour_mut().pages.send_response(channel, busy);
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending_pages.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.pending_pages.remove(&request_id) {
                    let failure = match error {
                        request_response::OutboundFailure::UnsupportedProtocols => NetworkError::Unsupported { peer },
                        error => NetworkError::Request { peer, reason: error.to_string() },
                    };
                    let _ = reply.send(Err(failure));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!("list page request from {peer} failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Sends a push on the peer's push stream, opening one if there is
    /// none; as a request of its own to a peer that is not connected (the
    /// request dials it) or does not speak the push stream.
    fn push(
        &mut self,
        peer: PeerId,
        request: Box<FedRequest>,
        reply: oneshot::Sender<Result<FedResponse, NetworkError>>,
    ) {
        if self.push_unsupported.contains(&peer) || !self.swarm.is_connected(&peer) {
            return self.command(Command::Request { peer, request, reply });
        }
        let (request, reply) = match self.push_streams.get(&peer) {
            None => (request, reply),
            Some(queue) => match queue.try_send((request, reply)) {
                Ok(()) => return,
                // The stream's queue is full: this one goes on its own.
                Err(mpsc::error::TrySendError::Full((request, reply))) => {
                    return self.command(Command::Request { peer, request, reply });
                }
                Err(mpsc::error::TrySendError::Closed(exchange)) => {
                    self.push_streams.remove(&peer);
                    exchange
                }
            },
        };
        let waiting = self.push_waiting.entry(peer).or_default();
        // Pushes given up on while waiting (their stream was asked of a
        // connection that closed first): the stream is asked for again.
        waiting.retain(|(_, reply)| !reply.is_closed());
        waiting.push((request, reply));
        if waiting.len() == 1 {
            self.swarm.behaviour_mut().push.open(peer);
        }
    }

    /// Sends the pushes waiting for a push stream to `peer` as requests of
    /// their own.
    fn push_unsent(&mut self, peer: PeerId) {
        for (request, reply) in self.push_waiting.remove(&peer).unwrap_or_default() {
            self.command(Command::Request { peer, request, reply });
        }
    }

    /// A serving task's stream to `peer` ended.
    fn push_served(&mut self, peer: PeerId) {
        if let Some(open) = self.push_inbound.get_mut(&peer) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                self.push_inbound.remove(&peer);
            }
        }
    }

    fn push_event(&mut self, event: push_stream::Event) {
        match event {
            push_stream::Event::Outbound { peer, stream } => {
                let (queue, requests) = mpsc::channel(push_stream::QUEUE);
                let mut overflow = Vec::new();
                for exchange in self.push_waiting.remove(&peer).unwrap_or_default() {
                    if let Err(refused) = queue.try_send(exchange) {
                        overflow.push(refused.into_inner());
                    }
                }
                self.push_streams.insert(peer, queue);
                self.metrics.fed_push_streams_opened.inc();
                let metrics = self.metrics.clone();
                self.push_tasks.spawn(async move {
                    push_stream::drive(peer, stream, requests, metrics, REQUEST_TIMEOUT).await;
                    None
                });
                for (request, reply) in overflow {
                    self.command(Command::Request { peer, request, reply });
                }
            }
            push_stream::Event::Inbound { peer, stream } => {
                let open = self.push_inbound.entry(peer).or_default();
                if *open >= push_stream::MAX_INBOUND_PER_PEER {
                    // Dropped: the peer's own pushes go on the streams it
                    // has, or as requests of their own.
                    tracing::debug!("{peer} opened more push streams than {}", push_stream::MAX_INBOUND_PER_PEER);
                    return;
                }
                *open += 1;
                let (events, network, metrics) = (self.events.clone(), self.network.clone(), self.metrics.clone());
                self.push_tasks
                    .spawn(async move { Some(push_stream::serve(peer, stream, events, network, metrics).await) });
            }
            push_stream::Event::Unsupported { peer } => {
                self.push_unsupported.insert(peer);
                self.push_unsent(peer);
            }
            push_stream::Event::Failed { peer, reason } => {
                tracing::debug!("no push stream to {peer}: {reason}");
                self.push_unsent(peer);
            }
        }
    }

    fn federation(&mut self, event: request_response::Event<Wire, FedResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request: Wire::Invalid { code, detail, fault }, channel, ..
                } => {
                    tracing::debug!("unreadable request from {peer}: {detail}");
                    self.metrics.fed_reject(code);
                    let refusal = FedResponse::Error { code: code.into(), message: detail };
                    let _ = self.swarm.behaviour_mut().federation.send_response(channel, refusal);
                    // A request the peer gave up on before writing it (its
                    // own timeout) is no fault of the peer.
                    if fault {
                        self.penalize(peer, "bad_frame");
                    }
                }
                request_response::Message::Request { request: Wire::Valid(request), channel, .. } => {
                    let channel = Reply::Request(channel);
                    if let Err(refused) = self.events.try_send(NetEvent::Request(Inbound { peer, request, channel })) {
                        // Finish local work before taking more from peers:
                        // when the node is behind, say so at once.
                        if let NetEvent::Request(Inbound { channel: Reply::Request(channel), .. }) =
                            refused.into_inner()
                        {
                            let busy = FedResponse::Error { code: "busy".into(), message: "try again later".into() };
                            let _ = self.swarm.behaviour_mut().federation.send_response(channel, busy);
                        }
                    }
                }
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if matches!(error, request_response::OutboundFailure::DialFailure) {
                    // Look the peer up: the next attempt may know where it is.
                    self.swarm.behaviour_mut().kad.get_closest_peers(peer);
                }
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
