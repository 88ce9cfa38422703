//! Growth: what a node costs as it fills, measured as an operator meets it.
//!
//! The node runs in a process of its own (this binary, re-run with the
//! hidden `--node-process DIR`), so that its resident memory is the node's
//! alone. The scenario reads it idle, after `rooms` rooms are created, after
//! `events` messages are stored in them, and with idle WebSocket clients
//! connected; then kills the node (`SIGKILL`) and times the restart until
//! `/readyz` answers, and reads the memory again.

use crate::net::unlimited;
use crate::report::Report;
use accord_node::{Config, DataDir, Node};
use accord_proto::SecretKey;
use accord_sdk::{Client, JoinRule};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Accounts that create the rooms and send into them.
const ACCOUNTS: usize = 16;
/// How long the loaded node is left without writes before its memory is
/// read again (longer than the 10 s for which a room keeps chain links).
const QUIET: Duration = Duration::from_secs(30);
/// Sends in flight per account over its WebSocket.
const DEPTH: usize = 16;

/// Runs a node on the data directory `dir` until the process is killed
/// (the child side of the scenario).
pub(crate) fn serve(dir: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let _node = Node::start(DataDir::new(dir)).await?;
        std::future::pending::<()>().await;
        anyhow::Ok(())
    })
}

/// The node's process.
pub(crate) struct NodeChild {
    child: Child,
}

impl NodeChild {
    /// Starts the node on `dir` and waits until `url` is ready; how long
    /// that took.
    pub(crate) async fn start(dir: &Path, url: &str) -> anyhow::Result<(NodeChild, Duration)> {
        let started = Instant::now();
        let child = Command::new(std::env::current_exe()?)
            .arg("--node-process")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut node = NodeChild { child };
        loop {
            if let Ok(r) = reqwest::get(format!("{url}/readyz")).await
                && r.status().is_success()
            {
                return Ok((node, started.elapsed()));
            }
            if let Some(status) = node.child.try_wait()? {
                anyhow::bail!("the node exited while starting: {status}");
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "the node was not ready within 10 minutes");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Resident memory, in bytes.
    fn rss(&self) -> anyhow::Result<f64> {
        let bytes = accord_node::metrics::resident_bytes(Some(self.child.id()))
            .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{}/status", self.child.id()))?;
        Ok(bytes as f64)
    }

    /// Kills the process outright and reaps it.
    pub(crate) fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for NodeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory after the node has settled for a moment.
pub(crate) async fn settled_rss(node: &NodeChild) -> anyhow::Result<f64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    node.rss()
}

const MB: f64 = 1024.0 * 1024.0;

/// RocksDB's memtables and block cache, in bytes, as the node's metrics
/// report them.
async fn store_memory(url: &str) -> anyhow::Result<(f64, f64)> {
    let series = crate::net::metrics(url).await?;
    let part = |name: &str| {
        series
            .get(&format!("accord_store_memory_bytes{{part=\"{name}\"}}"))
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the node's metrics have no {name}"))
    };
    Ok((part("memtables")?, part("block_cache")?))
}

pub(crate) async fn run(quick: bool, full_events: usize, report: &mut Report) -> anyhow::Result<()> {
    let (rooms, events, clients) = if quick { (16, 1_600, 64) } else { (1_000, full_events, 1_000) };
    let dir = tempfile::tempdir()?;
    let config = accord_testkit::test_config(|c| {
        unlimited(c);
        c.limits.streams_per_account = clients.max(DEPTH);
        c.api.max_connections = clients * 2 + 256;
    })?;
    let url = format!("http://{}", config.api.listen);
    DataDir::new(dir.path()).init(Some(&config as &Config))?;
    let (node, _) = NodeChild::start(dir.path(), &url).await?;
    let idle = settled_rss(&node).await?;
    report.figure("growth_idle_rss", idle / MB, "MB", None);

    // Rooms, spread over a few accounts.
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let key = SecretKey::generate()?;
        let client = Client::builder().node_url(&url).key(key.clone()).build()?;
        client.register(&format!("grower{i}"), None).await?;
        accounts.push((key, client, Vec::new()));
    }
    for r in 0..rooms {
        let (_, client, held) = &mut accounts[r % ACCOUNTS];
        held.push(client.create_room(&format!("room {r}"), JoinRule::Public).await?.id());
    }
    let with_rooms = settled_rss(&node).await?;
    report.figure("growth_rss_per_1000_rooms", (with_rooms - idle) / MB * 1000.0 / rooms as f64, "MB", None);

    // Messages, sent over each account's WebSocket, DEPTH at a time.
    eprintln!("growth: {events} messages into {rooms} rooms");
    let per_account = events / ACCOUNTS;
    let loading = Instant::now();
    let mut senders = Vec::new();
    for (_, client, held) in &accounts {
        let sender = client.stream_sender();
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..DEPTH {
            let (sender, held, next) = (sender.clone(), held.clone(), next.clone());
            senders.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if k >= per_account {
                        return anyhow::Ok(());
                    }
                    let room = held[k % held.len()];
                    sender.send_text(room, &format!("growth message {k}, of a typical length for a chat")).await?;
                }
            }));
        }
    }
    for sender in futures::future::join_all(senders).await {
        sender??;
    }
    let stored = per_account * ACCOUNTS;
    eprintln!("growth: stored {stored} in {:.1} s", loading.elapsed().as_secs_f64());
    let loaded = settled_rss(&node).await?;
    report.figure("growth_rss_loaded", loaded / MB, "MB", None);
    let (memtables, cache) = store_memory(&url).await?;
    report.figure("growth_store_memtables_loaded", memtables / MB, "MB", None);
    report.figure("growth_store_block_cache_loaded", cache / MB, "MB", None);
    report.figure("growth_rss_per_stored_event", (loaded - with_rooms) / stored as f64, "B", None);
    // The same node once writing has stopped for a while: what it holds
    // for the history, without what the burst of writes left behind (the
    // chain links of its last seconds).
    tokio::time::sleep(if quick { Duration::from_secs(1) } else { QUIET }).await;
    let quiet = settled_rss(&node).await?;
    report.figure("growth_rss_loaded_quiet", quiet / MB, "MB", None);

    // Idle WebSocket clients, each following one room.
    let mut sockets = Vec::new();
    let http = reqwest::Client::new();
    for c in 0..clients {
        let (key, _, held) = &accounts[c % ACCOUNTS];
        let token = crate::ingest::login(&http, &url, key).await?;
        let ws_url = format!("{}/v1/stream?token={token}", url.replacen("http", "ws", 1));
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await?;
        let subscribe = serde_json::json!({"type": "subscribe", "room": held[c % held.len()], "after": u64::MAX >> 12});
        futures::SinkExt::send(&mut ws, tokio_tungstenite::tungstenite::Message::text(subscribe.to_string())).await?;
        sockets.push(ws);
    }
    let with_clients = settled_rss(&node).await?;
    report.figure("growth_rss_per_1000_ws_clients", (with_clients - loaded) / MB * 1000.0 / clients as f64, "MB", None);
    drop(sockets);

    // A restart after a crash: until /readyz answers, then its memory.
    node.kill()?;
    let (node, took) = NodeChild::start(dir.path(), &url).await?;
    report.figure("growth_restart_to_ready", took.as_secs_f64(), "s", None);
    let restarted = settled_rss(&node).await?;
    report.figure("growth_rss_after_restart", restarted / MB, "MB", None);
    // Everything stored is there.
    let (_, client, held) = &accounts[0];
    let state = client.room(held[0]).state().await?;
    anyhow::ensure!(state.latest_cursor > 1, "the restarted node holds the rooms' messages");
    node.kill()?;
    Ok(())
}
