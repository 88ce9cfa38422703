//! Accountable nodes (spec/federation.md §7): signed policy manifests,
//! required lists, and evidence against peers that relay what the lists
//! they declare block.

use crate::core::Core;
use crate::core::lists::Provenance;
use crate::network;
use accord_proto::event::UnverifiedEvent;
use accord_proto::federation::{FedRequest, FedResponse, MANIFESTS_TOPIC};
use accord_proto::policy::{DeclaredList, PolicyManifest};
use accord_proto::{ListId, NodeId, SignedBytes, Timestamp, Unverified, Verified};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the node checks whether its manifest changed (and announces
/// it).
const PUBLISH_EVERY: Duration = Duration::from_secs(2);

/// How often, at most, the node announces a manifest in which only the
/// sizes of the lists it declares changed: one announcement costs every
/// node of the federation a verification, and a busy list changes size
/// with every entry. A change in which lists are declared is announced at
/// the next check.
pub(crate) const SIZES_EVERY: Duration = Duration::from_secs(60);

/// How old a peer's manifest held here may be before a check that finds
/// the peer behind on a required list asks it for a newer one.
const BEHIND_REFRESH_AFTER: Duration = Duration::from_secs(5);

/// A peer's manifest and when this node received it.
#[derive(Clone)]
struct Held {
    manifest: Verified<PolicyManifest>,
    received: Instant,
}

/// Peers' latest verified policy manifests.
#[derive(Default)]
pub(crate) struct Manifests(Mutex<HashMap<NodeId, Held>>);

impl Manifests {
    /// The latest manifest held from `node`.
    pub(crate) fn get(&self, node: &NodeId) -> Option<Verified<PolicyManifest>> {
        self.lock().get(node).map(|h| h.manifest.clone())
    }

    /// Whether the manifest held from `node` was received longer than
    /// `age` ago (or none is held).
    fn older_than(&self, node: &NodeId, age: Duration) -> bool {
        self.lock().get(node).is_none_or(|h| h.received.elapsed() > age)
    }

    /// Keeps `manifest` unless a newer one from its node is held.
    fn keep(&self, manifest: Verified<PolicyManifest>) {
        let mut held = self.lock();
        if held.get(&manifest.node).is_none_or(|old| old.manifest.time < manifest.time) {
            held.insert(manifest.node, Held { manifest, received: Instant::now() });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Held>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// This node's manifest, signed now.
pub(crate) async fn own(state: &Core) -> Option<Verified<PolicyManifest>> {
    let manifest = PolicyManifest {
        node: state.node_id,
        name: crate::core::names::claimed(state),
        lists: state.lists.declared().await,
        time: Timestamp::now(),
    };
    Verified::sign(manifest, &state.node_key).ok()
}

/// Keeps a peer's manifest if it verifies and is newer than the one held;
/// returns the node it is about.
pub(crate) fn accept(state: &Core, signed: SignedBytes) -> Option<NodeId> {
    let manifest = Unverified::<PolicyManifest>::from_raw(signed).verify().ok()?;
    let node = manifest.node;
    if node == state.node_id {
        return Some(node);
    }
    state.policy.keep(manifest);
    Some(node)
}

/// Asks a peer for its manifest.
pub(crate) async fn refresh(state: &Core, peer: NodeId) {
    if let Ok(FedResponse::Manifest { manifest }) =
        state.network.request(network::peer_id(&peer), FedRequest::Manifest {}).await
        && accept(state, *manifest) != Some(peer)
    {
        state.metrics.fed_reject("bad_manifest");
    }
}

/// Whether a peer meets this node's `require_lists`; if not, why. A peer
/// found behind on a required list whose manifest held here is older than
/// [`BEHIND_REFRESH_AFTER`] is asked for its current one first: peers
/// announce a change of sizes alone at most every [`SIZES_EVERY`].
pub(crate) async fn meets(state: &Core, peer: &NodeId) -> Result<(), PolicyError> {
    match meets_as_held(state, peer).await {
        Err(PolicyError::Behind { .. }) if state.policy.older_than(peer, BEHIND_REFRESH_AFTER) => {
            refresh(state, *peer).await;
            meets_as_held(state, peer).await
        }
        judged => judged,
    }
}

/// Whether a peer meets this node's `require_lists` by the manifest held.
async fn meets_as_held(state: &Core, peer: &NodeId) -> Result<(), PolicyError> {
    crate::core::names::meets(state, peer).await?;
    let required = &state.config.p2p.require_lists;
    if required.is_empty() {
        return Ok(());
    }
    let declared = state.policy.get(peer);
    let Some(declared) = declared else {
        return Err(PolicyError::NoManifest);
    };
    for req in required {
        let ours = state.lists.record(&req.list).await.map_or(0, |r| r.size);
        match declared.declared(&req.list) {
            None => return Err(PolicyError::Undeclared(req.list.clone())),
            Some(size) if size + req.max_lag < ours => {
                return Err(PolicyError::Behind { peer: *peer, by: ours - size, list: req.list.clone() });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Why a peer does not meet this node's `p2p.require_lists`
/// (spec/federation.md §7): answered to it as the code `policy`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PolicyError {
    /// No signed manifest of the peer is held yet.
    #[error("no policy manifest from this node yet")]
    NoManifest,
    /// The peer's manifest does not declare a required list.
    #[error("this node requires peers to enforce {0}")]
    Undeclared(ListId),
    /// The peer's verified name is blocked, or does not verify where names
    /// must (spec/names.md §5).
    #[error(transparent)]
    Name(#[from] crate::core::names::NamePolicyError),
    /// The peer declares a required list more entries behind than allowed.
    #[error("{peer} is {by} entries behind on {list}")]
    Behind {
        /// The peer.
        peer: NodeId,
        /// How many entries behind.
        by: u64,
        /// The list.
        list: ListId,
    },
}

impl PolicyError {
    /// The stable code peers are answered with.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            PolicyError::Name(e) => e.code(),
            _ => "policy",
        }
    }
}

/// Announces this node's manifest at start and whenever the lists it
/// declares change; a change of their sizes alone at most once per
/// [`SIZES_EVERY`] (not once per entry applied: one announcement costs
/// every node of the federation a verification).
pub(crate) fn spawn_publisher(state: Arc<Core>) {
    state.tasks.clone().spawn(async move {
        let mut last: Option<Vec<DeclaredList>> = None;
        let mut sizes_announced: Option<Instant> = None;
        let mut tick = tokio::time::interval(PUBLISH_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = state.tasks.shutdown().cancelled() => break,
            }
            let declared = state.lists.declared().await;
            let Some(change) = due(last.as_deref(), sizes_announced.map(|at| at.elapsed()), &declared) else {
                continue;
            };
            if let Some(signed) = own(&state).await
                && let Ok(bytes) = serde_json::to_vec(signed.raw())
            {
                let _ = state.network.publish(MANIFESTS_TOPIC, bytes).await;
            }
            if change == Change::Sizes {
                sizes_announced = Some(Instant::now());
            }
            last = Some(declared);
        }
    });
}

/// What changed in the lists a node declares since it last announced them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Nothing announced yet, or a list declared or no longer declared.
    Lists,
    /// Only the sizes of the lists declared.
    Sizes,
}

/// The change to announce now, if any: `last` is what was last announced
/// (none yet: `None`), `sizes_ago` how long ago a change of sizes alone
/// was last announced. A change of lists is due at once; one of sizes
/// alone once [`SIZES_EVERY`] has passed since the last such
/// announcement.
fn due(last: Option<&[DeclaredList]>, sizes_ago: Option<Duration>, now: &[DeclaredList]) -> Option<Change> {
    let Some(last) = last else { return Some(Change::Lists) };
    if last == now {
        return None;
    }
    let same_lists = last.len() == now.len() && last.iter().zip(now).all(|(a, b)| a.list == b.list);
    if !same_lists {
        return Some(Change::Lists);
    }
    sizes_ago.is_none_or(|ago| ago >= SIZES_EVERY).then_some(Change::Sizes)
}

/// A peer relayed an event that a list it declares blocks, as of an entry
/// it held: keep the signed evidence (the event stamped by the peer, the
/// entry, the peer's signed manifest), count it, and cut the peer off if
/// configured to.
pub(crate) async fn relayed_blocked(state: &Core, peer: NodeId, event: &UnverifiedEvent, provenance: &Provenance) {
    let manifest = state.policy.get(&peer);
    let Some(manifest) = manifest else { return };
    let Some(size) = manifest.declared(&provenance.list) else { return };
    if provenance.entry >= size {
        // The peer had not received the entry yet: no fault.
        return;
    }
    // The entry and its proof, so that anyone can check the evidence
    // without this node (`accord-node evidence verify`).
    let proof = state.lists.entry_proof(&state.store, &provenance.list, provenance.entry).await;
    let Ok(Some((checkpoint, leaf, inclusion))) = proof else {
        tracing::warn!(
            "no proof of {} entry {} held: evidence against {peer} not kept",
            provenance.list,
            provenance.entry
        );
        return;
    };
    let evidence = json!({
        "peer": peer,
        "event": event,
        "provenance": provenance,
        "manifest": manifest.raw(),
        "entry": String::from_utf8_lossy(&leaf),
        "checkpoint": checkpoint,
        "inclusion": inclusion,
        "recorded": Timestamp::now(),
    });
    let Ok(bytes) = serde_json::to_vec(&evidence) else { return };
    if let Err(e) = state.store.put_evidence(&peer, &event.claimed_id(), &bytes).await {
        tracing::error!("keeping evidence against {peer}: {e}");
        return;
    }
    state.metrics.fed_evidence.inc();
    tracing::warn!(
        "{peer} relayed event {} blocked by {} entry {} that it declares enforcing",
        event.claimed_id(),
        provenance.list,
        provenance.entry
    );
    if state.config.p2p.block_relaying_nodes {
        state.network.penalize(network::peer_id(&peer), "relayed_blocked").await;
    }
}

#[cfg(test)]
mod tests {
    use super::{Change, DeclaredList, SIZES_EVERY, due};
    use accord_proto::ListId;
    use std::time::Duration;

    fn declared(lists: &[(&str, u64)]) -> Vec<DeclaredList> {
        let issuer = accord_proto::IssuerId::from(accord_proto::SecretKey::from_seed([7; 32]).public());
        lists
            .iter()
            .map(|(name, size)| DeclaredList { list: ListId { issuer, name: name.parse().unwrap() }, size: *size })
            .collect()
    }

    #[test]
    fn a_first_manifest_is_announced() {
        assert_eq!(due(None, None, &declared(&[])), Some(Change::Lists));
    }

    #[test]
    fn an_unchanged_manifest_is_not_announced_again() {
        let now = declared(&[("abuse", 3)]);
        assert_eq!(due(Some(&now), None, &now), None);
    }

    #[test]
    fn new_sizes_are_announced_at_most_once_per_period() {
        let last = declared(&[("abuse", 3)]);
        let now = declared(&[("abuse", 4)]);
        // The first change of sizes goes out at once (a peer's evidence
        // and require_lists see the entry applied)...
        assert_eq!(due(Some(&last), None, &now), Some(Change::Sizes));
        // ...the next ones once the period since it has passed.
        assert_eq!(due(Some(&last), Some(Duration::from_secs(2)), &now), None);
        assert_eq!(due(Some(&last), Some(SIZES_EVERY), &now), Some(Change::Sizes));
    }

    #[test]
    fn a_list_declared_or_dropped_is_announced_at_once() {
        let last = declared(&[("abuse", 3)]);
        let added = declared(&[("abuse", 3), ("spam", 0)]);
        let swapped = declared(&[("spam", 3)]);
        let just_now = Some(Duration::ZERO);
        assert_eq!(due(Some(&last), just_now, &added), Some(Change::Lists));
        assert_eq!(due(Some(&last), just_now, &swapped), Some(Change::Lists));
        assert_eq!(due(Some(&added), just_now, &last), Some(Change::Lists));
    }
}
