//! Federation peers this node refuses, kept across restarts: the
//! operator's blocks (`/admin/peers/block`, until lifted) and the blocks
//! misbehaviour earned (until they expire).

use crate::{Batch, Cf, Store, StoreError};
use accord_proto::{NodeId, Timestamp};
use serde::{Deserialize, Serialize};

/// A blocked peer as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Blocked {
    node: NodeId,
    /// When an earned block ends; none for the operator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<Timestamp>,
}

impl Store {
    /// Keeps the operator's block of `node`.
    pub async fn put_operator_block(&self, node: &NodeId) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::OperatorBlocks, node.as_bytes().to_vec(), json(&Blocked { node: *node, until: None }));
        self.write(b).await
    }

    /// Forgets the operator's block of `node`.
    pub async fn delete_operator_block(&self, node: &NodeId) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.delete(Cf::OperatorBlocks, node.as_bytes().to_vec());
        self.write(b).await
    }

    /// The nodes the operator blocked.
    pub fn operator_blocks(&self) -> Result<Vec<NodeId>, StoreError> {
        self.scan(Cf::OperatorBlocks, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(_, v)| decode(Cf::OperatorBlocks, v).map(|b| b.node))
            .collect()
    }

    /// Keeps a block `node` earned, until `until`.
    pub async fn put_peer_ban(&self, node: &NodeId, until: Timestamp) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.put(Cf::PeerBans, node.as_bytes().to_vec(), json(&Blocked { node: *node, until: Some(until) }));
        self.write(b).await
    }

    /// The blocks peers earned, with when each ends (expired ones too).
    pub fn peer_bans(&self) -> Result<Vec<(NodeId, Timestamp)>, StoreError> {
        self.scan(Cf::PeerBans, b"", b"", true, usize::MAX)?
            .iter()
            .map(|(_, v)| decode(Cf::PeerBans, v).map(|b| (b.node, b.until.unwrap_or(Timestamp::from_millis(0)))))
            .collect()
    }
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode(cf: Cf, bytes: &[u8]) -> Result<Blocked, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { cf: cf.name(), detail: e.to_string() })
}
