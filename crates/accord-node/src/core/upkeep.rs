//! The periodic round of upkeep (spec/federation.md §3.3, §7.2): every
//! `p2p.sync_interval_secs`, each room is synced with a few of its
//! connected hosts, a few connected peers are asked for their policy
//! manifests, and every followed list is caught up. The round is bounded
//! per node, not per peer: what the other peers stamped or declared
//! reaches this node by their pushes and gossip, and by later rounds.

use crate::core::Core;
use crate::core::lists::distribution as lists;
use crate::core::policy;
use crate::core::rooms::sync;
use crate::network;
use accord_proto::{NodeId, RoomId};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Connected hosts each room is synced with per round, at most.
pub(crate) const HOSTS_PER_ROUND: usize = 3;

/// Connected peers asked for their manifests per round, at most.
pub(crate) const MANIFESTS_PER_ROUND: usize = 3;

/// Runs one round in the background.
pub(crate) fn round(state: &Arc<Core>) {
    let connected: Vec<NodeId> = state.network.peers().iter().filter_map(network::node_id).collect();
    for peer in sample(connected.clone(), MANIFESTS_PER_ROUND) {
        let state = state.clone();
        state.tasks.clone().spawn(async move { policy::refresh(&state, peer).await });
    }
    sync_rooms(state, connected.into_iter().collect());
    lists::sync_all(state);
}

/// Syncs every room with at most [`HOSTS_PER_ROUND`] of its `connected`
/// hosts, picked at random; the rooms a host was picked for are synced
/// with it one after the other.
fn sync_rooms(state: &Arc<Core>, connected: HashSet<NodeId>) {
    let state = state.clone();
    state.tasks.clone().spawn(async move {
        let mut picked: HashMap<NodeId, Vec<RoomId>> = HashMap::new();
        for room in state.rooms.ids() {
            let Some(handle) = state.rooms.get(&room) else { continue };
            let hosts: Vec<NodeId> =
                handle.lock().await.hosts().iter().filter(|h| connected.contains(h)).copied().collect();
            for host in sample(hosts, HOSTS_PER_ROUND) {
                picked.entry(host).or_default().push(room);
            }
        }
        for (host, rooms) in picked {
            let state = state.clone();
            state.tasks.clone().spawn(async move {
                for room in rooms {
                    sync::sync_room(&state, host, room).await;
                }
            });
        }
    });
}

/// At most `k` of `items`, picked uniformly at random.
fn sample<T>(mut items: Vec<T>, k: usize) -> Vec<T> {
    fastrand::shuffle(&mut items);
    items.truncate(k);
    items
}

#[cfg(test)]
mod tests {
    use super::sample;
    use std::collections::BTreeSet;

    #[test]
    fn a_sample_takes_at_most_k_distinct_items() {
        let picked: BTreeSet<u32> = sample((0..100).collect(), 3).into_iter().collect();
        assert_eq!(picked.len(), 3);
        assert!(picked.iter().all(|i| *i < 100));
        assert_eq!(sample(vec![1, 2], 3).len(), 2);
    }

    #[test]
    fn samples_reach_every_item_over_rounds() {
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            seen.extend(sample((0..10).collect::<Vec<u32>>(), 3));
        }
        assert_eq!(seen.len(), 10);
    }
}
