//! The node's state and operations, shared by its doors.
//!
//! Everything the node knows and does lives here: accounts and
//! registration ([`accounts`]), rooms — local appends, ingest of peers'
//! events, sync and join ([`rooms`]) —, the blocklists and their
//! enforcement index ([`lists`]), peers' policy manifests and the evidence
//! against them ([`policy`]), delivery to peers ([`outbox`]), and reports
//! and moderation ([`reports`]). Each operation answers with its own typed
//! error.
//!
//! The doors — the client API, the operator's endpoint and the
//! federation protocol's handlers — parse and authenticate what arrives, call the
//! core and translate its errors. The core imports none of them (the test
//! `core_imports_no_door` fails if it does), so its logic can be tested and
//! changed without HTTP or a peer.

pub mod accounts;
pub mod backup;
pub mod clocks;
pub mod deletion;
pub mod export;
pub mod health;
pub mod limits;
pub mod lists;
pub mod media;
pub mod names;
pub(crate) mod outbox;
pub(crate) mod policy;
pub mod reload;
pub mod reports;
pub mod rooms;
pub mod status;
mod tasks;
#[cfg(test)]
mod tests;
pub(crate) mod upkeep;

pub use tasks::Tasks;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::network::Network;
use accord_proto::{AccountId, NodeId, SecretKey};
use accord_store::Store;
use std::sync::Arc;

/// The node: its key, configuration, store, network handle and services.
/// Shared as `Arc<Core>` by every door and task.
pub struct Core {
    /// The node's key (attestations, stamps, list and audit heads).
    pub(crate) node_key: SecretKey,
    /// The node's id.
    pub(crate) node_id: NodeId,
    /// The configuration.
    pub(crate) config: Config,
    /// The store.
    pub(crate) store: Store,
    /// The peer-to-peer network.
    pub(crate) network: Network,
    /// Metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// Rate limits on clients, reporters and peers.
    pub(crate) limits: Arc<limits::Limits>,
    /// Accounts: handles, home nodes, known identities.
    pub(crate) accounts: accounts::Accounts,
    /// Rooms held here.
    pub(crate) rooms: rooms::Rooms,
    /// Delivery of this node's events to peers.
    pub(crate) outbox: outbox::Outbox,
    /// Blocklists and the enforcement index.
    pub(crate) lists: lists::Lists,
    /// This node's witness of the lists it holds.
    pub(crate) witness: lists::witness::Witness,
    /// Media: limits, quotas, fetches.
    pub(crate) media: media::Media,
    /// Peers' policy manifests.
    pub(crate) policy: policy::Manifests,
    /// Checks of peers' names.
    pub(crate) names: names::Names,
    /// Peers' clocks, estimated from their pushes.
    pub(crate) clocks: clocks::PeerClocks,
    /// Reports, cases, moderators and the audit log.
    pub(crate) reports: reports::Reports,
    /// The node's background tasks.
    pub(crate) tasks: Tasks,
    /// When the core was assembled (the node started).
    pub(crate) started: accord_proto::Timestamp,
}

/// The parts a core is made of, loaded by the node at start.
pub(crate) struct Parts {
    /// The node's key.
    pub(crate) node_key: SecretKey,
    /// The configuration.
    pub(crate) config: Config,
    /// The open store.
    pub(crate) store: Store,
    /// The started network.
    pub(crate) network: Network,
    /// Metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// Accounts read from the store.
    pub(crate) accounts: accounts::Accounts,
    /// Rooms read from the store.
    pub(crate) rooms: rooms::Rooms,
    /// Lists read from the store.
    pub(crate) lists: lists::Lists,
    /// The witness, with its key.
    pub(crate) witness: lists::witness::Witness,
    /// Reports read from the store.
    pub(crate) reports: reports::Reports,
    /// Media state read from the store.
    pub(crate) media: media::Media,
    /// The name checks' HTTPS client.
    pub(crate) names: names::Names,
    /// Rate limits, applied from the moment the listeners bind.
    pub(crate) limits: Arc<limits::Limits>,
    /// The node's tasks, the listeners' among them since they bound.
    pub(crate) tasks: Tasks,
}

impl Core {
    /// Assembles a core from its loaded parts.
    pub(crate) fn new(parts: Parts) -> Core {
        let Parts {
            node_key,
            config,
            store,
            network,
            metrics,
            accounts,
            rooms,
            lists,
            witness,
            reports,
            media,
            names,
            limits,
            tasks,
        } = parts;
        Core {
            node_id: NodeId::from(node_key.public()),
            limits,
            node_key,
            config,
            store,
            network,
            metrics,
            accounts,
            rooms,
            outbox: outbox::Outbox::default(),
            lists,
            witness,
            media,
            policy: policy::Manifests::default(),
            names,
            clocks: clocks::PeerClocks::default(),
            reports,
            tasks,
            started: accord_proto::Timestamp::now(),
        }
    }

    /// The node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The home node of a known account.
    pub fn home_of(&self, account: &AccountId) -> Option<NodeId> {
        self.accounts.home_of(account)
    }

    /// The node's background tasks.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }
}
