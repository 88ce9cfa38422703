//! A hostile federation peer: a real libp2p peer that tests drive to attack
//! a node over `/accord/federation/1` with crafted bytes, plus helpers to
//! craft identities and events (correct, forged or structurally odd) from
//! `accord_proto` alone.
//!
//! The peer speaks the node's transport (TCP + noise + yamux) and identify
//! with the Accord protocol version, and opens federation streams with a
//! raw codec: the request bytes are written as they are and the write side
//! is closed, exactly the framing of libp2p's JSON codec that the node
//! reads with (the body is everything up to the end of the stream). It
//! answers the node's requests only when a test gives it a responder
//! ([`HostilePeer::serve`]), with whatever bytes the responder makes. It
//! speaks `/accord/media/1` the same way: it asks a node for chunks
//! ([`HostilePeer::request_media_raw`]) and answers the node's chunk
//! requests ([`HostilePeer::serve_media`]). Started with
//! [`HostilePeer::start_with_list_pages`], it also speaks
//! `/accord/list-pages/1` ([`HostilePeer::request_page_raw`],
//! [`HostilePeer::serve_pages`]); otherwise it refuses that protocol, as a
//! node that does not know it does. Started with
//! [`HostilePeer::start_with_push_stream`], it opens push streams
//! (`/accord/push/1`) and writes raw bytes on them
//! ([`HostilePeer::push_stream_raw`]); otherwise it refuses the node's push
//! streams, as an older node does, and the node pushes to it as requests.
//!
//! ```no_run
//! # async fn demo(node_addr: &str) -> anyhow::Result<()> {
//! use accord_proto::federation::{FedRequest, FedResponse};
//! use accord_testkit::hostile::HostilePeer;
//!
//! let peer = HostilePeer::start(None).await?;
//! let node = peer.connect(node_addr).await?;
//! let answer = peer.request(node, &FedRequest::Identities { accounts: vec![] }).await?;
//! assert!(matches!(answer, FedResponse::Identities { .. }));
//! let refused = peer.request_raw(node, b"\xff not json".to_vec()).await;
//! assert!(refused.is_err());
//! # Ok(()) }
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use accord_proto::envelope::Payload;
use accord_proto::event::{EventBody, EventContent, JoinRule, MessageText, OriginStamp, RoomName, UnverifiedEvent};
use accord_proto::federation::{self, FedRequest, FedResponse, IdentityPair};
use accord_proto::identity::{Attestation, IdentityDocument, VerificationLevel};
use accord_proto::{EventId, NodeId, RoomId, SecretKey, Signature, SignedBytes, Timestamp, Unverified, Verified};
use anyhow::{Context as _, anyhow, bail};
use futures::StreamExt;
use futures::prelude::*;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, identity, noise, tcp, yamux};
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Identify protocol version of Accord nodes.
const PROTOCOL_VERSION: &str = "/accord/1.0.0";
/// Largest response the raw codec reads.
pub const MAX_RAW_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// How long a request may take before it fails with a timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`HostilePeer::connect`] waits for the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections without streams are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

mod behaviour {
    #![allow(missing_docs, reason = "the derive generates an undocumented event enum")]
    use accord_node::network::push_stream;
    use libp2p::swarm::NetworkBehaviour;
    use libp2p::swarm::behaviour::toggle::Toggle;
    use libp2p::{identify, request_response};

    /// The hostile peer's libp2p behaviour.
    #[derive(NetworkBehaviour)]
    pub(super) struct Behaviour {
        pub(super) identify: identify::Behaviour,
        pub(super) federation: request_response::Behaviour<super::RawCodec>,
        pub(super) media: request_response::Behaviour<super::RawCodec>,
        pub(super) pages: Toggle<request_response::Behaviour<super::RawCodec>>,
        pub(super) push: Toggle<push_stream::Behaviour>,
    }
}

use behaviour::{Behaviour, BehaviourEvent};

/// A request-response codec for raw bytes, framed like libp2p's JSON codec:
/// a message is every byte of its stream direction. The request-response
/// handler closes the write side after `write_request`, as it does for the
/// JSON codec, so the codec itself only writes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut body = Vec::new();
        io.take(federation::MAX_REQUEST_BYTES).read_to_end(&mut body).await?;
        Ok(body)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut body = Vec::new();
        // One byte over the limit tells a full-size answer from a longer one.
        io.take(MAX_RAW_RESPONSE_BYTES + 1).read_to_end(&mut body).await?;
        if body.len() as u64 > MAX_RAW_RESPONSE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response longer than {MAX_RAW_RESPONSE_BYTES} bytes"),
            ));
        }
        Ok(body)
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, request: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&request).await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, io: &mut T, response: Vec<u8>) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&response).await
    }
}

/// Makes the answer to a request's raw bytes; `None` leaves it unanswered.
pub type Responder = Arc<dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// Commands to the peer's swarm task.
enum Command {
    /// Dial an address and report when a connection to `peer` is open.
    Connect { addr: Multiaddr, peer: PeerId, reply: oneshot::Sender<anyhow::Result<PeerId>> },
    /// Send raw bytes as a federation request.
    Request { peer: PeerId, bytes: Vec<u8>, reply: oneshot::Sender<anyhow::Result<Vec<u8>>> },
    /// Send raw bytes as a media request (`/accord/media/1`).
    MediaRequest { peer: PeerId, bytes: Vec<u8>, reply: oneshot::Sender<anyhow::Result<Vec<u8>>> },
    /// Open a push stream, write raw bytes on it and read answer frames.
    PushStream { peer: PeerId, bytes: Vec<u8>, answers: usize, reply: oneshot::Sender<anyhow::Result<PushStreamRead>> },
    /// Answer requests with this responder from now on.
    Serve(Responder),
    /// Answer media requests (`/accord/media/1`) with this responder.
    ServeMedia(Responder),
    /// Send raw bytes as a list page request (`/accord/list-pages/1`).
    PageRequest { peer: PeerId, bytes: Vec<u8>, reply: oneshot::Sender<anyhow::Result<Vec<u8>>> },
    /// Answer list page requests with this responder.
    ServePages(Responder),
    /// Keep federation requests unanswered from now on (true), or answer
    /// those kept and the next ones as they come (false).
    Hold(bool),
}

/// A libp2p peer that speaks `/accord/federation/1` with whatever bytes a
/// test gives it. Its swarm runs on its own task, which stops when the
/// `HostilePeer` is dropped.
pub struct HostilePeer {
    key: SecretKey,
    node_id: NodeId,
    commands: mpsc::Sender<Command>,
    connected: Arc<Mutex<HashSet<PeerId>>>,
    listen_addrs: Vec<Multiaddr>,
    held_count: Arc<AtomicUsize>,
}

impl std::fmt::Debug for HostilePeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostilePeer").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

impl HostilePeer {
    /// Starts a peer with this node key (a fresh one if None) listening on
    /// 127.0.0.1 TCP.
    pub async fn start(key: Option<SecretKey>) -> anyhow::Result<HostilePeer> {
        HostilePeer::start_speaking(key, false, false).await
    }

    /// Starts a peer as [`HostilePeer::start`] does that also speaks
    /// `/accord/list-pages/1` (spec/federation.md §3.13).
    pub async fn start_with_list_pages(key: Option<SecretKey>) -> anyhow::Result<HostilePeer> {
        HostilePeer::start_speaking(key, true, false).await
    }

    /// A peer that also speaks `/accord/push/1`
    /// ([`HostilePeer::push_stream_raw`]).
    pub async fn start_with_push_stream(key: Option<SecretKey>) -> anyhow::Result<HostilePeer> {
        HostilePeer::start_speaking(key, false, true).await
    }

    async fn start_speaking(key: Option<SecretKey>, list_pages: bool, push: bool) -> anyhow::Result<HostilePeer> {
        let key = match key {
            Some(key) => key,
            None => SecretKey::generate()?,
        };
        let node_id = NodeId::from(key.public());
        // libp2p zeroizes the buffer it is given: hand it a copy.
        let keypair = identity::Keypair::ed25519_from_bytes(*key.to_seed())?;
        let protocol = StreamProtocol::new(federation::PROTOCOL);
        let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)?
            .with_behaviour(|k| Behaviour {
                identify: identify::Behaviour::new(identify::Config::new(PROTOCOL_VERSION.into(), k.public())),
                federation: request_response::Behaviour::with_codec(
                    RawCodec,
                    [(protocol, ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
                ),
                media: request_response::Behaviour::with_codec(
                    RawCodec,
                    [(StreamProtocol::new(accord_proto::media::MEDIA_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
                ),
                pages: list_pages
                    .then(|| {
                        request_response::Behaviour::with_codec(
                            RawCodec,
                            [(
                                StreamProtocol::new(accord_proto::list_page::LIST_PAGES_PROTOCOL),
                                ProtocolSupport::Full,
                            )],
                            request_response::Config::default().with_request_timeout(REQUEST_TIMEOUT),
                        )
                    })
                    .into(),
                push: push.then(accord_node::network::push_stream::Behaviour::default).into(),
            })?
            .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
            .build();
        swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
        let listen_addrs = loop {
            let event = tokio::time::timeout(Duration::from_secs(5), swarm.select_next_some())
                .await
                .context("the hostile peer did not start listening")?;
            if let SwarmEvent::NewListenAddr { address, .. } = event {
                break vec![address];
            }
        };
        let (commands, rx) = mpsc::channel(64);
        let connected = Arc::new(Mutex::new(HashSet::new()));
        let held_count = Arc::new(AtomicUsize::new(0));
        let event_loop = EventLoop {
            swarm,
            commands: rx,
            connected: connected.clone(),
            connecting: HashMap::new(),
            pending: HashMap::new(),
            pending_media: HashMap::new(),
            pending_pages: HashMap::new(),
            responder: None,
            holding: false,
            held: Vec::new(),
            held_count: held_count.clone(),
            media_responder: None,
            pages_responder: None,
            pushing: HashMap::new(),
        };
        tokio::spawn(event_loop.run());
        Ok(HostilePeer { key, node_id, commands, connected, listen_addrs, held_count })
    }

    /// The peer's node id (its libp2p PeerId as an Accord id).
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The peer's libp2p PeerId.
    pub fn peer_id(&self) -> anyhow::Result<PeerId> {
        Ok(PeerId::from_bytes(&self.node_id.to_peer_id_bytes())?)
    }

    /// The peer's node key.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The addresses the peer listens on (without `/p2p/`).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Dials `addr` (a multiaddr string ending in /p2p/PEER) and waits
    /// until connected (≤ 10 s).
    pub async fn connect(&self, addr: &str) -> anyhow::Result<PeerId> {
        let addr: Multiaddr = addr.parse().with_context(|| format!("address {addr}"))?;
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            bail!("address {addr} does not end in /p2p/PEER");
        };
        let (reply, answer) = oneshot::channel();
        self.send(Command::Connect { addr, peer, reply }).await?;
        tokio::time::timeout(CONNECT_TIMEOUT, answer)
            .await
            .map_err(|_| anyhow!("no connection to {peer} within {CONNECT_TIMEOUT:?}"))?
            .map_err(|_| anyhow!("the hostile peer has stopped"))?
    }

    /// Sends raw bytes as a request on /accord/federation/1 and returns the
    /// raw response bytes (or an error if the stream failed/closed).
    ///
    /// A stream the remote closes without writing a byte counts as closed:
    /// the node's JSON codec never sends an empty answer, so it means the
    /// node dropped the request (its codec refused the body).
    pub async fn request_raw(&self, peer: PeerId, bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request { peer, bytes, reply }).await?;
        let response = answer.await.map_err(|_| anyhow!("the hostile peer has stopped"))??;
        if response.is_empty() {
            bail!("request to {peer}: the stream closed without a response");
        }
        Ok(response)
    }

    /// Sends raw bytes as a request on `/accord/media/1` (spec/federation.md
    /// §10.1) and returns the raw answer; an error if the stream failed or
    /// closed without one.
    pub async fn request_media_raw(&self, peer: PeerId, bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::MediaRequest { peer, bytes, reply }).await?;
        let response = answer.await.map_err(|_| anyhow!("the hostile peer has stopped"))??;
        if response.is_empty() {
            bail!("media request to {peer}: the stream closed without a response");
        }
        Ok(response)
    }

    /// Sends raw bytes as a request on `/accord/list-pages/1`
    /// (spec/federation.md §3.13) and returns the raw answer; an error if
    /// the stream failed or closed without one. Needs a peer started with
    /// [`HostilePeer::start_with_list_pages`].
    pub async fn request_page_raw(&self, peer: PeerId, bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::PageRequest { peer, bytes, reply }).await?;
        let response = answer.await.map_err(|_| anyhow!("the hostile peer has stopped"))??;
        if response.is_empty() {
            bail!("list page request to {peer}: the stream closed without a response");
        }
        Ok(response)
    }

    /// Answers every list page request (`/accord/list-pages/1`) a node sends
    /// this peer from now on with what `responder` makes of its raw bytes;
    /// `None` closes the stream. Needs a peer started with
    /// [`HostilePeer::start_with_list_pages`].
    pub async fn serve_pages(
        &self,
        responder: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> anyhow::Result<()> {
        self.send(Command::ServePages(Arc::new(responder))).await
    }

    /// Sends a typed request (serde_json) and decodes the typed answer.
    pub async fn request(&self, peer: PeerId, req: &FedRequest) -> anyhow::Result<FedResponse> {
        let response = self.request_raw(peer, serde_json::to_vec(req)?).await?;
        serde_json::from_slice(&response).context("response is not a FedResponse")
    }

    /// Opens a push stream to `peer`, writes `bytes` on it as they are,
    /// and reads up to `answers` frames back (each 4 bytes of length, then
    /// that many bytes), then whether the node closed the stream.
    pub async fn push_stream_raw(
        &self,
        peer: PeerId,
        bytes: Vec<u8>,
        answers: usize,
    ) -> anyhow::Result<PushStreamRead> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::PushStream { peer, bytes, answers, reply }).await?;
        answer.await.map_err(|_| anyhow!("the hostile peer has stopped"))?
    }

    /// Answers every request a node sends this peer from now on with what
    /// `responder` makes of its raw bytes (`None`: the stream is closed
    /// without an answer, as for every request while no responder is set).
    pub async fn serve(
        &self,
        responder: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> anyhow::Result<()> {
        self.send(Command::Serve(Arc::new(responder))).await
    }

    /// Answers every media request (`/accord/media/1`, spec/federation.md
    /// §10) a node sends this peer from now on with what `responder` makes
    /// of its raw bytes (the 44-byte request); `None` closes the stream.
    pub async fn serve_media(
        &self,
        responder: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> anyhow::Result<()> {
        self.send(Command::ServeMedia(Arc::new(responder))).await
    }

    /// Keeps every federation request a node sends this peer from now on
    /// unanswered, its stream open, until [`HostilePeer::release`]: a peer
    /// that takes as long as a test needs to answer.
    pub async fn hold(&self) -> anyhow::Result<()> {
        self.send(Command::Hold(true)).await
    }

    /// Answers the requests kept since [`HostilePeer::hold`] with the
    /// responder ([`HostilePeer::serve`]; none: their streams are closed),
    /// and the next ones as they come.
    pub async fn release(&self) -> anyhow::Result<()> {
        self.send(Command::Hold(false)).await
    }

    /// How many federation requests are kept unanswered now.
    pub fn held(&self) -> usize {
        self.held_count.load(Ordering::Acquire)
    }

    /// Whether a connection to `peer` is currently open.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.connected.lock().unwrap_or_else(|p| p.into_inner()).contains(peer)
    }

    /// Waits until no connection to `peer` is open (true) or the timeout
    /// passes (false).
    pub async fn wait_disconnected(&self, peer: &PeerId, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if !self.is_connected(peer) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn send(&self, command: Command) -> anyhow::Result<()> {
        self.commands.send(command).await.map_err(|_| anyhow!("the hostile peer has stopped"))
    }
}

/// The task that owns the swarm.
struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    connected: Arc<Mutex<HashSet<PeerId>>>,
    /// Callers of `connect` waiting for a connection, by peer.
    connecting: HashMap<PeerId, Vec<oneshot::Sender<anyhow::Result<PeerId>>>>,
    /// Requests waiting for their answer.
    pending: HashMap<OutboundRequestId, oneshot::Sender<anyhow::Result<Vec<u8>>>>,
    /// Media requests waiting for their answer (the ids of each behaviour
    /// are counted apart, so they have a map of their own).
    pending_media: HashMap<OutboundRequestId, oneshot::Sender<anyhow::Result<Vec<u8>>>>,
    /// List page requests waiting for their answer.
    pending_pages: HashMap<OutboundRequestId, oneshot::Sender<anyhow::Result<Vec<u8>>>>,
    /// What answers the requests of nodes.
    responder: Option<Responder>,
    /// Whether requests are kept unanswered.
    holding: bool,
    /// The requests kept unanswered, with their channels.
    held: Vec<(Vec<u8>, request_response::ResponseChannel<Vec<u8>>)>,
    /// How many are kept (shared with the `HostilePeer`).
    held_count: Arc<AtomicUsize>,
    /// What answers the media requests of nodes.
    media_responder: Option<Responder>,
    /// What answers the list page requests of nodes.
    pages_responder: Option<Responder>,
    /// Push stream writes waiting for their stream, by peer.
    pushing: HashMap<PeerId, Vec<PushStreamWrite>>,
}

impl EventLoop {
    async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.handle(event),
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command),
                    // The HostilePeer was dropped.
                    None => break,
                },
            }
        }
    }

    fn connected(&self) -> std::sync::MutexGuard<'_, HashSet<PeerId>> {
        self.connected.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Connect { addr, peer, reply } => {
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(Ok(peer));
                    return;
                }
                // A new local port for every dial: reusing the listening
                // port can collide with the 4-tuple of a connection still
                // closing (`Address already in use`).
                let opts = DialOpts::peer_id(peer).addresses(vec![addr.clone()]).allocate_new_port().build();
                if let Err(e) = self.swarm.dial(opts) {
                    let _ = reply.send(Err(anyhow!("cannot dial {addr}: {e}")));
                    return;
                }
                // Forget callers that gave up meanwhile.
                let waiting = self.connecting.entry(peer).or_default();
                waiting.retain(|w| !w.is_closed());
                waiting.push(reply);
            }
            Command::Request { peer, bytes, reply } => {
                let id = self.swarm.behaviour_mut().federation.send_request(&peer, bytes);
                self.pending.insert(id, reply);
            }
            Command::MediaRequest { peer, bytes, reply } => {
                let id = self.swarm.behaviour_mut().media.send_request(&peer, bytes);
                self.pending_media.insert(id, reply);
            }
            Command::Serve(responder) => self.responder = Some(responder),
            Command::ServeMedia(responder) => self.media_responder = Some(responder),
            Command::PageRequest { peer, bytes, reply } => match self.swarm.behaviour_mut().pages.as_mut() {
                Some(pages) => {
                    let id = pages.send_request(&peer, bytes);
                    self.pending_pages.insert(id, reply);
                }
                None => {
                    let _ = reply.send(Err(anyhow!("this peer does not speak /accord/list-pages/1")));
                }
            },
            Command::ServePages(responder) => self.pages_responder = Some(responder),
            Command::PushStream { peer, bytes, answers, reply } => match self.swarm.behaviour_mut().push.as_mut() {
                Some(push) => {
                    push.open(peer);
                    self.pushing.entry(peer).or_default().push((bytes, answers, reply));
                }
                None => {
                    let _ = reply.send(Err(anyhow!("this peer does not speak /accord/push/1")));
                }
            },
            Command::Hold(holding) => {
                self.holding = holding;
                if !holding {
                    for (request, channel) in std::mem::take(&mut self.held) {
                        self.answer(&request, channel);
                    }
                    self.held_count.store(0, Ordering::Release);
                }
            }
        }
    }

    fn handle(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                self.connected().insert(peer_id);
                for reply in self.connecting.remove(&peer_id).unwrap_or_default() {
                    let _ = reply.send(Ok(peer_id));
                }
            }
            // Another connection to the peer may still be open.
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.connected().remove(&peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id: Some(peer), error, .. }
                if !self.swarm.is_connected(&peer) =>
            {
                for reply in self.connecting.remove(&peer).unwrap_or_default() {
                    let _ = reply.send(Err(anyhow!("cannot connect to {peer}: {error}")));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Federation(event)) => self.federation(event),
            SwarmEvent::Behaviour(BehaviourEvent::Media(event)) => self.media(event),
            SwarmEvent::Behaviour(BehaviourEvent::Pages(event)) => self.pages(event),
            SwarmEvent::Behaviour(BehaviourEvent::Push(event)) => self.push(event),
            _ => {}
        }
    }

    fn push(&mut self, event: accord_node::network::push_stream::Event) {
        use accord_node::network::push_stream::Event;
        let (peer, outcome) = match event {
            Event::Outbound { peer, stream } => (peer, Ok(stream)),
            Event::Unsupported { peer } => (peer, Err(anyhow!("{peer} does not speak /accord/push/1"))),
            Event::Failed { peer, reason } => (peer, Err(anyhow!("no push stream to {peer}: {reason}"))),
            // A node's own push streams are not served: dropped.
            Event::Inbound { .. } => return,
        };
        let Some((bytes, answers, reply)) =
            self.pushing.get_mut(&peer).and_then(|w| (!w.is_empty()).then(|| w.remove(0)))
        else {
            return;
        };
        match outcome {
            Ok(stream) => {
                tokio::spawn(async move {
                    let _ = reply.send(push_stream_exchange(stream, bytes, answers).await);
                });
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    fn pages(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message {
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                let answer = self.pages_responder.as_ref().and_then(|r| r(&request));
                if let (Some(answer), Some(pages)) = (answer, self.swarm.behaviour_mut().pages.as_mut()) {
                    let _ = pages.send_response(channel, answer);
                }
            }
            request_response::Event::Message {
                message: request_response::Message::Response { request_id, response },
                ..
            } => {
                if let Some(reply) = self.pending_pages.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.pending_pages.remove(&request_id) {
                    let _ = reply.send(Err(anyhow!("list page request to {peer} failed: {error}")));
                }
            }
            _ => {}
        }
    }

    fn media(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message {
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                if let Some(answer) = self.media_responder.as_ref().and_then(|r| r(&request)) {
                    let _ = self.swarm.behaviour_mut().media.send_response(channel, answer);
                }
            }
            request_response::Event::Message {
                message: request_response::Message::Response { request_id, response },
                ..
            } => {
                if let Some(reply) = self.pending_media.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.pending_media.remove(&request_id) {
                    let _ = reply.send(Err(anyhow!("media request to {peer} failed: {error}")));
                }
            }
            _ => {}
        }
    }

    /// Answers a federation request with the responder's bytes, or closes
    /// its stream.
    fn answer(&mut self, request: &[u8], channel: request_response::ResponseChannel<Vec<u8>>) {
        if let Some(answer) = self.responder.as_ref().and_then(|r| r(request)) {
            // Fails only if the node went away meanwhile.
            let _ = self.swarm.behaviour_mut().federation.send_response(channel, answer);
        }
    }

    fn federation(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message {
                message: request_response::Message::Response { request_id, response },
                ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(anyhow!("request to {peer} failed: {error}")));
                }
            }
            request_response::Event::Message {
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                if self.holding {
                    self.held.push((request, channel));
                    self.held_count.store(self.held.len(), Ordering::Release);
                } else {
                    self.answer(&request, channel);
                }
            }
            _ => {}
        }
    }
}

/// Bytes to write on a push stream, how many answer frames to read, and
/// where what was read goes.
type PushStreamWrite = (Vec<u8>, usize, oneshot::Sender<anyhow::Result<PushStreamRead>>);

/// What a push stream written by [`HostilePeer::push_stream_raw`] gave back.
#[derive(Debug)]
pub struct PushStreamRead {
    /// The answer frames read, without their length prefixes.
    pub answers: Vec<Vec<u8>>,
    /// Whether the node ended the stream after them (within 2 s).
    pub closed: bool,
}

/// Writes `bytes`, reads up to `answers` frames, then waits up to 2 s to
/// see whether the stream ends.
async fn push_stream_exchange(
    mut stream: libp2p::Stream,
    bytes: Vec<u8>,
    answers: usize,
) -> anyhow::Result<PushStreamRead> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        stream.write_all(&bytes).await?;
        stream.flush().await?;
        let mut read = Vec::new();
        for _ in 0..answers {
            let mut prefix = [0u8; 4];
            if stream.read_exact(&mut prefix).await.is_err() {
                break;
            }
            let length = u32::from_be_bytes(prefix) as usize;
            anyhow::ensure!(length as u64 <= MAX_RAW_RESPONSE_BYTES, "an answer frame of {length} bytes");
            let mut answer = vec![0u8; length];
            stream.read_exact(&mut answer).await?;
            read.push(answer);
        }
        let mut more = [0u8; 1];
        let closed = match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut more)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        };
        Ok(PushStreamRead { answers: read, closed })
    })
    .await
    .map_err(|_| anyhow!("the push stream exchange timed out"))?
}

/// Signs `payload` in its domain with `key` without any check: not the
/// size limit, not that `key` is the signer the payload names, not the
/// payload's own rules. For crafting objects an honest signer would refuse
/// to make (a stamp with sequence 0, a body signed by the wrong key, …).
pub fn sign_unchecked<T: Payload>(payload: &T, key: &SecretKey) -> anyhow::Result<Unverified<T>> {
    let body = serde_json::to_vec(payload)?;
    Ok(Unverified::from_raw(SignedBytes::sign(T::DOMAIN, body, key)))
}

/// An identity document for the account of `account_key`, homed at
/// `home_key`'s node with the handle `handle` (`name@node`), and that
/// node's attestation of it (level `open`).
pub fn identity_pair(account_key: &SecretKey, home_key: &SecretKey, handle: &str) -> anyhow::Result<IdentityPair> {
    let now = Timestamp::now();
    let doc = IdentityDocument {
        account: account_key.account_id(),
        handle: handle.parse().with_context(|| format!("handle {handle}"))?,
        home: NodeId::from(home_key.public()),
        created: now,
    };
    let doc = Verified::sign(doc, account_key)?;
    let attestation = Attestation {
        account: doc.account,
        identity: doc.body_hash(),
        node: doc.home,
        registered: now,
        level: VerificationLevel::Open,
    };
    let attestation = Verified::sign(attestation, home_key)?;
    Ok(IdentityPair { identity: doc.raw().clone(), attestation: attestation.raw().clone() })
}

/// An event with `content` by `author`, stamped by `origin`: the body is
/// made as the SDK makes it (`room` absent exactly for `create`, `ts` now),
/// and both envelopes are correctly signed and pass their own checks. The
/// rules that tie the two together (`depth` ≥ 1 and `prev` non-empty except
/// for `create`, origin = the author's home) are left to the caller, so
/// events that break them can be made too.
pub fn event(
    author: &SecretKey,
    origin: &SecretKey,
    room: Option<RoomId>,
    content: EventContent,
    seq: u64,
    prev: Vec<EventId>,
    depth: u64,
) -> anyhow::Result<UnverifiedEvent> {
    let body = EventBody { room, author: author.account_id(), ts: Timestamp::now(), content };
    let body = Verified::sign(body, author)?;
    let id = EventId(body.body_hash());
    let stamp = OriginStamp {
        event: id,
        room: room.unwrap_or(RoomId::from(id)),
        origin: NodeId::from(origin.public()),
        seq,
        depth,
        prev,
        received: Timestamp::now(),
    };
    let stamp = Verified::sign(stamp, origin)?;
    Ok(UnverifiedEvent { author: body.to_unverified(), origin: stamp.to_unverified() })
}

/// A correctly signed `create` event of a public room named `name` by
/// `owner`, stamped by `origin` (seq 1, depth 0, no prev). The room id is
/// the event's id: [`RoomId::from`]`(event.claimed_id())`.
pub fn create_event(owner: &SecretKey, origin: &SecretKey, name: &str) -> anyhow::Result<UnverifiedEvent> {
    let name = RoomName::non_empty(name)?;
    event(owner, origin, None, EventContent::Create { name, join_rule: JoinRule::Public }, 1, vec![], 0)
}

/// A correctly signed `join` event of `room` by `author`, stamped by
/// `origin`.
pub fn join_event(
    author: &SecretKey,
    origin: &SecretKey,
    room: RoomId,
    seq: u64,
    prev: Vec<EventId>,
    depth: u64,
) -> anyhow::Result<UnverifiedEvent> {
    event(author, origin, Some(room), EventContent::Join {}, seq, prev, depth)
}

/// A correctly signed message event stamped by `origin`.
pub fn message_event(
    author: &SecretKey,
    origin: &SecretKey,
    room: RoomId,
    seq: u64,
    prev: Vec<EventId>,
    depth: u64,
    text: &str,
) -> anyhow::Result<UnverifiedEvent> {
    let text = MessageText::non_empty(text)?;
    event(
        author,
        origin,
        Some(room),
        EventContent::Message { text, reply_to: None, attachments: vec![] },
        seq,
        prev,
        depth,
    )
}

/// The same event with one byte of the author signature flipped: the body
/// and the stamp are unchanged, so the stamp still names the event.
pub fn forge_signature(event: &UnverifiedEvent) -> UnverifiedEvent {
    UnverifiedEvent { author: flip_signature(&event.author), origin: event.origin.clone() }
}

/// The same event with one byte of the origin stamp's signature flipped.
pub fn forge_stamp_signature(event: &UnverifiedEvent) -> UnverifiedEvent {
    UnverifiedEvent { author: event.author.clone(), origin: flip_signature(&event.origin) }
}

/// `signed` with the first byte of its signature flipped.
pub fn flip_signature<T>(signed: &Unverified<T>) -> Unverified<T> {
    let mut raw = signed.raw().clone();
    let mut sig = raw.sig.to_bytes();
    sig[0] ^= 0x01;
    raw.sig = Signature::from_bytes(&sig);
    Unverified::from_raw(raw)
}
