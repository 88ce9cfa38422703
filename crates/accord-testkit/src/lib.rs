//! # accord-testkit
//!
//! Starts real Accord nodes for tests: each on its own temporary data
//! directory (real RocksDB), with its client API and p2p listeners on
//! loopback, and hands out SDK clients registered on them. Used by the
//! node's tests and the repository's end-to-end tests, so no test copies
//! node setup code.
#![forbid(unsafe_code)]

use accord_node::{Config, DataDir, Node};
use accord_proto::SecretKey;
use accord_sdk::Client;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A node on loopback with a temporary data directory.
pub struct TestNode {
    node: Option<Node>,
    dir: tempfile::TempDir,
    api: SocketAddr,
}

impl TestNode {
    /// Starts a node with the default test configuration: open
    /// registration, API and p2p on loopback ports.
    pub async fn start() -> anyhow::Result<TestNode> {
        Self::start_with(|_| {}).await
    }

    /// Starts a node after `edit` has adjusted its configuration.
    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> anyhow::Result<TestNode> {
        let dir = tempfile::tempdir()?;
        let config = test_config(edit)?;
        let api = config.api.listen;
        DataDir::new(dir.path()).init(Some(&config))?;
        let node = Node::start(DataDir::new(dir.path())).await?;
        Ok(TestNode { node: Some(node), dir, api })
    }

    /// The client API base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// The running node.
    pub fn node(&self) -> &Node {
        // A TestNode always holds a node except inside `restart`.
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

    /// An SDK client for `key` (not registered).
    pub fn client(&self, key: SecretKey) -> anyhow::Result<Client> {
        Ok(Client::builder().node_url(self.url()).key(key).build()?)
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

/// The configuration tests use: loopback addresses on free ports, open
/// registration, `edit` applied last.
pub fn test_config(edit: impl FnOnce(&mut Config)) -> anyhow::Result<Config> {
    let mut config = Config::default();
    config.node.name = "test.local".parse()?;
    config.api.listen = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    config.p2p.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    config.log.level = "warn".into();
    edit(&mut config);
    Ok(config)
}
