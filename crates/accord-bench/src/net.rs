//! Node setup shared by the scenarios, on top of `accord-testkit`.

use crate::stats::Samples;
use accord_node::Config;
use accord_sdk::{Client, EventContent, JoinRule, Room, Subscription, TimelineItem};
use accord_testkit::{TestNet, TestNode};
use futures::StreamExt as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// RocksDB's budget of the nodes started, if not the default
/// (`--memory-mb`).
static MEMORY_MB: OnceLock<usize> = OnceLock::new();

/// Gives every node started from now on `mb` MiB for RocksDB.
pub(crate) fn set_memory_mb(mb: usize) {
    let _ = MEMORY_MB.set(mb);
}

/// Lifts the per-account and per-address rate limits, which would
/// otherwise measure the limiter (every benchmark client connects from
/// 127.0.0.1). Durability stays at the node's default (`fsync`); RocksDB's
/// budget too, unless `--memory-mb` says otherwise.
/// Every series a node at `url` reports on `/metrics` (name with its
/// labels), with its value.
pub(crate) async fn metrics(url: &str) -> anyhow::Result<BTreeMap<String, f64>> {
    let page = reqwest::get(format!("{url}/metrics")).await?.error_for_status()?.text().await?;
    let mut series = BTreeMap::new();
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else { continue };
        series.insert(name.to_owned(), value.parse::<f64>()?);
    }
    Ok(series)
}

pub(crate) fn unlimited(config: &mut Config) {
    if let Some(mb) = MEMORY_MB.get() {
        config.storage.memory_mb = *mb;
    }
    accord_testkit::lift_rate_limits(config);
    config.limits.streams_per_account = 64;
}

/// `n` federated nodes with [`unlimited`] limits.
pub(crate) async fn start_net(n: usize) -> anyhow::Result<TestNet> {
    TestNet::start_with(n, |_, _, c| unlimited(c)).await
}

/// A room on `nodes[0]` that a user of every node has joined; the
/// clients and their room handles, in node order.
pub(crate) async fn room_across(nodes: &[TestNode]) -> anyhow::Result<(Vec<Client>, Vec<Room>)> {
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        clients.push(node.user(&format!("user{i}")).await?);
    }
    room_of(clients, &nodes[0]).await
}

/// A room created by the first of `clients` on `home`, joined by the
/// others through `home`; the clients and their room handles, in order.
pub(crate) async fn room_of(clients: Vec<Client>, home: &TestNode) -> anyhow::Result<(Vec<Client>, Vec<Room>)> {
    let first = clients.first().ok_or_else(|| anyhow::anyhow!("a room needs a client"))?;
    let room = first.create_room("bench", JoinRule::Public).await?;
    let via = vec![home.node_id()];
    let mut rooms = vec![room.clone()];
    for client in &clients[1..] {
        let joined = client.room(room.id());
        joined.join_via(&via).await?;
        rooms.push(joined);
    }
    Ok((clients, rooms))
}

/// What the collectors saw of one run.
pub(crate) struct Tally {
    /// Every send-to-receive latency.
    pub(crate) samples: Samples,
    /// Messages received, over all collectors.
    pub(crate) delivered: usize,
    /// Messages that every collector should have received, in all.
    pub(crate) expected: usize,
}

impl Tally {
    /// What `collectors` saw of run `tag`, in which `accepted` messages
    /// were sent.
    pub(crate) fn of(collectors: &[Collector], tag: &str, accepted: usize) -> Tally {
        let mut samples = Samples::default();
        let mut delivered = 0;
        for c in collectors {
            for latency in c.latencies(tag) {
                samples.push(latency);
            }
            delivered += c.count(tag);
        }
        Tally { samples, delivered, expected: accepted * collectors.len() }
    }

    /// The share of the expected messages received.
    pub(crate) fn share(&self) -> f64 {
        if self.expected == 0 { 0.0 } else { self.delivered as f64 / self.expected as f64 }
    }
}

/// The instant the latency clock counts from: sent messages carry their
/// send time in microseconds since it, so that a receiver in this process
/// measures send-to-receive latency with one monotonic clock.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The text of a timed message: a run tag, a sequence number and the
/// time it was due to be sent.
pub(crate) fn timed_text(tag: &str, seq: u64, due: Instant) -> String {
    format!("{tag} {seq} {}", due.saturating_duration_since(epoch()).as_micros())
}

/// The run tag, sequence number and latency of a timed message.
fn timed_latency(item: &TimelineItem) -> Option<(String, u64, Duration)> {
    let EventContent::Message { text, .. } = item.event.content() else { return None };
    let mut parts = text.as_str().split(' ');
    let tag = parts.next()?.to_string();
    let seq: u64 = parts.next()?.parse().ok()?;
    let due = epoch() + Duration::from_micros(parts.next()?.parse().ok()?);
    Some((tag, seq, Instant::now().saturating_duration_since(due)))
}

/// What a collector has received: per run tag, the latency of each
/// sequence number (the first time it arrived).
type Received = HashMap<String, BTreeMap<u64, Duration>>;

/// A task reading one live subscription and recording every timed
/// message's latency as it arrives.
pub(crate) struct Collector {
    received: Arc<Mutex<Received>>,
    failed: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Collector {
    /// Starts reading `sub`.
    pub(crate) fn spawn(mut sub: Subscription) -> Collector {
        let received: Arc<Mutex<Received>> = Arc::default();
        let failed: Arc<Mutex<Option<String>>> = Arc::default();
        let (r, f) = (received.clone(), failed.clone());
        let task = tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                match item {
                    Ok(item) => {
                        if let Some((tag, seq, latency)) = timed_latency(&item) {
                            lock(&r).entry(tag).or_default().entry(seq).or_insert(latency);
                        }
                    }
                    Err(e) => {
                        *lock(&f) = Some(format!("live stream: {e}"));
                        return;
                    }
                }
            }
            *lock(&f) = Some("the live stream ended".into());
        });
        Collector { received, failed, task }
    }

    /// How many distinct messages of run `tag` arrived.
    pub(crate) fn count(&self, tag: &str) -> usize {
        lock(&self.received).get(tag).map_or(0, BTreeMap::len)
    }

    /// The latencies of run `tag`.
    pub(crate) fn latencies(&self, tag: &str) -> Vec<Duration> {
        lock(&self.received).get(tag).map(|m| m.values().copied().collect()).unwrap_or_default()
    }

    /// Why the subscription failed, if it did (an event that does not
    /// verify, a stream that ended).
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failed).clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until every collector has `expected` messages of run `tag`, or
/// until none made progress for `idle`; fails when a collector's stream
/// failed.
pub(crate) async fn drain(collectors: &[Collector], tag: &str, expected: usize, idle: Duration) -> anyhow::Result<()> {
    let mut last = (0, Instant::now());
    loop {
        if let Some(why) = collectors.iter().find_map(Collector::failure) {
            anyhow::bail!(why);
        }
        let total: usize = collectors.iter().map(|c| c.count(tag)).sum();
        if total >= expected * collectors.len() {
            return Ok(());
        }
        if total > last.0 {
            last = (total, Instant::now());
        } else if last.1.elapsed() > idle {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends in flight at most during an offered load.
const MAX_IN_FLIGHT: usize = 1024;

/// How long after its span an offered load may still start sends: a
/// second at full size (a node that falls behind is measured, not waited
/// for); a minute in the smoke run, where only a broken node is that late.
fn grace(quick: bool) -> Duration {
    Duration::from_secs(if quick { 60 } else { 1 })
}

/// The outcome of an offered load.
#[derive(Debug, Default)]
pub(crate) struct Offered {
    /// Messages the node acknowledged.
    pub(crate) accepted: usize,
    /// Sends that failed (the first error is kept).
    pub(crate) failed: usize,
    /// The first failure.
    pub(crate) first_error: Option<String>,
    /// Messages never sent: the node had not acknowledged enough earlier
    /// ones by the end of the span.
    pub(crate) unsent: u64,
    /// Acknowledged messages per second over the offer's span.
    pub(crate) rate: f64,
}

/// Offers `rate` messages per second of run `tag` for `span`, open loop:
/// message `i` is due at `start + i / rate` and sent then whatever is
/// still in flight (up to [`MAX_IN_FLIGHT`]; beyond that the sender waits,
/// and the wait counts in the message's latency). Senders take turns.
pub(crate) async fn offer(senders: &[Room], tag: &str, rate: f64, span: Duration, quick: bool) -> Offered {
    let total = (rate * span.as_secs_f64()).round().max(1.0) as u64;
    epoch();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut out = Offered::default();
    for seq in 0..total {
        let due = start + Duration::from_secs_f64(seq as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        // A node that cannot keep up does not stretch the run: what could
        // not be sent within the span (and its grace) is counted
        // as not sent.
        let Ok(Ok(permit)) =
            tokio::time::timeout_at((start + span + grace(quick)).into(), in_flight.clone().acquire_owned()).await
        else {
            out.unsent = total - seq;
            break;
        };
        let room = senders[seq as usize % senders.len()].clone();
        let text = timed_text(tag, seq, due);
        tasks.spawn(async move {
            let result = room.send_text(&text).await;
            drop(permit);
            result.map(|_| ()).map_err(|e| e.to_string())
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => out.accepted += 1,
            Ok(Err(e)) => {
                out.failed += 1;
                out.first_error.get_or_insert(e);
            }
            Err(e) => {
                out.failed += 1;
                out.first_error.get_or_insert(e.to_string());
            }
        }
    }
    out.rate = out.accepted as f64 / start.elapsed().as_secs_f64();
    out
}

/// Prints the federation counters of every node of `net`, summed: what the
/// run cost in pushes, syncs and requests (a diagnosis, not a figure).
pub(crate) async fn federation_counters(net: &TestNet) -> anyhow::Result<()> {
    let mut sums = std::collections::BTreeMap::<String, f64>::new();
    for node in &net.nodes {
        for (series, value) in metrics(&node.url()).await? {
            if series.starts_with("accord_fed") && !series.contains("peers") && !series.contains("blocked") {
                *sums.entry(series).or_default() += value;
            }
        }
    }
    for (series, value) in sums {
        eprintln!("  {series} {value}");
    }
    Ok(())
}
