//! The node's TOML configuration (`accord.toml` in the data directory).

use accord_proto::identity::NodeName;
use accord_store::SyncPolicy;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration. Every section and field has a default, so an
/// empty file is a valid configuration.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Identity of the node.
    pub node: NodeSection,
    /// The client API.
    pub api: ApiSection,
    /// The operator's endpoint and dashboard, on a listener of their own.
    pub admin: AdminSection,
    /// The peer-to-peer network.
    pub p2p: P2pSection,
    /// Who may register.
    pub registration: RegistrationSection,
    /// Rate and size limits.
    pub limits: LimitsSection,
    /// Storage.
    pub storage: StorageSection,
    /// Blocklist enforcement.
    #[serde(default)]
    pub lists: ListsSection,
    /// Reports and moderation.
    #[serde(default)]
    pub reports: ReportsSection,
    /// Media: uploads, quotas, fetches from peers.
    #[serde(default)]
    pub media: MediaSection,
    /// Verified node names: the proof this node serves, the checks of
    /// peers' proofs.
    #[serde(default)]
    pub names: NamesSection,
    /// Logging.
    pub log: LogSection,
    /// For tests only: slows the node down on purpose. Never written to a
    /// configuration (only when set), and left out of the manual.
    #[serde(skip_serializing_if = "TestingSection::is_unset")]
    pub testing: TestingSection,
}

/// `[reports]`: reports, moderators and the measures against abuse of
/// reporting (spec/reports.md §7–§9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsSection {
    /// Moderator accounts of this node (more can be added with
    /// `accord-node moderators add`).
    pub moderators: Vec<accord_proto::AccountId>,
    /// Reports one reporter may file per hour.
    pub per_reporter_per_hour: u32,
    /// Reports one reporter may file at once.
    pub per_reporter_burst: u32,
    /// Reports one peer may forward per minute.
    pub peer_per_minute: u32,
    /// Nodes every report is also forwarded to (e.g. a list issuer that
    /// accepts reports).
    pub forward_to: Vec<accord_proto::NodeId>,
    /// Nodes reports are never forwarded to.
    pub never_forward_to: Vec<accord_proto::NodeId>,
    /// Nodes whose forwarded reports are refused.
    pub refuse_from: Vec<accord_proto::NodeId>,
    /// Accounts whose reports count towards quarantine pending review.
    pub trusted_reporters: Vec<accord_proto::AccountId>,
    /// Distinct trusted reporters of one case that quarantine its content
    /// pending review (0: never).
    pub quarantine_after: u32,
    /// The list (issued here) that quarantine entries go to.
    pub quarantine_list: accord_proto::ListName,
    /// Automated reporters (bots, hash matchers): their reports form cases
    /// of their own, kept apart from people's (`?source=automated`).
    pub automated_reporters: Vec<accord_proto::AccountId>,
}

impl Default for ReportsSection {
    fn default() -> Self {
        Self {
            moderators: vec![],
            per_reporter_per_hour: 20,
            per_reporter_burst: 5,
            peer_per_minute: 120,
            forward_to: vec![],
            never_forward_to: vec![],
            refuse_from: vec![],
            trusted_reporters: vec![],
            quarantine_after: 0,
            quarantine_list: accord_proto::ListName::parse("reports").unwrap_or_else(|_| unreachable!("valid literal")),
            automated_reporters: vec![],
        }
    }
}

/// `[media]`: files attached to messages (spec/client-api.md §10).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaSection {
    /// Largest upload, in bytes (default 10 MiB); larger ones are refused
    /// with `too_large` while they stream in.
    pub max_upload_bytes: u64,
    /// Most pixels of an uploaded or fetched image (width × height).
    pub max_pixels: u64,
    /// Most memory an image decoder may allocate, in bytes.
    pub max_decode_bytes: u64,
    /// Bytes of files one account may have uploaded (`quota_exceeded`).
    pub account_quota_bytes: u64,
    /// Bytes of files the node stores in all (`quota_exceeded`).
    pub node_quota_bytes: u64,
    /// Media chunks one peer may fetch per second from this node.
    pub peer_chunks_per_second: u32,
}

impl Default for MediaSection {
    fn default() -> Self {
        Self {
            max_upload_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_decode_bytes: 256 * 1024 * 1024,
            account_quota_bytes: 200 * 1024 * 1024,
            node_quota_bytes: 20 * 1024 * 1024 * 1024,
            peer_chunks_per_second: 64,
        }
    }
}

impl MediaSection {
    /// The media pipeline's limits under this configuration.
    pub fn limits(&self) -> accord_media::MediaLimits {
        accord_media::MediaLimits {
            max_bytes: self.max_upload_bytes,
            max_pixels: self.max_pixels,
            max_alloc: self.max_decode_bytes,
            ..accord_media::MediaLimits::default()
        }
    }
}

/// `[lists]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ListsSection {
    /// Categories whose matching stored messages are deleted (not only
    /// hidden) when a `reject` entry arrives, e.g. `["child_sexual_abuse"]`.
    pub purge: Vec<accord_proto::blocklist::entry::Category>,
    /// Lists to enforce, subscribed at start (as `accord-node subscribe`).
    pub subscribe: Vec<Subscription>,
    /// Witnesses (C2SP verifier keys, `accord/v1/witness/NODE_ID+KEYID+KEY`)
    /// asked to cosign every new checkpoint of this node's own lists
    /// before it is announced (spec/blocklists.md §13.4).
    pub witnesses: Vec<accord_proto::blocklist::witness::WitnessKey>,
}

/// A list subscribed from the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The list (`ISSUER/NAME`).
    pub list: accord_proto::ListId,
    /// Per-category actions (`reject`, `quarantine`, `ignore`).
    #[serde(default)]
    pub actions: std::collections::BTreeMap<accord_proto::blocklist::entry::Category, accord_store::Enforce>,
    /// The PDQ distance threshold of the list's image entries (default 31).
    #[serde(default)]
    pub pdq_threshold: Option<u16>,
    /// Witnesses (C2SP verifier keys) of which `witnesses_required` must
    /// have cosigned a checkpoint of the list before it is applied
    /// (spec/blocklists.md §13.5).
    #[serde(default)]
    pub witnesses: Vec<accord_proto::blocklist::witness::WitnessKey>,
    /// How many of `witnesses` must have cosigned (default: all of them).
    #[serde(default)]
    pub witnesses_required: Option<usize>,
    /// `apply` (default), `suggest` or `notify` (spec/blocklists.md §11.7).
    #[serde(default)]
    pub mode: accord_store::SubscriptionMode,
    /// `undo` (default) or `keep`: what the issuer's removal of an entry
    /// does here (spec/blocklists.md §11.8).
    #[serde(default)]
    pub on_removal: accord_store::OnRemoval,
    /// Higher wins where lists disagree about a target (default 0,
    /// spec/blocklists.md §11.9).
    #[serde(default)]
    pub priority: i64,
}

impl Subscription {
    /// How the list is followed.
    pub fn settings(&self) -> crate::core::lists::Settings {
        crate::core::lists::Settings {
            actions: self.actions.clone(),
            pdq_threshold: self.pdq_threshold,
            mode: self.mode,
            on_removal: self.on_removal,
            priority: self.priority,
        }
    }

    /// The witness cosignatures the subscription requires, if any.
    pub fn quorum(&self) -> Option<crate::core::lists::Quorum> {
        let required = self.witnesses_required.unwrap_or(self.witnesses.len());
        (required > 0).then(|| crate::core::lists::Quorum { witnesses: self.witnesses.clone(), required })
    }
}

/// `[node]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// The node's name: the part after `@` in its users' handles.
    pub name: NodeName,
}

impl Default for NodeSection {
    fn default() -> Self {
        // "localhost" is a valid node name.
        Self { name: NodeName::parse("localhost").unwrap_or_else(|_| unreachable!("valid literal")) }
    }
}

/// `[api]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// Address of the HTTP/WebSocket client API.
    pub listen: SocketAddr,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Client connections open at once (TLS handshakes and WebSocket
    /// streams included); connections beyond are closed at once.
    pub max_connections: usize,
    /// Seconds a connection has to send a request's complete head, from
    /// when it opens or its previous answer was sent (so it also closes a
    /// keep-alive connection idle that long between requests).
    pub header_timeout_secs: u64,
    /// Seconds a connection may go without a byte read or written while a
    /// request is in progress (a body sent slowly, an answer not read)
    /// before it is closed.
    pub idle_timeout_secs: u64,
    /// Seconds an event that makes the node join a room it does not hold
    /// waits for the room's history to be fetched before it is answered
    /// `202 join_in_progress` (the fetch and the event carry on; 0: answer
    /// at once). Kept below `idle_timeout_secs`.
    pub join_wait_secs: u64,
    /// Seconds a request's body has to arrive whole, counted from the end
    /// of its head, plus one second per `body_min_bytes_per_sec` bytes
    /// received (a body sent slower than that rate runs out of time
    /// whatever its size); then `408 request_timeout` and the connection
    /// is closed.
    pub body_timeout_secs: u64,
    /// The data rate that earns a request's body more time than
    /// `body_timeout_secs` (0: a fixed deadline whatever the size).
    pub body_min_bytes_per_sec: u64,
    /// Reverse proxies (addresses, or ranges such as `10.0.0.0/8`) whose
    /// connections carry the client's address in `proxy_header`. Only for
    /// a connection from one of them is the header read: the client is the
    /// right-most address in it that is not itself a trusted proxy. Every
    /// other connection's client is its TCP peer, whatever it sends.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// The header the trusted proxies write the client's address in.
    pub proxy_header: ProxyHeader,
    /// `[api.tls]`: serve the API over TLS with this certificate and key.
    /// Without it the API is plain HTTP (for loopback, or behind a
    /// TLS-terminating reverse proxy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSection>,
}

impl ApiSection {
    /// How long a join's event waits for the room's history before it is
    /// answered `join_in_progress`: `join_wait_secs`, at most half the
    /// idle timeout (so the answer always comes before the connection is
    /// closed as idle).
    pub fn join_wait(&self) -> std::time::Duration {
        let ceiling = self.idle_timeout_secs.max(1) * 1000 / 2;
        std::time::Duration::from_millis((self.join_wait_secs * 1000).min(ceiling))
    }

    /// The URL scheme the API is served with: `https` with `[api.tls]`,
    /// `http` without.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 64 * 1024,
            max_connections: 4096,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            join_wait_secs: 20,
            body_timeout_secs: 30,
            body_min_bytes_per_sec: 16 * 1024,
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeader::XForwardedFor,
            tls: None,
        }
    }
}

/// A trusted reverse proxy: one address (`192.0.2.7`, `::1`) or a range
/// (`10.0.0.0/8`, `2001:db8::/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrustedProxy(ipnet::IpNet);

impl TrustedProxy {
    /// Whether `ip` is this proxy (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }

    /// Whether the range is every address (`0.0.0.0/0`, `::/0`), which
    /// would let any client name its own address.
    pub fn is_everyone(&self) -> bool {
        self.0.prefix_len() == 0
    }
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let net = match text.parse::<std::net::IpAddr>() {
            Ok(ip) => ipnet::IpNet::from(ip.to_canonical()),
            Err(_) => text
                .parse::<ipnet::IpNet>()
                .map_err(|_| format!("{text:?} is not an address or a range (192.0.2.7, 10.0.0.0/8, 2001:db8::/32)"))?,
        };
        Ok(Self(net.trunc()))
    }
}

impl TryFrom<String> for TrustedProxy {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<TrustedProxy> for String {
    fn from(proxy: TrustedProxy) -> Self {
        proxy.0.to_string()
    }
}

/// The header trusted proxies name the client in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, …` (nginx, HAProxy, Caddy).
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    #[serde(rename = "forwarded")]
    Forwarded,
}

/// `[admin]`: the admin endpoint (`/admin/…`) and the dashboard, served
/// on a listener of their own that the client API's never serves them on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// Where they are served: a loopback address (`127.0.0.1:8081`, port 0
    /// for any free one), or `unix:PATH` for a Unix socket (mode 0600; a
    /// relative path is relative to the data directory). The address
    /// actually bound is written to `admin.addr` in the data directory.
    pub listen: AdminListen,
}

impl Default for AdminSection {
    fn default() -> Self {
        Self { listen: AdminListen::Tcp(SocketAddr::from(([127, 0, 0, 1], 8081))) }
    }
}

/// Where the admin listener is: a loopback TCP address or a Unix socket.
/// Written as `127.0.0.1:8081` or `unix:PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AdminListen {
    /// A TCP address (on loopback: [`Config::check`] refuses any other).
    Tcp(SocketAddr),
    /// A Unix socket's path.
    Unix(PathBuf),
}

impl AdminListen {
    /// The same place with a relative socket path made relative to `root`
    /// (the data directory).
    pub fn under(&self, root: &Path) -> AdminListen {
        match self {
            AdminListen::Unix(path) => AdminListen::Unix(root.join(path)),
            tcp => tcp.clone(),
        }
    }

    /// The base URL a browser opens (`http://ADDR`), for a TCP listener.
    pub fn url(&self) -> Option<String> {
        match self {
            AdminListen::Tcp(addr) => Some(format!("http://{addr}")),
            AdminListen::Unix(_) => None,
        }
    }
}

impl std::fmt::Display for AdminListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminListen::Tcp(addr) => write!(f, "{addr}"),
            AdminListen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl std::str::FromStr for AdminListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.strip_prefix("unix:") {
            Some("") => Err("unix: needs a socket path".into()),
            Some(path) => Ok(AdminListen::Unix(PathBuf::from(path))),
            None => text
                .parse()
                .map(AdminListen::Tcp)
                .map_err(|_| format!("{text:?} is neither an address (127.0.0.1:8081) nor unix:PATH")),
        }
    }
}

impl TryFrom<String> for AdminListen {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<AdminListen> for String {
    fn from(listen: AdminListen) -> String {
        listen.to_string()
    }
}

/// `[api.tls]`: the certificate and private key the client API is served
/// with. Relative paths are relative to the data directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The certificate chain (PEM), the node's own certificate first.
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsSection {
    /// The certificate file, for a node whose data directory is `root`.
    pub fn cert_path(&self, root: &Path) -> PathBuf {
        root.join(&self.cert)
    }

    /// The key file, for a node whose data directory is `root`.
    pub fn key_path(&self, root: &Path) -> PathBuf {
        root.join(&self.key)
    }
}

/// `[p2p]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct P2pSection {
    /// Multiaddrs to listen on for federation.
    pub listen: Vec<String>,
    /// Peers to dial at start (multiaddrs ending in `/p2p/PEER_ID`).
    pub bootstrap: Vec<String>,
    /// Lists a peer must declare it enforces (in its signed policy
    /// manifest) to be federated with.
    pub require_lists: Vec<RequiredList>,
    /// Cut off (for ten minutes) a peer that relays an event of an account
    /// blocked on a list the peer declares.
    pub block_relaying_nodes: bool,
    /// Seconds between the periodic rounds that sync every room with a few
    /// of its connected hosts, ask a few peers for their manifests and
    /// catch up every followed list; 0 turns them off, leaving the
    /// catch-up every new connection starts.
    pub sync_interval_secs: u64,
    /// Established incoming connections accepted at once; more are
    /// refused. There is no forwarding of room events, so every host of a
    /// room connects to every other: in a federation of more nodes than
    /// this, the first ones (bootstrap peers) refuse the latest.
    pub max_incoming: u32,
    /// Federate rooms only with peers whose name verifies (spec/names.md
    /// §5): a fresh key that proves no name cannot reach this node's
    /// members.
    pub require_verified_names: bool,
}

/// `[names]`: verified node names (spec/names.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NamesSection {
    /// Days a name proof this node signs is valid (1–90).
    pub proof_days: u64,
    /// Seconds a peer's verified name is trusted before it is checked again.
    pub recheck_secs: u64,
    /// Seconds before a name that did not verify is tried again.
    pub retry_secs: u64,
    /// CA certificates (PEM files, relative to the data directory) trusted
    /// for peers' name proofs besides the webpki (Mozilla) roots.
    pub extra_roots: Vec<PathBuf>,
    /// Addresses to reach names at instead of resolving them in DNS
    /// (`"chat.example.org" = "127.0.0.1:8443"`): for tests and private
    /// networks.
    pub resolve: std::collections::BTreeMap<String, SocketAddr>,
}

impl Default for NamesSection {
    fn default() -> Self {
        Self {
            proof_days: 30,
            recheck_secs: 6 * 3600,
            retry_secs: 300,
            extra_roots: vec![],
            resolve: std::collections::BTreeMap::new(),
        }
    }
}

/// A list peers must enforce.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequiredList {
    /// The list (`ISSUER/NAME`).
    pub list: accord_proto::ListId,
    /// How many entries the peer may be behind this node's copy.
    #[serde(default)]
    pub max_lag: u64,
}

impl Default for P2pSection {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/0.0.0.0/tcp/4001".into(), "/ip4/0.0.0.0/udp/4001/quic-v1".into()],
            bootstrap: vec![],
            require_lists: vec![],
            block_relaying_nodes: false,
            sync_interval_secs: 30,
            max_incoming: 512,
            require_verified_names: false,
        }
    }
}

/// How accounts are admitted.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPolicy {
    /// Anyone may register.
    #[default]
    Open,
    /// Registration needs one of the configured invite codes (each once).
    Invite,
    /// Nobody may register.
    Closed,
}

/// `[registration]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSection {
    /// The policy.
    pub policy: RegistrationPolicy,
    /// Invite codes, usable once each, for `policy = "invite"`.
    pub invites: Vec<String>,
    /// Registration attempts per client address (an IPv6 address counts
    /// by its /64) per hour, sustained. Mastodon allows 5 per 30 minutes
    /// per address, Synapse 0.17 per second with a burst of 3.
    pub per_address_per_hour: u32,
    /// Registration attempts one address may make at once.
    pub per_address_burst: u32,
    /// New accounts this node admits per hour, from every address
    /// together (a sliding hour); 0 admits none.
    pub accounts_per_hour: u32,
}

impl Default for RegistrationSection {
    fn default() -> Self {
        Self {
            policy: RegistrationPolicy::default(),
            invites: Vec::new(),
            per_address_per_hour: 10,
            per_address_burst: 5,
            accounts_per_hour: 300,
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Events an account may send per second, sustained.
    pub events_per_second: u32,
    /// Events an account may send in a burst.
    pub burst: u32,
    /// Requests per second per client IP address, on every endpoint.
    pub requests_per_second_per_ip: u32,
    /// Burst of requests per client IP address.
    pub ip_burst: u32,
    /// Concurrent live-stream connections per account.
    pub streams_per_account: usize,
    /// Largest message text this node accepts, in bytes (at most the
    /// protocol's 16 KiB).
    pub max_message_bytes: usize,
    /// Events a peer node may push per second, sustained (a node carries
    /// many users' traffic).
    pub peer_events_per_second: u32,
    /// Events a peer node may push in a burst.
    pub peer_burst: u32,
    /// Federation requests a peer node may make per second, sustained;
    /// beyond it they are answered `busy` without being looked at, and a
    /// peer that keeps flooding is cut off.
    pub peer_requests_per_second: u32,
    /// Federation requests a peer node may make in a burst.
    pub peer_request_burst: u32,
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            events_per_second: 20,
            burst: 40,
            requests_per_second_per_ip: 200,
            ip_burst: 400,
            streams_per_account: 8,
            max_message_bytes: accord_proto::limits::MAX_MESSAGE_TEXT,
            peer_events_per_second: 2000,
            peer_burst: 4000,
            peer_requests_per_second: 200,
            peer_request_burst: 400,
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// When writes are acknowledged: `fsync` (default) or `wal`.
    pub sync: SyncPolicy,
    /// What the node does at start with a store of an older schema:
    /// `apply` its migrations (default), or `refuse` to start until
    /// `accord-node migrate` has run.
    pub migrate: accord_store::Migrate,
    /// RocksDB's memory budget in MiB (at least 8; default 32): half for
    /// the block cache, half for the memtables. What the node holds of its
    /// rooms beside it does not grow with their history.
    pub memory_mb: usize,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::default(),
            migrate: accord_store::Migrate::default(),
            memory_mb: accord_store::DEFAULT_MEMORY_MB,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A `tracing` filter (`info`, `accord_node=debug,info`, …); the
    /// `RUST_LOG` environment variable overrides it.
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self { level: "info".into() }
    }
}

/// `[testing]`: knobs for the node's own tests, which need to observe
/// states that are too short-lived on a small store. Not for operators:
/// every field's default is what a production node does.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TestingSection {
    /// TEST ONLY: a pause before each stored room is loaded at start, so
    /// that a test can watch `/readyz` say "loading rooms" on a store of a
    /// few rooms (spec/client-api.md §11). 0, the default, adds nothing.
    pub room_load_delay_ms: u64,
    /// TEST ONLY: also listen and dial on libp2p's in-process memory
    /// transport (`/memory/PORT` addresses, `/memory/0` for any free
    /// port), noise and yamux on top as over TCP, so that many nodes in one
    /// process federate without a socket each (accord-bench's simulation).
    /// Off, the default, a node has only TCP and QUIC.
    pub memory_transport: bool,
}

impl TestingSection {
    /// Whether every knob is at its default (the section is then not
    /// written).
    pub fn is_unset(&self) -> bool {
        *self == TestingSection::default()
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid configuration.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })?;
        let invalid = |detail: String| ConfigError::Invalid { path: path.display().to_string(), detail };
        let config: Config = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        config.check().map_err(invalid)?;
        Ok(config)
    }

    /// Refuses settings that cannot mean what they say.
    pub fn check(&self) -> Result<(), String> {
        let l = &self.limits;
        if [
            l.events_per_second,
            l.burst,
            l.requests_per_second_per_ip,
            l.ip_burst,
            l.peer_events_per_second,
            l.peer_burst,
            l.peer_requests_per_second,
            l.peer_request_burst,
        ]
        .contains(&0)
        {
            return Err("limits: rates and bursts must be at least 1".into());
        }
        let r = &self.reports;
        if [r.per_reporter_per_hour, r.per_reporter_burst, r.peer_per_minute].contains(&0) {
            return Err("reports: rates and bursts must be at least 1".into());
        }
        if l.streams_per_account == 0 {
            return Err("limits.streams_per_account must be at least 1".into());
        }
        if l.max_message_bytes == 0 || l.max_message_bytes > accord_proto::limits::MAX_MESSAGE_TEXT {
            return Err(format!(
                "limits.max_message_bytes must be 1 to {} (the protocol's limit)",
                accord_proto::limits::MAX_MESSAGE_TEXT
            ));
        }
        for sub in &self.lists.subscribe {
            if sub.witnesses_required.is_some_and(|k| k > sub.witnesses.len()) {
                return Err(format!(
                    "lists.subscribe {}: witnesses_required is more than the {} witnesses named",
                    sub.list,
                    sub.witnesses.len()
                ));
            }
        }
        if let Some(w) = self.lists.witnesses.iter().find(|w| w.node().is_none()) {
            return Err(format!("lists.witnesses: {} is not named accord/v1/witness/NODE_ID", w.name()));
        }
        for addr in &self.p2p.listen {
            addr.parse::<libp2p::Multiaddr>().map_err(|e| format!("p2p.listen: {addr}: {e}"))?;
        }
        for addr in &self.p2p.bootstrap {
            let parsed = addr.parse::<libp2p::Multiaddr>().map_err(|e| format!("p2p.bootstrap: {addr}: {e}"))?;
            if crate::network::peer_of(&parsed).is_none() {
                return Err(format!("p2p.bootstrap: {addr} must end with /p2p/<node id>"));
            }
        }
        if let AdminListen::Tcp(addr) = &self.admin.listen
            && !addr.ip().is_loopback()
        {
            return Err(format!(
                "admin.listen = {addr}: the admin endpoint listens on loopback (127.0.0.1, ::1) or a Unix \
                 socket (unix:PATH) only; reach it from elsewhere through an SSH tunnel"
            ));
        }
        if let Some(everyone) = self.api.trusted_proxies.iter().find(|p| p.is_everyone()) {
            return Err(format!(
                "api.trusted_proxies: {} would let every client name its own address; list the proxies' addresses",
                String::from(*everyone)
            ));
        }
        if self.api.max_body_bytes < 4096 {
            return Err("api.max_body_bytes must be at least 4096".into());
        }
        if self.storage.memory_mb < 8 {
            return Err("storage.memory_mb must be at least 8".into());
        }
        if !(1..=90).contains(&self.names.proof_days) {
            return Err("names.proof_days must be 1 to 90".into());
        }
        if self.names.recheck_secs == 0 || self.names.retry_secs == 0 {
            return Err("names.recheck_secs and names.retry_secs must be at least 1".into());
        }
        if self.p2p.require_verified_names && accord_proto::names::DomainName::parse(self.node.name.as_str()).is_err() {
            tracing::warn!(
                "p2p.require_verified_names is on but node.name {} is not a DNS name: peers that require it will refuse this node",
                self.node.name
            );
        }
        if self.registration.policy == RegistrationPolicy::Invite && self.registration.invites.is_empty() {
            tracing::warn!("registration.policy is \"invite\" but no invite codes are configured");
        }
        Ok(())
    }

    /// Writes the configuration as TOML.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| ConfigError::Invalid { path: path.display().to_string(), detail: e.to_string() })?;
        let header = "# Accord node configuration. Every field is optional; see README.md.\n\n";
        std::fs::write(path, format!("{header}{text}"))
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_listener_is_an_address_or_a_unix_socket_and_reads_back_as_written() {
        for text in ["127.0.0.1:8081", "[::1]:0", "unix:/run/accord/admin.sock", "unix:admin.sock"] {
            let listen: AdminListen = text.parse().expect(text);
            assert_eq!(listen.to_string(), text);
        }
        assert_eq!("unix:admin.sock".parse(), Ok(AdminListen::Unix("admin.sock".into())));
        assert!("unix:".parse::<AdminListen>().is_err());
        assert!("localhost:8081".parse::<AdminListen>().is_err());
        let config: Config = toml::from_str("[admin]\nlisten = \"unix:admin.sock\"\n").expect("valid");
        assert_eq!(
            config.admin.listen.under(Path::new("/srv/accord")),
            AdminListen::Unix("/srv/accord/admin.sock".into())
        );
        let again: Config = toml::from_str(&toml::to_string(&config).expect("serialises")).expect("reads back");
        assert_eq!(again, config);
    }

    #[test]
    fn trusted_proxies_and_their_header_read_back_as_written_and_default_to_none() {
        let config = Config::default();
        assert!(config.api.trusted_proxies.is_empty());
        assert_eq!(config.api.proxy_header, ProxyHeader::XForwardedFor);
        let text = "[api]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nproxy_header = \"forwarded\"\n";
        let config: Config = toml::from_str(text).expect("valid");
        assert_eq!(config.api.proxy_header, ProxyHeader::Forwarded);
        assert!(config.api.trusted_proxies[0].contains("10.2.3.4".parse().unwrap()));
        assert!(config.api.trusted_proxies[1].contains("::1".parse().unwrap()));
        let again: Config = toml::from_str(&toml::to_string(&config).expect("serialises")).expect("reads back");
        assert_eq!(again, config);
        assert!(toml::from_str::<Config>("[api]\ntrusted_proxies = [\"proxy.example\"]\n").is_err());
        assert!(toml::from_str::<Config>("[api]\nproxy_header = \"x-real-ip\"\n").is_err());
        assert_eq!(again.check(), Ok(()));
        let everyone: Config = toml::from_str("[api]\ntrusted_proxies = [\"0.0.0.0/0\"]\n").expect("parses");
        assert!(everyone.check().expect_err("refused").contains("every client"));
    }

    #[test]
    fn the_admin_listener_is_refused_off_loopback_and_defaults_to_a_port_of_its_own() {
        let mut config = Config::default();
        assert_eq!(config.admin.listen, AdminListen::Tcp(SocketAddr::from(([127, 0, 0, 1], 8081))));
        assert_ne!(config.admin.listen, AdminListen::Tcp(config.api.listen));
        assert_eq!(config.check(), Ok(()));
        config.admin.listen = "0.0.0.0:8081".parse().expect("an address");
        assert!(config.check().expect_err("refused").contains("loopback"));
        config.admin.listen = "192.0.2.7:8081".parse().expect("an address");
        assert!(config.check().is_err());
    }
}
