//! Verified node names as the node states them (spec/names.md §4): the
//! name a node claims, and whether its name proof verified.

use accord_proto::{NodeId, Timestamp};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `GET /v1/nodes/{node}/name` → [`NodeNameStatus`] (spec/names.md §4):
    /// what this node knows of another node's name (or its own).
    GetNodeName = Get "/v1/nodes/{node}/name", Public, () => NodeNameStatus
}

/// A node's claimed name and the outcome of the last check of its name
/// proof, fetched from `https://NAME/.well-known/accord/node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeNameStatus {
    /// The node.
    pub node: NodeId,
    /// The DNS name it claims (in its signed policy manifest).
    pub name: String,
    /// Whether the name proof verified at the last check: the name is the
    /// node's.
    pub verified: bool,
    /// When the name was last checked.
    pub checked: Timestamp,
    /// Until when the outcome is kept before the name is checked again.
    pub until: Timestamp,
    /// Why it did not verify: a stable code (spec/names.md §3), `null` when
    /// it verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why it did not verify, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
