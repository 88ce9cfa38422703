//! Starting and stopping a node.

use crate::admin::{self, AdminState};
use crate::api::{self, ApiState};
use crate::config::{AdminListen, Config, ConfigError};
use crate::core::accounts::Accounts;
use crate::core::limits::Limits;
use crate::core::lists::Lists;
use crate::core::reports::Reports;
use crate::core::rooms::{LoadError, LoadProgress, Rooms};
use crate::core::{self, Core, Tasks};
use crate::http::gate::Gate;
use crate::http::serve::{ConnectionLimits, Listener, serve};
use crate::keyfile::{self, KeyFileError};
use crate::metrics::Metrics;
use crate::network::{Network, NetworkError, Transports};
use accord_proto::{NodeId, SecretKey};
use accord_store::{Store, StoreConfig, StoreError};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

    /// `witness.key`: the key this node's witness cosigns list checkpoints
    /// with (spec/blocklists.md §13.3), not the node key.
    pub fn witness_key(&self) -> PathBuf {
        self.root.join("witness.key")
    }

    /// Reads the witness key, making one (mode 0600) if there is none.
    pub fn load_witness_key(&self) -> Result<SecretKey, NodeError> {
        Ok(accord_keyfile::read_or_generate(self.witness_key())?.0)
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

    /// `admin.addr`: where the running node's admin listener is, as bound
    /// (`127.0.0.1:PORT` or `unix:PATH`), written at start and removed at
    /// shutdown, for the operator's commands on this machine.
    pub fn admin_addr(&self) -> PathBuf {
        self.root.join("admin.addr")
    }

    /// Where the operator's commands reach the admin listener: what the
    /// running node wrote to `admin.addr`, else what `config` configures
    /// (a relative socket path under the data directory).
    pub fn admin_endpoint(&self, config: &Config) -> AdminListen {
        std::fs::read_to_string(self.admin_addr())
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or_else(|| config.admin.listen.under(&self.root))
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
        if !self.witness_key().exists() {
            self.load_witness_key()?;
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
    /// The admin listener, as bound (`127.0.0.1:PORT` or `unix:PATH`).
    pub admin: AdminListen,
    /// The p2p listen addresses.
    pub p2p: Vec<String>,
    /// The connected peers.
    pub peers: Vec<String>,
    /// The data directory.
    pub data_dir: PathBuf,
}

/// A running node: its core, and the doors open onto it (the client API
/// with the chat client's pages on one listener, the admin endpoint with
/// the dashboard on another, and the federation handlers).
pub struct Node {
    core: Arc<Core>,
    api_addr: SocketAddr,
    admin: AdminListen,
    data_dir: DataDir,
}

impl Node {
    /// Starts a node on an initialised data directory. The listeners bind
    /// as soon as the store is open, and answer `/healthz`, `/readyz`
    /// ("loading rooms") and `503 starting` while the rooms are loaded; the
    /// peer-to-peer network starts after, so that no peer is served from
    /// half-loaded rooms. Returns once the node serves everything.
    pub async fn start(data_dir: DataDir) -> Result<Node, NodeError> {
        let (config, node_key) = data_dir.load()?;
        let tls = match &config.api.tls {
            Some(files) => Some(crate::tls::server_config(files, data_dir.root()).map_err(|e| {
                ConfigError::Invalid { path: data_dir.config().display().to_string(), detail: format!("api.tls: {e}") }
            })?),
            None => None,
        };
        let store_config = StoreConfig {
            memory_mb: config.storage.memory_mb,
            ..StoreConfig::new(data_dir.db()).sync(config.storage.sync).migrate(config.storage.migrate)
        };
        let (store, migrated) = Store::open_migrating(&store_config)?;
        for step in migrated {
            tracing::info!(from = step.from, to = step.from + 1, "store migrated: {}", step.what);
        }
        let admin_token = data_dir.load_admin_token()?;
        let metrics = Arc::new(Metrics::new());
        let limits = Arc::new(Limits::new(&config.limits, &config.registration, &config.reports));
        let tasks = Tasks::default();
        let progress = Arc::new(LoadProgress::default());
        let listener = tokio::net::TcpListener::bind(config.api.listen)
            .await
            .map_err(|e| NodeError::Io(format!("API address {}: {e}", config.api.listen)))?;
        let api_addr = listener.local_addr().map_err(|e| NodeError::Io(e.to_string()))?;
        let (admin_listener, admin_at) = crate::admin_listener::bind(&config.admin.listen.under(data_dir.root()))
            .await
            .map_err(|e| NodeError::Io(format!("admin.listen {}: {e}", config.admin.listen)))?;
        crate::admin_listener::record(&data_dir.admin_addr(), &admin_at)
            .map_err(|e| NodeError::Io(format!("{}: {e}", data_dir.admin_addr().display())))?;
        let starting = api::starting::router(api::starting::StartingState {
            store: store.clone(),
            progress: progress.clone(),
            bootstrap: config.p2p.bootstrap.len(),
            limits: limits.clone(),
            metrics: metrics.clone(),
        });
        let (api_gate, admin_gate) = (Gate::default(), Gate::default());
        // The servers end by themselves at shutdown, once their requests
        // are answered.
        let connection_limits = ConnectionLimits::of(&config.api);
        tasks.spawn_to_completion(serve(
            Listener::Tcp(listener),
            api_gate.router(starting.clone()),
            tls,
            connection_limits.clone(),
            tasks.clone(),
        ));
        tasks.spawn_to_completion(serve(
            admin_listener,
            admin_gate.router(starting),
            None,
            connection_limits.without_proxies(),
            tasks.clone(),
        ));
        let witness_key = data_dir.load_witness_key()?;
        let names = crate::core::names::Names::new(&config.names, data_dir.root())
            .map_err(|detail| ConfigError::Invalid { path: data_dir.config().display().to_string(), detail })?;
        let loading =
            Loading { node_key, witness_key, config, store, metrics, limits, tasks: tasks.clone(), progress, names };
        match assemble(loading, admin_token, api_gate, admin_gate).await {
            Ok(core) => {
                tracing::info!(node = %core.node_id, api = %api_addr, admin = %admin_at, "node started");
                Ok(Node { core, api_addr, admin: admin_at, data_dir })
            }
            Err(e) => {
                tasks.stop().await;
                crate::admin_listener::release(&data_dir.admin_addr(), &admin_at);
                Err(e)
            }
        }
    }

    /// The client API address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The admin listener, as bound.
    pub fn admin_endpoint(&self) -> &AdminListen {
        &self.admin
    }

    /// The node id.
    pub fn node_id(&self) -> NodeId {
        self.core.node_id
    }

    /// The node's witness's name and key (its C2SP verifier key is
    /// `witness_key().vkey()`).
    pub fn witness_key(&self) -> accord_proto::blocklist::witness::WitnessKey {
        self.core.witness.id().clone()
    }

    /// The peer-to-peer network handle.
    pub fn network(&self) -> &Network {
        &self.core.network
    }

    /// How many list entries the node enforces now (its enforcement
    /// index's size, `indexed` of `GET /admin/lists`), read in place: for a
    /// harness that watches many nodes in its own process.
    pub fn lists_indexed(&self) -> usize {
        self.core.lists.indexed()
    }

    /// What the operator needs to know.
    pub fn info(&self) -> NodeInfo {
        let network = &self.core.network;
        NodeInfo {
            node_id: self.core.node_id,
            name: self.core.config.node.name.to_string(),
            api: self.api_addr,
            api_url: format!("{}://{}", self.core.config.api.scheme(), self.api_addr),
            admin: self.admin.clone(),
            p2p: network.listen_addrs().iter().map(|a| format!("{a}/p2p/{}", self.core.node_id)).collect(),
            peers: network.peers().iter().map(ToString::to_string).collect(),
            data_dir: self.data_dir.root().to_path_buf(),
        }
    }

    /// Takes the rate limits and the lists followed from `config` (read
    /// again from the configuration file, on `SIGHUP`).
    pub async fn reload(&self, config: &Config) -> Result<core::reload::Reloaded, NodeError> {
        core::reload::reload(&self.core, config).await.map_err(|e| NodeError::Io(format!("reloading: {e}")))
    }

    /// Stops the node: cancels its tasks and waits for them (the API server
    /// answers the requests in flight first), stops the network, then
    /// closes the store.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.core.tasks().stop().await;
        crate::admin_listener::release(&self.data_dir.admin_addr(), &self.admin);
        self.core.network.shutdown().await;
        // Every room starts again from where it is now, with nothing to
        // replay.
        if let Err(e) = self.core.rooms.snapshot_all(&self.core.store).await {
            tracing::warn!(error = %e, "rooms' snapshots were not all written");
        }
        // Every task that held the core has ended.
        match Arc::try_unwrap(self.core) {
            Ok(core) => core.store.close()?,
            Err(core) => {
                tracing::error!("the core is still shared after every task ended; flushing the store");
                core.store.flush()?;
            }
        }
        tracing::info!("node stopped");
        Ok(())
    }
}

/// What the node has before its rooms are loaded.
struct Loading {
    node_key: SecretKey,
    witness_key: SecretKey,
    config: Config,
    store: Store,
    metrics: Arc<Metrics>,
    limits: Arc<Limits>,
    tasks: Tasks,
    progress: Arc<LoadProgress>,
    names: crate::core::names::Names,
}

/// Loads what the store holds (the rooms from their snapshots), starts the
/// network and the node's work, and opens the listeners' gates onto the
/// assembled core.
async fn assemble(
    loading: Loading,
    admin_token: String,
    api_gate: Gate,
    admin_gate: Gate,
) -> Result<Arc<Core>, NodeError> {
    let Loading { node_key, witness_key, config, store, metrics, limits, tasks, progress, names } = loading;
    let node_id = NodeId::from(node_key.public());
    let pause = std::time::Duration::from_millis(config.testing.room_load_delay_ms);
    let (accounts, rooms) = {
        let store = store.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || -> Result<_, NodeError> {
            let accounts = Accounts::load(&store, node_id)?;
            let rooms = Rooms::load(&store, node_id, &progress, pause)?;
            Ok((accounts, rooms))
        })
        .await
        .map_err(|e| NodeError::Io(format!("loading the rooms: {e}")))??
    };
    let (loaded, _) = progress.counts();
    metrics.rooms_from_snapshot.set(progress.from_snapshot() as i64);
    metrics.rooms_derived.set((loaded - progress.from_snapshot()) as i64);
    let lists = Lists::load(&store, &node_key)?;
    let witness = crate::core::lists::witness::Witness::new(&node_id, witness_key);
    let reports = Reports::load(&store, &config.reports)?;
    let media = crate::core::media::Media::load(&store, &config.media)?;
    for room in rooms.ids() {
        if let Some(handle) = rooms.get(&room) {
            handle.lock().await.refresh_hosts(|a| accounts.home_of(a));
        }
    }
    let (events_tx, net_events) = tokio::sync::mpsc::channel(crate::network::INBOUND_QUEUE);
    let transports = if config.testing.memory_transport { Transports::WithMemory } else { Transports::Sockets };
    let network = Network::start(
        &node_key,
        &config.p2p.listen,
        &config.p2p.bootstrap,
        transports,
        config.p2p.max_incoming,
        events_tx,
        metrics.clone(),
    )
    .await?;
    let core = Arc::new(Core::new(core::Parts {
        node_key,
        config,
        store,
        network,
        metrics,
        accounts,
        rooms,
        lists,
        witness,
        reports,
        media,
        names,
        limits,
        tasks,
    }));
    restore_blocks(&core).await?;
    core::backup::begin_catch_up(&core).await.map_err(|e| NodeError::Io(format!("reading the restore mark: {e}")))?;
    let api_state = ApiState::new(core.clone());
    api_gate.open(api::router(api_state.clone(), crate::web::chat()));
    // The admin listener serves the client API too: the dashboard's
    // moderators sign in and work through it, from the page's origin.
    let admin_doors = axum::Router::new()
        .nest("/admin", admin::router(AdminState::new(core.clone(), admin_token)))
        .merge(crate::web::dashboard());
    admin_gate.open(api::router(api_state, admin_doors));
    core.outbox.resume(&core)?;
    core::reload::follow_configured(&core, &core.config.lists.subscribe)
        .await
        .map_err(|e| NodeError::Io(format!("subscribing to the lists of the configuration: {e}")))?;
    core::policy::spawn_publisher(core.clone());
    core::reports::forward::spawn(core.clone());
    core::media::sweep::spawn(core.clone());
    core::deletion::republish(&core);
    core.tasks().spawn(crate::federation::serve(core.clone(), net_events));
    core::rooms::providers::announce_all(&core);
    let housekeeping = core.clone();
    core.tasks().spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            housekeeping.limits.prune();
            housekeeping.rooms.release_idle();
        }
    });
    Ok(core)
}

/// Blocks again the peers blocked before the restart: the operator's, and
/// those whose earned block has not ended.
async fn restore_blocks(core: &Core) -> Result<(), NodeError> {
    let store_error = |e: accord_store::StoreError| NodeError::Io(format!("reading the blocked peers: {e}"));
    let operator = core.store.operator_blocks().map_err(store_error)?;
    let now = accord_proto::Timestamp::now().as_millis();
    let earned: Vec<_> = core
        .store
        .peer_bans()
        .map_err(store_error)?
        .into_iter()
        .filter(|(_, until)| until.as_millis() > now)
        .map(|(node, until)| {
            (crate::network::peer_id(&node), std::time::Duration::from_millis(until.as_millis() - now))
        })
        .collect();
    if !operator.is_empty() || !earned.is_empty() {
        tracing::info!(
            "{} peers blocked by the operator and {} by their conduct, kept from before",
            operator.len(),
            earned.len()
        );
    }
    let operator = operator.iter().map(crate::network::peer_id).collect();
    core.network.restore(operator, earned).await.map_err(|e| NodeError::Io(format!("restoring blocks: {e}")))
}
