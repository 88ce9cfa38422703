//! The node at a glance, for its operator's dashboard
//! (spec/blocklists.md §12.2b): who it is, where it listens, its peers and
//! their reputation, the lists it holds and how far behind they are, and
//! key counters.

use crate::core::Core;
use crate::core::reports;
use crate::network;
use accord_api::admin::{KeyMetrics, ListLag, PeerStatus, StatusResponse};
use accord_api::moderation::CaseFilter;
use std::time::Instant;

/// Samples the memory gauges (RocksDB's parts and the process's resident
/// memory) and the store's commit counters into the metrics, before they
/// are read.
pub fn sample_memory(state: &Core) {
    state.metrics.store_commits(state.store.commits());
    match state.store.memory() {
        Ok(m) => {
            state.metrics.store_memory("memtables", m.memtables);
            state.metrics.store_memory("block_cache", m.block_cache);
            state.metrics.store_memory("table_readers", m.table_readers);
        }
        Err(e) => tracing::debug!("the store's memory could not be read: {e}"),
    }
    state.metrics.resident.set(crate::metrics::resident_bytes(None).unwrap_or(0) as i64);
}

/// What `GET /admin/status` answers.
pub async fn status(state: &Core) -> StatusResponse {
    let now = Instant::now();
    let peers = state
        .network
        .reputation()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let node = network::node_id(&r.peer)?;
            Some(PeerStatus {
                name: crate::core::names::status(state, &node),
                clock_offset_ms: state.clocks.offset_ms(&node),
                node,
                connected: r.connected,
                score: (r.score * 10.0).round() / 10.0,
                penalized: r.penalized,
                blocked: r.blocked,
            })
        })
        .collect();
    let lists = state
        .lists
        .records()
        .await
        .into_iter()
        .map(|r| {
            let seen = state.lists.activity.seen(&r.list);
            let latest = seen.map_or(r.size, |(size, _)| size.max(r.size));
            let signed = r.checkpoint.as_ref().and_then(|c| c.verify(&r.list).ok()).map(|v| v.checkpoint.time);
            ListLag {
                followers: state.lists.activity.followers(&r.list, now),
                own: r.own,
                size: r.size,
                latest,
                behind: latest - r.size,
                signed,
                seen: seen.map(|(_, at)| at),
                distrusted: r.distrusted,
                list: r.list,
            }
        })
        .collect();
    let m = &state.metrics;
    let metrics = KeyMetrics {
        accounts: state.accounts.local_count() as u64,
        rooms: state.rooms.ids().len() as u64,
        streams: u64::try_from(m.streams.get()).unwrap_or(0),
        events_accepted: m.events_accepted.get(),
        events_received: m.fed_events_received.get(),
        list_entries_applied: m.list_entries_applied.get(),
        indexed: state.lists.indexed() as u64,
        open_cases: reports::queue(state, CaseFilter::Open, reports::SourceFilter::All, None).await.len() as u64,
        evidence: m.fed_evidence.get(),
    };
    StatusResponse {
        node: state.node_id,
        name: state.config.node.name.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        api: state.config.api.listen.to_string(),
        p2p: state.network.listen_addrs().iter().map(|a| format!("{a}/p2p/{}", state.node_id)).collect(),
        started: state.started,
        peers,
        lists,
        metrics,
    }
}
