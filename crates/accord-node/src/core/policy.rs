//! Accountable nodes (spec/federation.md §7): signed policy manifests,
//! required lists, and evidence against peers that relay what the lists
//! they declare block.

use crate::core::Core;
use crate::core::lists::Provenance;
use crate::network;
use accord_proto::event::UnverifiedEvent;
use accord_proto::federation::{FedRequest, FedResponse, MANIFESTS_TOPIC};
use accord_proto::policy::PolicyManifest;
use accord_proto::{ListId, NodeId, SignedBytes, Timestamp, Unverified, Verified};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the node checks whether its manifest changed (and announces
/// it).
const PUBLISH_EVERY: Duration = Duration::from_secs(2);

/// Peers' latest verified policy manifests.
#[derive(Default)]
pub(crate) struct Manifests(Mutex<HashMap<NodeId, Verified<PolicyManifest>>>);

impl Manifests {
    /// The latest manifest held from `node`.
    pub(crate) fn get(&self, node: &NodeId) -> Option<Verified<PolicyManifest>> {
        self.lock().get(node).cloned()
    }

    /// Keeps `manifest` unless a newer one from its node is held.
    fn keep(&self, manifest: Verified<PolicyManifest>) {
        let mut held = self.lock();
        if held.get(&manifest.node).is_none_or(|old| old.time < manifest.time) {
            held.insert(manifest.node, manifest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Verified<PolicyManifest>>> {
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

/// Whether a peer meets this node's `require_lists`; if not, why.
pub(crate) async fn meets(state: &Core, peer: &NodeId) -> Result<(), PolicyError> {
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

/// Announces this node's manifest whenever the lists it declares change.
pub(crate) fn spawn_publisher(state: Arc<Core>) {
    state.tasks.clone().spawn(async move {
        let mut last = None;
        let mut tick = tokio::time::interval(PUBLISH_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = state.tasks.shutdown().cancelled() => break,
            }
            let declared = state.lists.declared().await;
            if last.as_ref() == Some(&declared) {
                continue;
            }
            if let Some(signed) = own(&state).await
                && let Ok(bytes) = serde_json::to_vec(signed.raw())
            {
                let _ = state.network.publish(MANIFESTS_TOPIC, bytes).await;
            }
            last = Some(declared);
        }
    });
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
