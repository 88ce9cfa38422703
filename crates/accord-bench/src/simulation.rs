//! Simulation: 10, 20, 50 and 100 real nodes in this process, federating
//! over libp2p's in-process memory transport (noise and yamux on top, as
//! over TCP; `[testing] memory_transport`), each with its own RocksDB, its
//! client API on loopback and one subscribed SDK client. Every node but
//! the first is given only the first as its bootstrap peer and finds the
//! rest through Kademlia, as in a real federation. Writes are acknowledged
//! once in the WAL, without an fsync (`storage.sync = "wal"`): in a
//! federation every node has a disk of its own, here a hundred would queue
//! on one.
//!
//! At each size: how long the network takes to connect fully; the CPU it
//! uses idle (over a whole period of the nodes' sync rounds); an entry published on a list every other node subscribes to,
//! until every node enforces it; a room spanning every node, at a light
//! offered rate fixed across sizes (so that growth with the size is
//! visible), with send-to-receive latency and the share delivered. CPU is
//! this process's (user and system, every thread) over each window,
//! divided by the number of nodes: CPU-seconds per node per second, beside
//! the ceiling of every core shared among the nodes. It includes each
//! node's subscribed SDK client (which verifies every message again). The
//! room's CPU beyond idle, per message and per node, is the cost that
//! does not depend on the rate: how much one more node costs each message.
//!
//! The smoke run (3 and 5 nodes) fails on any list entry not enforced
//! everywhere, any room not converged, any message lost or not sent.

use crate::net::{Collector, Tally, drain, metrics, offer, room_of, unlimited};
use crate::propagation::{one_list, publish};
use crate::report::Report;
use crate::stats::{Samples, cpu_time, open_fds, rss_bytes};
use accord_proto::SecretKey;
use accord_sdk::{Client, Room};
use accord_store::SyncPolicy;
use accord_testkit::{TestNet, TestNode};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// How long one list entry may take to be enforced everywhere before the
/// scenario counts it as broken.
const PATIENCE: Duration = Duration::from_secs(60);

/// How often the harness asks every node whether it enforces an entry.
const POLL_EVERY: Duration = Duration::from_millis(5);

/// Open files per node, counted at 3 and 5 nodes (about 50: RocksDB's
/// files, the API's and admin listener's sockets and their clients'), with
/// room to spare. The memory transport takes none per connection.
const FDS_PER_NODE: u64 = 80;

/// This process's soft limit of open files (Linux `/proc/self/limits`).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// How long the SDK's HTTP client keeps an idle connection (reqwest's
/// default).
const CLIENT_IDLE_SECS: u64 = 90;

/// Sizes and durations.
struct Plan {
    /// List entries timed per size.
    entries: u64,
    /// Messages per second offered to the room, whatever the size.
    rate: f64,
    /// How long the room's load is offered.
    span: Duration,
    /// How long CPU is measured with nothing offered.
    idle: Duration,
    /// How long the network may take to connect fully.
    mesh_patience: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                entries: 3,
                rate: 10.0,
                span: Duration::from_secs(2),
                idle: Duration::from_secs(1),
                mesh_patience: Duration::from_secs(60),
            }
        } else {
            // 2 msg/s: at 10 msg/s the debug build's 50 nodes needed more
            // than the machine's two cores, and latency measured a queue.
            Plan {
                entries: 10,
                rate: 2.0,
                span: Duration::from_secs(30),
                idle: Duration::from_secs(30),
                mesh_patience: Duration::from_secs(120),
            }
        }
    }
}

/// What one size measured: one row of the table.
#[derive(Debug, Default)]
struct Row {
    nodes: usize,
    setup_s: f64,
    mesh_s: Option<f64>,
    min_peers: usize,
    rss_mb_per_node: f64,
    fds: usize,
    idle_cpu: f64,
    list_p50_ms: f64,
    list_max_ms: f64,
    /// Entries not enforced everywhere within [`PATIENCE`].
    list_missed: u64,
    list_cpu: f64,
    room_p50_ms: f64,
    room_p99_ms: f64,
    room_delivered: f64,
    /// Sends the origin node did not acknowledge, or not in time.
    room_unsent: usize,
    room_cpu: f64,
    /// The room's CPU beyond idle, per message and per node, in ms.
    room_cpu_ms_per_msg_node: f64,
}

/// Runs every size in `sizes` (the defaults when empty).
pub(crate) async fn run(quick: bool, sizes: &[usize], report: &mut Report) -> anyhow::Result<()> {
    let default_sizes: &[usize] = if quick { &[3, 5] } else { &[10, 20, 50, 100] };
    let sizes = if sizes.is_empty() { default_sizes } else { sizes };
    let plan = Plan::new(quick);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let largest = sizes.iter().copied().max().unwrap_or(0);
    if let Some(limit) = open_files_limit() {
        let needed = FDS_PER_NODE * largest as u64 + 256;
        anyhow::ensure!(
            limit >= needed,
            "{largest} nodes need about {needed} open files, and this process may open {limit}: \
             raise the limit (`ulimit -n {needed}`) or run fewer nodes (--simulation-nodes)"
        );
    }
    let mut rows = Vec::new();
    for &n in sizes {
        anyhow::ensure!(n >= 2, "a simulation needs at least two nodes, not {n}");
        let row = one_size(n, &plan, quick).await?;
        let ceiling = Some(cores as f64 / n as f64);
        let name = |what: &str| format!("sim_{n}_nodes_{what}");
        report.figure(&name("setup"), row.setup_s, "s", None);
        report.figure(&name("mesh"), row.mesh_s.unwrap_or(f64::NAN), "s", None);
        report.figure(&name("rss_per_node"), row.rss_mb_per_node, "MB", None);
        report.figure(&name("fds"), row.fds as f64, "fds", None);
        report.figure(&name("idle_cpu_per_node"), row.idle_cpu, "cpu-s/s", ceiling);
        report.figure(&name("list_p50"), row.list_p50_ms, "ms", None);
        report.figure(&name("list_max"), row.list_max_ms, "ms", None);
        report.figure(&name("list_missed"), row.list_missed as f64, "entries", Some(0.0));
        report.figure(&name("list_cpu_per_node"), row.list_cpu, "cpu-s/s", ceiling);
        report.figure(&name("room_p50"), row.room_p50_ms, "ms", None);
        report.figure(&name("room_p99"), row.room_p99_ms, "ms", None);
        report.figure(&name("room_delivered"), row.room_delivered * 100.0, "%", Some(100.0));
        report.figure(&name("room_unsent"), row.room_unsent as f64, "messages", Some(0.0));
        report.figure(&name("room_cpu_per_node"), row.room_cpu, "cpu-s/s", ceiling);
        report.figure(&name("room_cpu_per_msg_per_node"), row.room_cpu_ms_per_msg_node, "ms", None);
        rows.push(row);
        eprint!("{}", table(&rows, &plan, cores));
    }
    Ok(())
}

/// The rows so far as a Markdown table, for the log.
fn table(rows: &[Row], plan: &Plan, cores: usize) -> String {
    let mut out = format!(
        "simulation: {} list entries per size; room at {} msg/s for {} s; CPU in CPU-s per node per s \
         ({cores} cores: ceiling {cores}/N)\n",
        plan.entries,
        plan.rate,
        plan.span.as_secs()
    );
    out.push_str(
        "| nodes | setup s | mesh s | min peers | RSS MB/node | fds | idle CPU/node | list p50 ms | list max ms \
         | missed | list CPU/node | room p50 ms | room p99 ms | delivered | unsent | room CPU/node | room CPU ms/msg/node |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let mesh = r.mesh_s.map_or_else(|| "never".to_string(), |s| format!("{s:.1}"));
        let _ = writeln!(
            out,
            "| {} | {:.1} | {mesh} | {} | {:.1} | {} | {:.4} | {:.0} | {:.0} | {} | {:.4} | {:.0} | {:.0} | {:.2} % | {} | {:.4} | {:.2} |",
            r.nodes,
            r.setup_s,
            r.min_peers,
            r.rss_mb_per_node,
            r.fds,
            r.idle_cpu,
            r.list_p50_ms,
            r.list_max_ms,
            r.list_missed,
            r.list_cpu,
            r.room_p50_ms,
            r.room_p99_ms,
            r.room_delivered * 100.0,
            r.room_unsent,
            r.room_cpu,
            r.room_cpu_ms_per_msg_node,
        );
    }
    out
}

/// This process's CPU time since `since` (of [`cpu_time`]) per node per
/// second of `window`.
fn cpu_per_node(since: Duration, window: Duration, n: usize) -> f64 {
    let used = cpu_time().unwrap_or_default().saturating_sub(since);
    used.as_secs_f64() / window.as_secs_f64().max(1e-9) / n as f64
}

async fn one_size(n: usize, plan: &Plan, quick: bool) -> anyhow::Result<Row> {
    let mut row = Row { nodes: n, ..Row::default() };
    let started = Instant::now();
    let net = start(n).await?;
    let started_all = started.elapsed();
    match net.wait_connected(plan.mesh_patience).await {
        Ok(()) => row.mesh_s = Some(started.elapsed().as_secs_f64()),
        // Not a breakage by itself (a node pushes to a host it is not
        // connected to by finding it in the DHT): a figure, and the run
        // goes on; what breaks is a message or an entry that never arrives.
        Err(e) => eprintln!("simulation: {e}"),
    }
    row.min_peers = net.nodes.iter().map(|node| node.node().network().peer_count()).min().unwrap_or(0);
    eprintln!(
        "simulation: {n} nodes started in {:.1} s, {} connected (fewest peers {})",
        started_all.as_secs_f64(),
        row.mesh_s.map_or_else(|| "not fully".into(), |s| format!("fully in {s:.1} s")),
        row.min_peers
    );
    let result = measure(&net, plan, quick, &mut row, started).await;
    let stopping = Instant::now();
    let stopped = futures::future::join_all(net.nodes.into_iter().map(TestNode::stop)).await;
    eprintln!("simulation: {n} nodes stopped in {:.1} s", stopping.elapsed().as_secs_f64());
    result?;
    stopped.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    Ok(row)
}

/// How long an SDK request may take: the SDK's 30 s is for a node with
/// cores of its own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A room on `nodes[0]` that a user of every node has joined through
/// `nodes[0]`, each client with [`REQUEST_TIMEOUT`]; the clients and their
/// room handles, in node order.
async fn room_across(nodes: &[TestNode]) -> anyhow::Result<(Vec<Client>, Vec<Room>)> {
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let client = Client::builder()
            .node_url(node.url())
            .key(SecretKey::generate()?)
            .request_timeout(REQUEST_TIMEOUT)
            .build()?;
        client.register(&format!("user{i}"), None).await?;
        clients.push(client);
    }
    room_of(clients, &nodes[0]).await
}

/// `n` nodes on the memory transport, each after the first given the first
/// as its only bootstrap peer.
async fn start(n: usize) -> anyhow::Result<TestNet> {
    let mut nodes: Vec<TestNode> = Vec::with_capacity(n);
    for i in 0..n {
        let seed = nodes.first().map(TestNode::p2p_addr);
        let node = TestNode::start_with(|c| {
            unlimited(c);
            c.node.name = format!("s{i}.test").parse().unwrap_or_else(|_| c.node.name.clone());
            c.testing.memory_transport = true;
            c.storage.sync = SyncPolicy::Wal;
            // A hundred nodes share two cores here: a connection's task can
            // wait longer than the API's timeouts, set for one node per
            // machine, allow. And the SDK keeps an idle connection 90 s
            // while the node closes one idle for its header timeout: a
            // client reusing one as the node closes it fails ("connection
            // closed before message completed"), which happened during the
            // joins of a hundred nodes. Both longer than the client's, so
            // that the client always closes first.
            c.api.header_timeout_secs = CLIENT_IDLE_SECS * 2;
            c.api.idle_timeout_secs = CLIENT_IDLE_SECS * 2;
            c.api.body_timeout_secs = CLIENT_IDLE_SECS * 2;
            c.p2p.listen = vec!["/memory/0".into()];
            c.p2p.bootstrap = seed.into_iter().collect();
        })
        .await?;
        nodes.push(node);
    }
    Ok(TestNet { nodes })
}

async fn measure(net: &TestNet, plan: &Plan, quick: bool, row: &mut Row, started: Instant) -> anyhow::Result<()> {
    let n = net.nodes.len();
    // One room on every node, converged (every node holds every join, so
    // every node pushes to every other).
    let (clients, rooms) = room_across(&net.nodes).await?;
    eprintln!("simulation: {n} nodes: every node's user joined after {:.1} s", started.elapsed().as_secs_f64());
    converged(&rooms, Duration::from_secs(600)).await?;
    // One list on the first node, followed by every other.
    let issuer = &net.nodes[0];
    one_list(&net.nodes).await?;
    // A first entry, not timed: every subscriber has fetched the list.
    publish(issuer).await?;
    until_everywhere(&net.nodes, 1, Instant::now(), true).await?;
    let collectors: Vec<Collector> = rooms.iter().map(|r| Collector::spawn(r.subscribe(0))).collect();
    row.setup_s = started.elapsed().as_secs_f64();
    // The whole process's, harness and clients included: memory freed by a
    // smaller size run before is reused, so a difference would understate.
    row.rss_mb_per_node = rss_bytes().unwrap_or(0) as f64 / n as f64 / 1e6;
    row.fds = open_fds().unwrap_or(0);
    eprintln!("simulation: {n} nodes in one room and on one list in {:.1} s", row.setup_s);

    // Idle: nothing offered, the nodes' own upkeep (Kademlia, gossipsub,
    // pings, the periodic sync rounds).
    let mut seen = counters(&net.nodes).await?;
    let mut phase = |name: &str, now: BTreeMap<String, f64>| {
        eprintln!("simulation: {n} nodes, {name}, per node: {}", grown(&seen, &now, n));
        seen = now;
    };
    let cpu = cpu_time().unwrap_or_default();
    let t = Instant::now();
    tokio::time::sleep(plan.idle).await;
    row.idle_cpu = cpu_per_node(cpu, t.elapsed(), n);
    phase("idle", counters(&net.nodes).await?);

    // List propagation.
    let cpu = cpu_time().unwrap_or_default();
    let t = Instant::now();
    let mut everywhere = Samples::default();
    for k in 0..plan.entries {
        let published = Instant::now();
        publish(issuer).await?;
        match until_everywhere(&net.nodes, k + 2, published, quick).await? {
            Some(last) => everywhere.push(last),
            None => row.list_missed += 1,
        }
    }
    row.list_cpu = cpu_per_node(cpu, t.elapsed(), n);
    row.list_p50_ms = everywhere.percentile_ms(50.0);
    row.list_max_ms = everywhere.percentile_ms(100.0);
    phase("list", counters(&net.nodes).await?);
    eprintln!(
        "simulation: {n} nodes: list entries enforced everywhere after p50 {:.0} ms, max {:.0} ms",
        row.list_p50_ms, row.list_max_ms
    );

    // Room delivery: a user of every node sends in turn.
    let cpu = cpu_time().unwrap_or_default();
    let t = Instant::now();
    let tag = format!("sim{n}");
    let offered = offer(&rooms, &tag, plan.rate, plan.span, quick).await;
    drain(&collectors, &tag, offered.accepted, Duration::from_secs(15)).await?;
    let window = t.elapsed();
    row.room_cpu = cpu_per_node(cpu, window, n);
    let beyond_idle = (row.room_cpu - row.idle_cpu).max(0.0) * window.as_secs_f64();
    row.room_cpu_ms_per_msg_node = beyond_idle * 1000.0 / offered.accepted.max(1) as f64;
    phase("room", counters(&net.nodes).await?);
    let tally = Tally::of(&collectors, &tag, offered.accepted);
    let share = tally.share();
    let Tally { samples, delivered, expected } = tally;
    row.room_delivered = share;
    row.room_unsent = offered.failed + usize::try_from(offered.unsent).unwrap_or(usize::MAX);
    row.room_p50_ms = samples.percentile_ms(50.0);
    row.room_p99_ms = samples.percentile_ms(99.0);
    eprintln!(
        "simulation: {n} nodes: {} accepted ({:.1}/s), {} not sent, {} failed{}, {delivered}/{expected} delivered",
        offered.accepted,
        offered.rate,
        offered.unsent,
        offered.failed,
        offered.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    drop(collectors);
    drop(clients);
    // In the smoke run a lost message is a bug; at full size it is the
    // figure above.
    if quick {
        anyhow::ensure!(offered.failed == 0, "sends failed: {:?}", offered.first_error);
        anyhow::ensure!(offered.unsent == 0, "{} messages could not be sent in time", offered.unsent);
        anyhow::ensure!(delivered == expected, "messages lost: {delivered}/{expected} delivered");
    }
    Ok(())
}

/// Waits until every room's node holds every member's join and all agree
/// on the room's history.
async fn converged(rooms: &[Room], patience: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        let states = futures::future::join_all(rooms.iter().map(Room::state)).await;
        let seen: Vec<(usize, Option<String>)> = states
            .iter()
            .map(|s| match s {
                Ok(s) => (s.members.len(), Some(s.history_hash.to_string())),
                Err(_) => (0, None),
            })
            .collect();
        if seen.iter().all(|s| s.0 == rooms.len() && s.1.is_some() && s.1 == seen[0].1) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the room did not converge on {} members within {patience:?}: members seen {:?}",
            rooms.len(),
            seen.iter().map(|s| s.0).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The time since `started` until every node enforces `want` entries (read
/// in place, every [`POLL_EVERY`]: asking a hundred admin endpoints that
/// often would measure the harness). After [`PATIENCE`], an error when
/// `strict`, none otherwise.
async fn until_everywhere(
    nodes: &[TestNode],
    want: u64,
    started: Instant,
    strict: bool,
) -> anyhow::Result<Option<Duration>> {
    let mut left: Vec<&TestNode> = nodes.iter().collect();
    loop {
        left.retain(|node| (node.node().lists_indexed() as u64) < want);
        let now = started.elapsed();
        if left.is_empty() {
            return Ok(Some(now));
        }
        if now > PATIENCE {
            anyhow::ensure!(
                !strict,
                "entry {want} not enforced everywhere within {PATIENCE:?}: {} of {} nodes lack it",
                left.len(),
                nodes.len()
            );
            eprintln!(
                "simulation: entry {want} not enforced on {} of {} nodes within {PATIENCE:?}",
                left.len(),
                nodes.len()
            );
            return Ok(None);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The nodes' federation counters (`accord_fed_*` and list entries
/// applied, from each node's `/metrics`), summed over the nodes, by series.
async fn counters(nodes: &[TestNode]) -> anyhow::Result<BTreeMap<String, f64>> {
    let urls: Vec<String> = nodes.iter().map(TestNode::url).collect();
    let pages = futures::future::join_all(urls.iter().map(|url| metrics(url))).await;
    let mut sums = BTreeMap::new();
    for page in pages {
        for (series, value) in page? {
            let counted = series.starts_with("accord_fed_") || series.starts_with("accord_list_entries_applied");
            if counted && series.contains("_total") {
                *sums.entry(series).or_insert(0.0) += value;
            }
        }
    }
    Ok(sums)
}

/// The counters that grew from `before` to `after`, per node, as one log
/// line.
fn grown(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, n: usize) -> String {
    after
        .iter()
        .filter_map(|(series, v)| {
            let d = v - before.get(series).copied().unwrap_or(0.0);
            let name = series.trim_start_matches("accord_").replace("_total", "");
            (d > 0.0).then(|| format!("{name} {:.1}", d / n as f64))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
