//! Prometheus metrics of the node, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

/// The resident memory of process `pid` (this process if `None`), in bytes,
/// from Linux's `/proc/PID/status`; `None` where it cannot be read.
pub fn resident_bytes(pid: Option<u32>) -> Option<u64> {
    let path = pid.map_or_else(|| "/proc/self/status".to_owned(), |pid| format!("/proc/{pid}/status"));
    let status = std::fs::read_to_string(path).ok()?;
    let kib = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim();
    Some(kib.parse::<u64>().ok()? * 1024)
}

/// Labels: a stable error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    /// The code.
    pub code: String,
}

/// Requests and bytes of the `/accord/federation/1` protocol, as its codec
/// reads and writes them (each side's whole message, before transport
/// framing and encryption).
#[derive(Debug, Clone, Default)]
pub struct FedTraffic {
    /// Requests sent to peers.
    pub requests_sent: Counter,
    /// Requests read from peers.
    pub requests_received: Counter,
    /// Bytes of requests and answers written to peers.
    pub bytes_sent: Counter,
    /// Bytes of requests and answers read from peers.
    pub bytes_received: Counter,
}

/// The node's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Events accepted from local clients.
    pub events_accepted: Counter,
    /// Requests refused, by error code.
    pub rejections: Family<CodeLabel, Counter>,
    /// Accounts registered.
    pub registrations: Counter,
    /// Open live streams.
    pub streams: Gauge,
    /// Seconds from an event's arrival to its durable acknowledgement.
    pub ack_seconds: Histogram,
    /// Connected peers.
    pub fed_peers: Gauge,
    /// Peers blocked for misbehaving.
    pub fed_blocked: Gauge,
    /// Events pushed to peers, by outcome (`accepted`, `duplicate`,
    /// `retry`, `refused`).
    pub fed_pushes: Family<OutcomeLabel, Counter>,
    /// Push attempts that failed or must be repeated.
    pub fed_push_retries: Counter,
    /// Identity pairs left out of pushes because the peer already holds
    /// them (spec/federation.md §3.2).
    pub fed_push_pairs_left_out: Counter,
    /// Pushes sent on a push stream (spec/federation.md §1.2a) rather than
    /// as requests of their own.
    pub fed_pushes_streamed: Counter,
    /// Push streams this node opened to peers.
    pub fed_push_streams_opened: Counter,
    /// Sync rounds run with peers.
    pub fed_syncs: Counter,
    /// Events received from peers and stored.
    pub fed_events_received: Counter,
    /// Traffic of the `/accord/federation/1` protocol.
    pub fed_traffic: FedTraffic,
    /// Rooms taken up at start from their snapshots.
    pub rooms_from_snapshot: Gauge,
    /// Rooms derived at start from all their events.
    pub rooms_derived: Gauge,
    /// Events and requests from peers refused, by code.
    pub fed_rejections: Family<CodeLabel, Counter>,
    /// Gossip messages accepted (and forwarded).
    pub fed_gossip_accepted: Counter,
    /// Blocklist entries received from peers, verified and applied.
    pub list_entries_applied: Counter,
    /// List entries that arrived as suggestions (`suggest` subscriptions).
    pub list_entries_suggested: Counter,
    /// List entries recorded as notices (`notify` subscriptions).
    pub list_entries_noted: Counter,
    /// List issuers found equivocating (and distrusted).
    pub equivocations: Counter,
    /// Events refused or hidden by blocklists, by list category.
    pub blocked: Family<CodeLabel, Counter>,
    /// Evidence recorded against peers that relayed what their declared
    /// lists block.
    pub fed_evidence: Counter,
    /// Stored messages deleted by entries of categories configured to purge.
    pub purged: Counter,
    /// Images whose bytes were purged because an enforced `pdq` entry
    /// matches them.
    pub media_purged: Counter,
    /// Reports verified and queued (filed here or forwarded).
    pub reports: Counter,
    /// Moderation actions taken, by action.
    pub mod_actions: Family<OutcomeLabel, Counter>,
    /// RocksDB's memory, by part (`memtables`, `block_cache`,
    /// `table_readers`), sampled when the metrics are read.
    pub store_memory: Family<PartLabel, Gauge>,
    /// The process's resident memory, sampled when the metrics are read.
    pub resident: Gauge,
    /// The store's group commits, sampled when the metrics are read.
    store_commits: StoreCommits,
}

/// The store writer's counts as counters: each sample adds what the
/// writer committed since the last one.
#[derive(Default)]
struct StoreCommits {
    commits: Counter,
    fsyncs: Counter,
    batches: Counter,
    /// The counts at the last sample.
    last: Mutex<accord_store::CommitStats>,
}

/// Labels: a part of something measured.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartLabel {
    /// The part.
    pub part: String,
}

/// Labels: a push outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// The outcome.
    pub outcome: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("accord");
        let events_accepted = Counter::default();
        let rejections = Family::<CodeLabel, Counter>::default();
        let registrations = Counter::default();
        let streams = Gauge::default();
        let ack_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register("events_accepted", "Events accepted from local clients", events_accepted.clone());
        registry.register("rejections", "Requests refused, by error code", rejections.clone());
        registry.register("registrations", "Accounts registered", registrations.clone());
        registry.register("streams", "Open live streams", streams.clone());
        registry.register("event_ack_seconds", "Event arrival to durable acknowledgement", ack_seconds.clone());
        let fed_peers = Gauge::default();
        let fed_blocked = Gauge::default();
        let fed_pushes = Family::<OutcomeLabel, Counter>::default();
        let fed_push_retries = Counter::default();
        let fed_push_pairs_left_out = Counter::default();
        let fed_pushes_streamed = Counter::default();
        let fed_push_streams_opened = Counter::default();
        let fed_syncs = Counter::default();
        let fed_events_received = Counter::default();
        let fed_rejections = Family::<CodeLabel, Counter>::default();
        let fed_gossip_accepted = Counter::default();
        let list_entries_applied = Counter::default();
        let list_entries_suggested = Counter::default();
        let list_entries_noted = Counter::default();
        let rooms_from_snapshot = Gauge::default();
        let rooms_derived = Gauge::default();
        registry.register(
            "rooms_from_snapshot",
            "Rooms taken up at start from a snapshot of their derived state",
            rooms_from_snapshot.clone(),
        );
        registry.register("rooms_derived", "Rooms derived at start from all their events", rooms_derived.clone());
        registry.register(
            "list_entries_suggested",
            "Blocklist entries of suggest subscriptions recorded as suggestions, pending approval",
            list_entries_suggested.clone(),
        );
        registry.register(
            "list_entries_noted",
            "Blocklist entries of notify subscriptions recorded, never enforced",
            list_entries_noted.clone(),
        );
        let equivocations = Counter::default();
        let blocked = Family::<CodeLabel, Counter>::default();
        let fed_evidence = Counter::default();
        let purged = Counter::default();
        let media_purged = Counter::default();
        let reports = Counter::default();
        let mod_actions = Family::<OutcomeLabel, Counter>::default();
        registry.register("reports", "Reports verified and queued", reports.clone());
        registry.register("mod_actions", "Moderation actions taken, by action", mod_actions.clone());
        registry.register("purged", "Stored messages deleted by blocklist entries of purge categories", purged.clone());
        registry.register(
            "media_purged",
            "Images whose bytes were purged because an enforced pdq entry matches them",
            media_purged.clone(),
        );
        registry.register(
            "fed_evidence",
            "Evidence recorded against peers relaying blocked content",
            fed_evidence.clone(),
        );
        registry.register(
            "list_entries_applied",
            "Blocklist entries received, verified and applied",
            list_entries_applied.clone(),
        );
        registry.register("list_equivocations", "List issuers found equivocating", equivocations.clone());
        registry.register("blocked", "Events and requests refused by blocklists, by category", blocked.clone());
        registry.register("fed_gossip_accepted", "Gossip messages accepted and forwarded", fed_gossip_accepted.clone());
        registry.register("fed_peers", "Connected peers", fed_peers.clone());
        registry.register("fed_blocked_peers", "Peers blocked for misbehaving", fed_blocked.clone());
        registry.register("fed_pushes", "Events pushed to peers, by outcome", fed_pushes.clone());
        registry.register(
            "fed_push_retries",
            "Push attempts that failed or must be repeated",
            fed_push_retries.clone(),
        );
        registry.register(
            "fed_push_pairs_left_out",
            "Identity pairs left out of pushes because the peer holds them",
            fed_push_pairs_left_out.clone(),
        );
        registry.register(
            "fed_pushes_streamed",
            "Pushes sent on a push stream rather than as requests of their own",
            fed_pushes_streamed.clone(),
        );
        registry.register("fed_push_streams_opened", "Push streams opened to peers", fed_push_streams_opened.clone());
        registry.register("fed_syncs", "Sync rounds run with peers", fed_syncs.clone());
        registry.register("fed_events_received", "Events received from peers and stored", fed_events_received.clone());
        registry.register("fed_rejections", "Events and requests from peers refused, by code", fed_rejections.clone());
        let store_memory = Family::<PartLabel, Gauge>::default();
        let resident = Gauge::default();
        registry.register("store_memory_bytes", "RocksDB's memory, by part", store_memory.clone());
        registry.register("resident_bytes", "The node process's resident memory", resident.clone());
        let store_commits = StoreCommits::default();
        registry.register("store_commits", "Group commits written to the store", store_commits.commits.clone());
        registry.register("store_fsyncs", "Group commits that were fsynced", store_commits.fsyncs.clone());
        registry.register(
            "store_committed_batches",
            "Write batches the group commits carried",
            store_commits.batches.clone(),
        );
        let fed_traffic = FedTraffic::default();
        registry.register("fed_requests_sent", "Federation requests sent to peers", fed_traffic.requests_sent.clone());
        registry.register(
            "fed_requests_received",
            "Federation requests read from peers",
            fed_traffic.requests_received.clone(),
        );
        registry.register(
            "fed_bytes_sent",
            "Federation request and answer bytes written",
            fed_traffic.bytes_sent.clone(),
        );
        registry.register(
            "fed_bytes_received",
            "Federation request and answer bytes read",
            fed_traffic.bytes_received.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            events_accepted,
            rejections,
            registrations,
            streams,
            ack_seconds,
            fed_peers,
            fed_blocked,
            fed_pushes,
            fed_push_retries,
            fed_push_pairs_left_out,
            fed_pushes_streamed,
            fed_push_streams_opened,
            fed_syncs,
            fed_events_received,
            fed_traffic,
            rooms_from_snapshot,
            rooms_derived,
            fed_rejections,
            fed_gossip_accepted,
            list_entries_applied,
            list_entries_suggested,
            list_entries_noted,
            equivocations,
            blocked,
            fed_evidence,
            purged,
            media_purged,
            reports,
            mod_actions,
            store_memory,
            resident,
            store_commits,
        }
    }

    /// Brings the store's commit counters up to `now`, the writer's counts.
    pub fn store_commits(&self, now: accord_store::CommitStats) {
        let c = &self.store_commits;
        let mut last = c.last.lock().unwrap_or_else(|p| p.into_inner());
        c.commits.inc_by(now.commits.saturating_sub(last.commits));
        c.fsyncs.inc_by(now.fsyncs.saturating_sub(last.fsyncs));
        c.batches.inc_by(now.batches.saturating_sub(last.batches));
        *last = now;
    }

    /// Sets a part of RocksDB's memory.
    pub fn store_memory(&self, part: &str, bytes: u64) {
        self.store_memory.get_or_create(&PartLabel { part: part.to_string() }).set(bytes as i64);
    }

    /// Counts an image whose bytes were purged.
    pub fn media_purged(&self) {
        self.media_purged.inc();
    }

    /// Counts a refusal of something a peer sent.
    pub fn fed_reject(&self, code: &str) {
        self.fed_rejections.get_or_create(&CodeLabel { code: code.to_string() }).inc();
    }

    /// Counts a push outcome.
    pub fn fed_push(&self, outcome: &str) {
        self.fed_pushes.get_or_create(&OutcomeLabel { outcome: outcome.to_string() }).inc();
    }

    /// Counts a moderation action.
    pub fn mod_action(&self, action: &str) {
        self.mod_actions.get_or_create(&OutcomeLabel { outcome: action.to_string() }).inc();
    }

    /// Counts a refusal.
    pub fn reject(&self, code: &str) {
        self.rejections.get_or_create(&CodeLabel { code: code.to_string() }).inc();
    }

    /// Gives access to the registry (e.g. to add libp2p metrics).
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        let mut guard = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let guard = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &guard).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::resident_bytes;

    #[test]
    fn resident_memory_is_read_for_this_process_and_a_child_and_not_for_a_process_that_is_gone() {
        let own = resident_bytes(None).expect("this process's resident memory");
        assert!(own > 1 << 20, "a test process holds more than 1 MiB: {own}");
        let mut child = std::process::Command::new("sleep").arg("5").spawn().expect("sleep runs");
        let pid = child.id();
        assert!(resident_bytes(Some(pid)).is_some_and(|b| b > 0), "a running child's memory is read");
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(resident_bytes(Some(pid)), None, "a reaped process has no status");
    }
}
