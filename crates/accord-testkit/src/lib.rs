//! # accord-testkit
//!
//! Starts real Accord nodes for tests: each on its own temporary data
//! directory (real RocksDB), with its client API and p2p listeners on
//! loopback, and hands out SDK clients registered on them. Used by the
//! node's tests and the repository's end-to-end tests, so no test copies
//! node setup code. [`hostile`] adds a libp2p peer that attacks a node over
//! the federation protocol with crafted bytes (and answers its requests
//! with crafted bytes), and helpers to craft signed identities and events.
//! [`NodeProcess`] runs a node as its own `accord-node` process, for tests
//! that kill it; [`TestNet::partition`] splits nodes with their own
//! firewall; [`observe`] waits for rooms to converge. [`tls`] makes
//! certificates and a TLS-terminating proxy; [`TestNode::start_tls`]
//! starts a node that serves its API over TLS itself. [`browser`] drives
//! headless Chromium, for the web client's and dashboard's tests;
//! [`tamper`] puts a lying HTTP proxy in front of a node, to show that
//! clients verify what their node serves. [`images`] draws seeded photo-like
//! images and the transformations used to evade image hash lists, for the
//! PDQ tests. [`lossy_fs`] mounts a FUSE filesystem that loses what was
//! not fsynced at a power cut, for the durability tests.
#![forbid(unsafe_code)]

pub mod browser;
pub mod hostile;
pub mod images;
pub mod lossy_fs;
mod net;
pub mod observe;
mod process;
pub mod tamper;
pub mod tls;

pub use net::TestNet;
pub use process::NodeProcess;

use accord_api::admin::{BlockPeer, PeerRequest, PeersResponse, UnblockPeer};
use accord_api::{Access, Endpoint, ErrorBody, Method};
use accord_node::config::AdminListen;
use accord_node::local::AdminLink;
use accord_node::{Config, DataDir, Node};
use accord_proto::SecretKey;
use accord_sdk::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Lifts a node's per-account, per-address and per-peer rate limits, for
/// tests and benchmarks whose every client connects from 127.0.0.1 and
/// whose load would otherwise measure the limiter.
pub fn lift_rate_limits(config: &mut Config) {
    let l = &mut config.limits;
    l.events_per_second = 1_000_000;
    l.burst = 1_000_000;
    l.requests_per_second_per_ip = 1_000_000;
    l.ip_burst = 1_000_000;
    l.peer_events_per_second = 1_000_000;
    l.peer_burst = 1_000_000;
}

/// A free TCP port on 127.0.0.1 (bound, then released) for a listener
/// that must keep its port across restarts.
///
/// A port the kernel hands out for `:0` comes from the ephemeral range,
/// where any outgoing connection of a concurrent test may take it before
/// the node binds it. Ports are therefore drawn below that range
/// ([`LOW_PORTS`]), starting at a point that differs per process and
/// moving on at every call, and one that is taken is skipped.
pub fn free_port() -> anyhow::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = u32::from(LOW_PORTS.end - LOW_PORTS.start);
    if NEXT.load(Ordering::Relaxed) == u32::MAX {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let seed = std::process::id().wrapping_mul(7919).wrapping_add(nanos) % span;
        let _ = NEXT.compare_exchange(u32::MAX, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % span;
        let port = LOW_PORTS.start + u16::try_from(offset)?;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port in {LOW_PORTS:?}")
}

/// Where [`free_port`] draws ports: below Linux's default ephemeral range
/// (32768–60999), above the well-known services.
pub const LOW_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A node on loopback with a temporary data directory.
pub struct TestNode {
    node: Option<Node>,
    dir: tempfile::TempDir,
    api: SocketAddr,
    /// For a node serving TLS: the CA certificate (PEM) its clients trust.
    ca: Option<String>,
    /// The admin endpoint's client, made at the first admin call (and again
    /// when a restart moved the listener): a benchmark that polls the
    /// endpoint measures the node, not the building of clients.
    admin: std::sync::Mutex<Option<AdminLink>>,
}

impl TestNode {
    /// Starts a node with the default test configuration: open
    /// registration, API and p2p on loopback ports.
    pub async fn start() -> anyhow::Result<TestNode> {
        Self::start_with(|_| {}).await
    }

    /// Starts a node after `edit` has adjusted its configuration.
    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> anyhow::Result<TestNode> {
        init_logging();
        let dir = tempfile::tempdir()?;
        let config = test_config(edit)?;
        Self::start_in(dir, config, None).await
    }

    /// Starts a node that serves its API over TLS with a certificate for
    /// 127.0.0.1 that `ca` signs (`[api.tls]` naming files in the data
    /// directory, by relative paths), after `edit`. Its
    /// [`client`](Self::client)s trust `ca`.
    pub async fn start_tls(ca: &tls::TestCa, edit: impl FnOnce(&mut Config)) -> anyhow::Result<TestNode> {
        init_logging();
        let dir = tempfile::tempdir()?;
        let issued = ca.issue_loopback()?;
        std::fs::write(dir.path().join("api-cert.pem"), &issued.cert_pem)?;
        std::fs::write(dir.path().join("api-key.pem"), &issued.key_pem)?;
        let config = test_config(|config| {
            config.api.tls =
                Some(accord_node::config::TlsSection { cert: "api-cert.pem".into(), key: "api-key.pem".into() });
            edit(config);
        })?;
        Self::start_in(dir, config, Some(ca.cert_pem())).await
    }

    /// Starts a node named `name` that serves its API over TLS with a
    /// certificate for `name` (and 127.0.0.1) that `ca` signs, so that it
    /// serves its name proof at `https://NAME/.well-known/accord/node` to
    /// peers whose `names.resolve` points `name` at its API (spec/names.md).
    pub async fn start_named(ca: &tls::TestCa, name: &str, edit: impl FnOnce(&mut Config)) -> anyhow::Result<TestNode> {
        init_logging();
        let dir = tempfile::tempdir()?;
        let issued = ca.issue_for(&[name, "127.0.0.1"])?;
        std::fs::write(dir.path().join("api-cert.pem"), &issued.cert_pem)?;
        std::fs::write(dir.path().join("api-key.pem"), &issued.key_pem)?;
        let config = test_config(|config| {
            config.node.name = name.parse().unwrap_or_else(|_| config.node.name.clone());
            config.api.tls =
                Some(accord_node::config::TlsSection { cert: "api-cert.pem".into(), key: "api-key.pem".into() });
            edit(config);
        })?;
        Self::start_in(dir, config, Some(ca.cert_pem())).await
    }

    async fn start_in(dir: tempfile::TempDir, mut config: Config, ca: Option<String>) -> anyhow::Result<TestNode> {
        DataDir::new(dir.path()).init(Some(&config))?;
        let mut attempts = 0;
        loop {
            match Node::start(DataDir::new(dir.path())).await {
                Ok(node) => {
                    return Ok(TestNode {
                        node: Some(node),
                        dir,
                        api: config.api.listen,
                        ca,
                        admin: std::sync::Mutex::new(None),
                    });
                }
                // Another process took a port between its draw and the bind:
                // draw fresh ones.
                Err(e) if attempts < 3 && e.to_string().contains("in use") => {
                    attempts += 1;
                    config.api.listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
                    config.p2p.listen = vec![format!("/ip4/127.0.0.1/tcp/{}", free_port()?)];
                    config.save(&DataDir::new(dir.path()).config())?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The client API base URL (`https://` for a node serving TLS).
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.api)
    }

    /// The client API's address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api
    }

    /// The node's first p2p address, ending in `/p2p/NODE_ID`.
    pub fn p2p_addr(&self) -> String {
        self.node().info().p2p.first().cloned().unwrap_or_default()
    }

    /// The admin listener's base URL (`http://127.0.0.1:PORT`), where the
    /// dashboard is; the test configuration puts it on a loopback port (a
    /// node configured with a Unix socket has none: an error).
    pub fn admin_url(&self) -> anyhow::Result<String> {
        let endpoint = self.node().admin_endpoint();
        endpoint.url().ok_or_else(|| anyhow::anyhow!("the admin listener is {endpoint}, not a TCP address"))
    }

    /// The admin listener, as the running node bound it.
    pub fn admin_endpoint(&self) -> AdminListen {
        self.node().admin_endpoint().clone()
    }

    /// The client of the admin listener, made once per place it is bound.
    fn admin_link(&self) -> anyhow::Result<AdminLink> {
        let endpoint = self.node().admin_endpoint();
        let mut held = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        match held.as_ref() {
            Some(link) if link.endpoint() == endpoint => Ok(link.clone()),
            _ => {
                let token = std::fs::read_to_string(DataDir::new(self.dir.path()).admin_token())?;
                let link = AdminLink::to(endpoint.clone(), token.trim().to_owned(), None)?;
                *held = Some(link.clone());
                Ok(link)
            }
        }
    }

    /// Calls the node's admin endpoint (`/admin/…`) on its admin listener
    /// with its token, as `accord-node list …` does; returns the JSON
    /// answer or the error body.
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        send_admin(&self.admin_link()?, method, path, body).await
    }

    /// Calls one endpoint of the node's admin endpoint with its token, typed
    /// by its accord-api [`Endpoint`]: `params` fill the path's parameters
    /// in order; the answer, or the node's error.
    pub async fn admin_call<E>(&self, params: &[&str], request: &E::Request) -> anyhow::Result<E::Response>
    where
        E: Endpoint,
        E::Request: Serialize,
        E::Response: DeserializeOwned,
    {
        call_admin::<E>(&self.admin_link()?, params, request).await
    }

    /// Cuts this node off from `other` with the operator's firewall
    /// (`POST /admin/peers/block`, spec/federation.md §9).
    pub async fn block_peer(&self, other: &TestNode) -> anyhow::Result<PeersResponse> {
        self.admin_call::<BlockPeer>(&[], &PeerRequest { node: other.node().node_id() }).await
    }

    /// Lifts [`TestNode::block_peer`].
    pub async fn unblock_peer(&self, other: &TestNode) -> anyhow::Result<PeersResponse> {
        self.admin_call::<UnblockPeer>(&[], &PeerRequest { node: other.node().node_id() }).await
    }

    /// Whether a libp2p connection to `other` is open.
    pub fn is_connected_to(&self, other: &TestNode) -> bool {
        self.node().network().is_connected(&accord_node::network::peer_id(&other.node().node_id()))
    }

    /// The node id as text.
    pub fn node_id(&self) -> String {
        self.node().node_id().to_string()
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The running node (panics while paused).
    pub fn node(&self) -> &Node {
        // Only a paused node holds none; tests do not ask it then.
        self.node.as_ref().unwrap_or_else(|| unreachable!("node is running"))
    }

    /// Stops the node gracefully and starts it again on the same data
    /// directory and API address.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(node) = self.node.take() {
            node.shutdown().await?;
        }
        self.node = Some(Node::start(DataDir::new(self.dir.path())).await?);
        Ok(())
    }

    /// Stops the node gracefully and keeps its data directory, to be
    /// started again with [`TestNode::resume`].
    pub async fn pause(&mut self) -> anyhow::Result<()> {
        if let Some(node) = self.node.take() {
            node.shutdown().await?;
        }
        Ok(())
    }

    /// Starts a paused node again on the same data directory and addresses.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        if self.node.is_none() {
            self.node = Some(Node::start(DataDir::new(self.dir.path())).await?);
        }
        Ok(())
    }

    /// An SDK client for `key` (not registered).
    pub fn client(&self, key: SecretKey) -> anyhow::Result<Client> {
        let mut builder = Client::builder().node_url(self.url()).key(key);
        if let Some(ca) = &self.ca {
            builder = builder.add_root_certificate_pem(ca.as_bytes());
        }
        Ok(builder.build()?)
    }

    /// A fresh account registered as `name@<node name>`, and its client.
    pub async fn user(&self, name: &str) -> anyhow::Result<Client> {
        let client = self.client(SecretKey::generate()?)?;
        client.register(name, None).await?;
        Ok(client)
    }

    /// Stops the node gracefully.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(node) = self.node.take() {
            node.shutdown().await?;
        }
        Ok(())
    }
}

/// Sends an admin request (`/admin/…`) to the running node whose data
/// directory is `dir`, on the admin listener it recorded there, with its
/// token, as `accord-node list …` does; the JSON answer, or the error body.
pub async fn admin_request(
    dir: &std::path::Path,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    send_admin(&AdminLink::open(&DataDir::new(dir), None)?, method, path, body).await
}

async fn send_admin(
    link: &AdminLink,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let mut request = link.request(method.parse()?, &format!("/admin{path}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status();
    let value: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "admin {path}: {status}: {value}");
    Ok(value)
}

/// Calls one admin endpoint (`/admin/…`) of the running node whose data
/// directory is `dir`, on the admin listener it recorded there, with its
/// token, typed by its accord-api [`Endpoint`]: a `POST` sends `request` as
/// its JSON body, a `GET` as its query.
pub async fn admin_call<E>(dir: &std::path::Path, params: &[&str], request: &E::Request) -> anyhow::Result<E::Response>
where
    E: Endpoint,
    E::Request: Serialize,
    E::Response: DeserializeOwned,
{
    call_admin::<E>(&AdminLink::open(&DataDir::new(dir), None)?, params, request).await
}

async fn call_admin<E>(link: &AdminLink, params: &[&str], request: &E::Request) -> anyhow::Result<E::Response>
where
    E: Endpoint,
    E::Request: Serialize,
    E::Response: DeserializeOwned,
{
    let metadata = E::METADATA;
    anyhow::ensure!(metadata.access == Access::Admin, "{} is not an admin endpoint", metadata.path);
    let mut target = reqwest::Url::parse(&link.url("/"))?;
    target
        .path_segments_mut()
        .map_err(|()| anyhow::anyhow!("{} is not a base URL", link.url("/")))?
        .pop_if_empty()
        .extend(metadata.segments(params));
    let request = match metadata.method {
        Method::Post => link.request_url(reqwest::Method::POST, target).json(request),
        Method::Get => {
            if let serde_json::Value::Object(fields) = serde_json::to_value(request)? {
                let mut query = target.query_pairs_mut();
                for (name, value) in fields {
                    match value {
                        serde_json::Value::String(text) => query.append_pair(&name, &text),
                        other => query.append_pair(&name, &other.to_string()),
                    };
                }
            }
            link.request_url(reqwest::Method::GET, target)
        }
    };
    let response = request.send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if status.is_success() {
        return Ok(serde_json::from_slice(&body)?);
    }
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(ErrorBody { error }) => Err(anyhow::Error::new(error).context(format!("admin {}: {status}", metadata.path))),
        Err(_) => anyhow::bail!("admin {}: {status}: {}", metadata.path, String::from_utf8_lossy(&body)),
    }
}

/// Logs of the nodes under test go to stderr when `ACCORD_TEST_LOG` holds
/// a filter (e.g. `ACCORD_TEST_LOG=accord_node=debug`).
pub fn init_logging() {
    if let Ok(filter) = std::env::var("ACCORD_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// The configuration tests use: loopback addresses on free ports (the
/// admin listener on one the kernel picks), open
/// registration without its per-address and node-wide rates (every test
/// client registers from 127.0.0.1; a test of those rates sets them),
/// `edit` applied last.
pub fn test_config(edit: impl FnOnce(&mut Config)) -> anyhow::Result<Config> {
    let mut config = Config::default();
    config.node.name = "test.local".parse()?;
    config.registration.per_address_per_hour = 1_000_000;
    config.registration.per_address_burst = 1_000_000;
    config.registration.accounts_per_hour = 1_000_000;
    config.api.listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    // Any free port: the node records where (`admin.addr`), and the test
    // kit and the operator's commands look there.
    config.admin.listen = AdminListen::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)));
    // A fixed port, so that a restarted node is found where it was.
    config.p2p.listen = vec![format!("/ip4/127.0.0.1/tcp/{}", free_port()?)];
    config.log.level = "warn".into();
    edit(&mut config);
    Ok(config)
}
