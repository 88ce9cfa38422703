//! Policy manifests: what a node states, under its signature, about the
//! blocklists it enforces (spec/federation.md §7). Nodes exchange them so
//! that a node can require peers to enforce given lists, and so that a peer
//! that declared a list and still relays what it blocks leaves signed
//! evidence against itself.

use crate::envelope::{Domain, Payload};
use crate::ids::{ListId, NodeId};
use crate::keys::PublicKey;
use crate::names::DomainName;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Largest manifest body, in bytes.
pub const MAX_MANIFEST_BODY: usize = 256 * 1024;
/// Most lists one manifest may declare.
pub const MAX_MANIFEST_LISTS: usize = 1024;

/// One list a node declares it enforces, and how much of it it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredList {
    /// The list.
    pub list: ListId,
    /// Number of entries held (and enforced).
    pub size: u64,
}

/// A node's signed statement of the lists it enforces. Domain
/// `accord/v1/manifest`, signed by `node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyManifest {
    /// The node.
    pub node: NodeId,
    /// The DNS name the node claims, which peers check by fetching its name
    /// proof (spec/names.md); omitted when the node claims none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DomainName>,
    /// The lists it enforces, ordered by list id.
    pub lists: Vec<DeclaredList>,
    /// When it was made.
    pub time: Timestamp,
}

impl PolicyManifest {
    /// The declared size of `list`, if declared.
    pub fn declared(&self, list: &ListId) -> Option<u64> {
        self.lists.iter().find(|d| &d.list == list).map(|d| d.size)
    }
}

impl Payload for PolicyManifest {
    const DOMAIN: Domain = Domain::Manifest;
    const MAX_BODY: usize = MAX_MANIFEST_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.node.public_key()
    }
    fn validate(&self) -> Result<(), String> {
        if self.lists.len() > MAX_MANIFEST_LISTS {
            return Err(format!("more than {MAX_MANIFEST_LISTS} lists"));
        }
        let unique: BTreeSet<&ListId> = self.lists.iter().map(|d| &d.list).collect();
        if unique.len() != self.lists.len() {
            return Err("a list is declared twice".into());
        }
        if !self.lists.windows(2).all(|w| w[0].list < w[1].list) {
            return Err("lists must be ordered by list id".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretKey, Unverified, Verified};

    #[test]
    fn a_manifest_verifies_only_with_its_nodes_signature() {
        let key = SecretKey::from_seed([3; 32]);
        let issuer = crate::IssuerId::from(SecretKey::from_seed([4; 32]).public());
        let manifest = PolicyManifest {
            node: NodeId::from(key.public()),
            name: None,
            lists: vec![DeclaredList { list: ListId { issuer, name: "spam".parse().unwrap() }, size: 7 }],
            time: Timestamp::from_millis(1),
        };
        let signed = Verified::sign(manifest.clone(), &key).unwrap();
        let back = Unverified::<PolicyManifest>::from_raw(signed.raw().clone()).verify().unwrap();
        assert_eq!(back.declared(&manifest.lists[0].list), Some(7));
        let other = SecretKey::from_seed([5; 32]);
        assert!(Verified::sign(manifest, &other).is_err(), "only the node signs its manifest");
    }
}
