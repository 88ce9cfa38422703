//! Prometheus metrics of the node, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

/// Labels: a stable error code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabel {
    /// The code.
    pub code: String,
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
        Self { registry: Mutex::new(registry), events_accepted, rejections, registrations, streams, ack_seconds }
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
