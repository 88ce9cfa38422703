//! Peers' claimed names and the last check of their name proofs
//! (spec/names.md §4), kept across restarts so that a name is not fetched
//! again before its check expires.

use crate::{Batch, Cf, Store, StoreError};
use accord_api::names::NodeNameStatus;
use accord_proto::NodeId;

impl Store {
    /// Keeps the outcome of a check of `status.node`'s name.
    pub async fn put_node_name(&self, status: &NodeNameStatus) -> Result<(), StoreError> {
        let mut b = Batch::new();
        // Serialising this plain data type cannot fail.
        b.put(Cf::NodeNames, status.node.as_bytes().to_vec(), serde_json::to_vec(status).unwrap_or_default());
        self.write(b).await
    }

    /// The last check of `node`'s name, if any.
    pub fn node_name(&self, node: &NodeId) -> Result<Option<NodeNameStatus>, StoreError> {
        self.get(Cf::NodeNames, node.as_bytes())?
            .map(|v| {
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt { cf: Cf::NodeNames.name(), detail: e.to_string() })
            })
            .transpose()
    }
}
