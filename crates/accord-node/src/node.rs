//! Starting and stopping a node.

use crate::api::{self, AppState, Shutdown};
use crate::config::{Config, ConfigError};
use crate::keyfile::{self, KeyFileError};
use crate::metrics::Metrics;
use crate::network::{Network, NetworkError};
use crate::rooms::{LoadError, Rooms};
use accord_proto::identity::IdentityDocument;
use accord_proto::{NodeId, SecretKey, Unverified};
use accord_store::{Store, StoreConfig, StoreError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The layout of a node's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// A data directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `accord.toml`
    pub fn config(&self) -> PathBuf {
        self.root.join("accord.toml")
    }

    /// `node.key`
    pub fn key(&self) -> PathBuf {
        self.root.join("node.key")
    }

    /// `admin.token`: the bearer token of the admin endpoint.
    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin.token")
    }

    /// Reads the admin token, making one (mode 0600) if there is none.
    pub fn load_admin_token(&self) -> Result<String, NodeError> {
        let path = self.admin_token();
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(text.trim().to_string());
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| NodeError::Io(e.to_string()))?;
        let token = hex::encode(bytes);
        keyfile::write_private(&path, token.as_bytes())?;
        Ok(token)
    }

    /// The RocksDB directory.
    pub fn db(&self) -> PathBuf {
        self.root.join("db")
    }

    /// Creates the directory, a default (or given) configuration and a node
    /// key where they do not exist yet. Returns whether anything was made.
    pub fn init(&self, config: Option<&Config>) -> Result<bool, NodeError> {
        let mut created = false;
        std::fs::create_dir_all(&self.root).map_err(|e| NodeError::Io(format!("{}: {e}", self.root.display())))?;
        if !self.config().exists() {
            config.cloned().unwrap_or_default().save(&self.config())?;
            created = true;
        }
        if !self.key().exists() {
            let key = SecretKey::generate().map_err(|e| NodeError::Io(e.to_string()))?;
            keyfile::write_new(&self.key(), &key)?;
            created = true;
        }
        Ok(created)
    }

    /// Reads the configuration and the node key.
    pub fn load(&self) -> Result<(Config, SecretKey), NodeError> {
        Ok((Config::load(&self.config())?, keyfile::read(&self.key())?))
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// File system trouble.
    #[error("{0}")]
    Io(String),
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad key file.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Stored rooms could not be loaded.
    #[error("rooms: {0}")]
    Rooms(#[from] LoadError),
    /// The network could not start.
    #[error("network: {0}")]
    Network(#[from] NetworkError),
}

/// What a running node tells its operator.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    /// The node id (libp2p PeerId).
    pub node_id: NodeId,
    /// The node name.
    pub name: String,
    /// The client API address.
    pub api: SocketAddr,
    /// The client API's base URL: `https://…` when the node serves TLS.
    pub api_url: String,
    /// The p2p listen addresses.
    pub p2p: Vec<String>,
    /// The connected peers.
    pub peers: Vec<String>,
    /// The data directory.
    pub data_dir: PathBuf,
}

/// A running node.
pub struct Node {
    state: Arc<AppState>,
    network: Network,
    server: JoinHandle<()>,
    housekeeping: JoinHandle<()>,
    federation: JoinHandle<()>,
    publisher: JoinHandle<()>,
    forwarder: JoinHandle<()>,
    api_addr: SocketAddr,
    data_dir: DataDir,
}

impl Node {
    /// Starts a node on an initialised data directory.
    pub async fn start(data_dir: DataDir) -> Result<Node, NodeError> {
        let (config, node_key) = data_dir.load()?;
        let tls = match &config.api.tls {
            Some(files) => Some(crate::tls::server_config(files, data_dir.root()).map_err(|e| {
                ConfigError::Invalid { path: data_dir.config().display().to_string(), detail: format!("api.tls: {e}") }
            })?),
            None => None,
        };
        let node_id = NodeId::from(node_key.public());
        let store = Store::open(&StoreConfig { path: data_dir.db(), sync: config.storage.sync })?;
        let mut handles = HashMap::new();
        let mut homes = HashMap::new();
        let mut known_identities = HashSet::new();
        for raw in store.identities()? {
            if let Ok(doc) = Unverified::<IdentityDocument>::from_raw(raw).verify() {
                if doc.home == node_id {
                    handles.insert(doc.handle.clone(), doc.account);
                }
                homes.insert(doc.account, doc.home);
                known_identities.insert(doc.body_hash());
            }
        }
        let rooms = Rooms::load(&store, node_id)?;
        let lists = crate::lists::Lists::load(&store, &node_key)?;
        let reports = crate::reports::Reports::load(&store, &config.reports)?;
        let admin_token = data_dir.load_admin_token()?;
        for room in rooms.ids() {
            if let Some(handle) = rooms.get(&room) {
                handle.lock().await.refresh_hosts(|a| homes.get(a).copied());
            }
        }
        let metrics = Arc::new(Metrics::new());
        let (events_tx, net_events) = tokio::sync::mpsc::channel(crate::network::INBOUND_QUEUE);
        let network =
            Network::start(&node_key, &config.p2p.listen, &config.p2p.bootstrap, events_tx, metrics.clone()).await?;
        let listener = tokio::net::TcpListener::bind(config.api.listen)
            .await
            .map_err(|e| NodeError::Io(format!("API address {}: {e}", config.api.listen)))?;
        let api_addr = listener.local_addr().map_err(|e| NodeError::Io(e.to_string()))?;
        let shutdown = Shutdown::default();
        let state = Arc::new(AppState {
            limits: api::limits::Limits::new(&config.limits, &config.reports),
            node_key,
            node_id,
            config,
            store,
            rooms,
            sessions: api::auth::Sessions::default(),
            metrics,
            handles: Mutex::new(handles),
            network: network.clone(),
            homes: Mutex::new(homes),
            known_identities: Mutex::new(known_identities),
            outbox: Default::default(),
            syncing: Mutex::default(),
            appends: Mutex::default(),
            lists,
            reports,
            admin_token,
            manifests: Mutex::default(),
            staged: Mutex::default(),
            registration_lock: tokio::sync::Mutex::new(()),
            creation_lock: tokio::sync::Mutex::new(()),
            shutdown: shutdown.clone(),
            streams: Mutex::new(HashMap::new()),
        });
        let server = tokio::spawn(api::serve::serve(listener, api::router(state.clone()), tls, shutdown.clone()));
        state.outbox.resume(&state)?;
        for sub in &state.config.lists.subscribe {
            let held = state.lists.record(&sub.list).await;
            if held.as_ref().is_none_or(|r| !r.subscribed || r.actions != sub.actions) {
                state
                    .lists
                    .subscribe(&state.store, &sub.list, sub.actions.clone())
                    .await
                    .map_err(|e| NodeError::Io(format!("subscribing to {} from the configuration: {e}", sub.list)))?;
                tracing::info!("subscribed to {} (configuration)", sub.list);
            }
        }
        let publisher = crate::federation::policy::spawn_publisher(state.clone());
        let forwarder = crate::reports::forward::spawn(state.clone());
        let federation = tokio::spawn(crate::federation::serve(state.clone(), net_events));
        let housekeeping_state = state.clone();
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => housekeeping_state.limits.prune(),
                    () = housekeeping_state.shutdown.cancelled() => break,
                }
            }
        });
        tracing::info!(node = %node_id, api = %api_addr, "node started");
        Ok(Node { state, network, server, housekeeping, federation, publisher, forwarder, api_addr, data_dir })
    }

    /// The client API address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The node id.
    pub fn node_id(&self) -> NodeId {
        self.state.node_id
    }

    /// The peer-to-peer network handle.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// What the operator needs to know.
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            node_id: self.state.node_id,
            name: self.state.config.node.name.to_string(),
            api: self.api_addr,
            api_url: format!("{}://{}", self.state.config.api.scheme(), self.api_addr),
            p2p: self.network.listen_addrs().iter().map(|a| format!("{a}/p2p/{}", self.state.node_id)).collect(),
            peers: self.network.peers().iter().map(ToString::to_string).collect(),
            data_dir: self.data_dir.root().to_path_buf(),
        }
    }

    /// Stops serving, waits for in-flight requests, stops the network and
    /// flushes the store.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.state.shutdown.cancel();
        let _ = self.server.await;
        let _ = self.housekeeping.await;
        let _ = self.federation.await;
        let _ = self.publisher.await;
        let _ = self.forwarder.await;
        self.network.shutdown().await;
        // Wait for request handlers and streams to let go of the state, then
        // close the store so that its directory can be opened again.
        let mut state = self.state;
        for _ in 0..100 {
            match Arc::try_unwrap(state) {
                Ok(owned) => {
                    owned.store.close()?;
                    tracing::info!("node stopped");
                    return Ok(());
                }
                Err(shared) => {
                    state = shared;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        state.store.flush()?;
        tracing::warn!("node stopped with requests still holding the store");
        Ok(())
    }
}
