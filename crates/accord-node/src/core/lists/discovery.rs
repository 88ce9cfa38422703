//! Finding lists to subscribe to (spec/federation.md §3.12): a node
//! answers `lists` with the lists it issues — each with its description,
//! its witnesses and its latest signed checkpoint — and asks a peer the
//! same for its operator, keeping only what verifies.

use crate::core::Core;
use crate::network;
use accord_proto::NodeId;
use accord_proto::blocklist::checkpoint::VerifiedCheckpoint;
use accord_proto::federation::{FedRequest, FedResponse, IssuedList, MAX_ISSUED_LISTS, MAX_LIST_WITNESSES};

/// How long a peer may take to answer `lists`.
const DISCOVER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `lists` answer: the lists this node issues that have a checkpoint,
/// in ascending order of list id, at most [`MAX_ISSUED_LISTS`].
pub(crate) async fn answer(state: &Core) -> FedResponse {
    let witnesses: Vec<String> =
        state.config.lists.witnesses.iter().take(MAX_LIST_WITNESSES).map(|w| w.vkey()).collect();
    let lists = state
        .lists
        .records()
        .await
        .into_iter()
        .filter(|r| r.own)
        .filter_map(|r| {
            Some(IssuedList {
                checkpoint: r.checkpoint?,
                list: r.list,
                description: r.description,
                witnesses: witnesses.clone(),
            })
        })
        .take(MAX_ISSUED_LISTS)
        .collect();
    FedResponse::Lists { lists }
}

/// Why a peer's lists could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The peer did not answer (not reachable, timed out, the network
    /// stopped) or answered something else than `lists`.
    #[error("{0} did not answer: {1}")]
    Unreachable(NodeId, String),
    /// The peer refused the request with this code.
    #[error("{0} refused: {1}: {2}")]
    Refused(NodeId, String, String),
}

impl DiscoverError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "peer_unreachable"
    }
}

/// The lists `peer` issues, each with its verified checkpoint, in the
/// order the peer gave. A list that does not verify (another issuer, over
/// its limits, a bad checkpoint) is left out and counted by its code in
/// `accord_fed_rejections`.
pub(crate) async fn discover(
    state: &Core,
    peer: NodeId,
) -> Result<Vec<(IssuedList, VerifiedCheckpoint)>, DiscoverError> {
    let request = state.network.request(network::peer_id(&peer), FedRequest::Lists {});
    let response = match tokio::time::timeout(DISCOVER_TIMEOUT, request).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(DiscoverError::Unreachable(peer, e.to_string())),
        Err(_) => return Err(DiscoverError::Unreachable(peer, "timed out".into())),
    };
    let lists = match response {
        FedResponse::Lists { lists } => lists,
        FedResponse::Error { code, message } => return Err(DiscoverError::Refused(peer, code, message)),
        _ => return Err(DiscoverError::Unreachable(peer, "an answer of another kind".into())),
    };
    let mut out = Vec::with_capacity(lists.len().min(MAX_ISSUED_LISTS));
    for listed in lists.into_iter().take(MAX_ISSUED_LISTS) {
        match listed.verify(&peer) {
            Ok(verified) => out.push((listed, verified)),
            Err(e) => {
                tracing::info!("{peer} described list {} that does not verify: {e}", listed.list);
                state.metrics.fed_reject(e.code());
            }
        }
    }
    Ok(out)
}
