//! What a node says about itself: `GET /v1/node` (spec/client-api.md §3).

use accord_proto::NodeId;
use accord_proto::identity::NodeName;
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `GET /v1/node` → [`NodeInfo`] (spec/client-api.md §3).
    GetNode = Get "/v1/node", Public, () => NodeInfo
}

/// A node's registration policy (spec/client-api.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RegistrationPolicy {
    /// Anyone may register.
    Open,
    /// Registration needs a one-use invite code from the operator.
    Invite,
    /// Nobody may register.
    Closed,
}

/// The answer of `GET /v1/node` (spec/client-api.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id (its key).
    pub node: NodeId,
    /// The node's name: the part after `@` in its users' handles.
    pub name: NodeName,
    /// The node software's version.
    pub version: String,
    /// Who may register.
    pub registration: RegistrationPolicy,
    /// The node's libp2p listen addresses, each ending in `/p2p/NODE_ID`.
    #[serde(default)]
    pub p2p: Vec<String>,
    /// The peers connected now, by PeerId.
    #[serde(default)]
    pub peers: Vec<String>,
}
