//! A node run as its own `accord-node` process, so that a test can kill it
//! with SIGKILL at any moment and start it again on the same data
//! directory.

use crate::free_port;
use accord_node::{Config, DataDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An `accord-node` process on a temporary data directory made by
/// `accord-node init`, its API and p2p listeners on fixed loopback ports
/// (the same after every restart), its admin listener on any free one
/// (recorded in `admin.addr` at each start).
pub struct NodeProcess {
    binary: PathBuf,
    dir: tempfile::TempDir,
    api: String,
    p2p: String,
    child: Option<Child>,
    /// Environment variables set (`Some`) or removed (`None`) for the
    /// process, beyond the test's own.
    env: Vec<(String, Option<String>)>,
}

impl NodeProcess {
    /// Runs `BINARY init` for a node named `name` on free loopback ports,
    /// then applies `edit` to the configuration it wrote. The node is not
    /// started.
    pub fn init(binary: &Path, name: &str, edit: impl FnOnce(&mut Config)) -> anyhow::Result<NodeProcess> {
        NodeProcess::init_in(binary, &std::env::temp_dir(), name, edit)
    }

    /// As [`NodeProcess::init`], with the data directory made under
    /// `parent` (a small or lossy filesystem, for the fault tests).
    pub fn init_in(
        binary: &Path,
        parent: &Path,
        name: &str,
        edit: impl FnOnce(&mut Config),
    ) -> anyhow::Result<NodeProcess> {
        let dir = tempfile::Builder::new().prefix("accord-node").tempdir_in(parent)?;
        let api = format!("127.0.0.1:{}", free_port()?);
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port()?);
        let status = Command::new(binary)
            .args(["init", "--data-dir"])
            .arg(dir.path())
            .args(["--name", name, "--api", &api, "--admin", "127.0.0.1:0", "--p2p", &p2p])
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "accord-node init failed: {status}");
        let path = DataDir::new(dir.path()).config();
        let mut config = Config::load(&path)?;
        edit(&mut config);
        config.save(&path)?;
        Ok(NodeProcess { binary: binary.to_path_buf(), dir, api, p2p, child: None, env: Vec::new() })
    }

    /// Copies the data directory `source` (a fixture, e.g. one written by
    /// an older version) into a new temporary one, and points its
    /// configuration at free loopback ports. The node is not started.
    pub fn adopt(binary: &Path, source: &Path) -> anyhow::Result<NodeProcess> {
        let dir = tempfile::Builder::new().prefix("accord-node").tempdir()?;
        copy_dir(source, dir.path())?;
        let api = format!("127.0.0.1:{}", free_port()?);
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port()?);
        let path = DataDir::new(dir.path()).config();
        let mut config = Config::load(&path)?;
        config.api.listen = api.parse()?;
        config.p2p.listen = vec![p2p.clone()];
        config.admin.listen = "127.0.0.1:0".parse().map_err(anyhow::Error::msg)?;
        config.save(&path)?;
        Ok(NodeProcess { binary: binary.to_path_buf(), dir, api, p2p, child: None, env: Vec::new() })
    }

    /// Runs `BINARY restore --from BACKUP` into a new temporary data
    /// directory: the node of the backup, on the addresses its
    /// configuration names (the original's). The node is not started.
    pub fn restore(binary: &Path, backup: &Path) -> anyhow::Result<NodeProcess> {
        let dir = tempfile::Builder::new().prefix("accord-node").tempdir()?;
        let status = Command::new(binary)
            .arg("restore")
            .arg("--from")
            .arg(backup)
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "accord-node restore failed: {status}");
        let config = Config::load(&DataDir::new(dir.path()).config())?;
        let api = config.api.listen.to_string();
        let p2p = config.p2p.listen.first().cloned().unwrap_or_default();
        Ok(NodeProcess { binary: binary.to_path_buf(), dir, api, p2p, child: None, env: Vec::new() })
    }

    /// Starts `accord-node run` and waits until its API answers. A node
    /// that does not answer within `timeout`, or whose process exits,
    /// is an error.
    pub async fn start(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.spawn()?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(r) = reqwest::get(format!("{}/v1/node", self.url())).await
                && r.status().is_success()
            {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!("accord-node exited while starting: {status}");
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the node did not come up within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sets (`Some`) or removes (`None`) an environment variable for the
    /// process at its next start.
    pub fn env(&mut self, key: &str, value: Option<&str>) {
        self.env.push((key.to_owned(), value.map(str::to_owned)));
    }

    /// Runs `BINARY run` on the data directory without waiting for
    /// anything (to watch the node start).
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(&self.binary);
        command.args(["run", "--data-dir"]).arg(self.dir.path()).env("RUST_LOG", "warn");
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps
    /// it.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is running (it has not exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The client API base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.api)
    }

    /// The p2p listen address (without `/p2p/…`).
    pub fn p2p_listen(&self) -> &str {
        &self.p2p
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The node id, as `GET /v1/node` reports it.
    pub async fn node_id(&self) -> anyhow::Result<String> {
        let info: accord_api::node::NodeInfo = reqwest::get(format!("{}/v1/node", self.url())).await?.json().await?;
        Ok(info.node.to_string())
    }

    /// Calls the node's admin endpoint, as [`crate::TestNode::admin`], on
    /// the admin listener the running process recorded in its data
    /// directory.
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        crate::admin_request(self.dir.path(), method, path, body).await
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Copies the directory tree `from` into `to` (which exists), keeping the
/// permissions of each file.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir(&target)?;
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
