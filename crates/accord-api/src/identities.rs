//! Identity lookups and the trust signals that come with them
//! (spec/client-api.md §3, spec/reports.md §13).

use crate::provenance::Provenance;
use accord_proto::identity::{Attestation, IdentityDocument, VerificationLevel};
use accord_proto::{NodeId, Timestamp, Unverified};
use serde::{Deserialize, Serialize};

crate::endpoint! {
    /// `GET /v1/identities/{account}` (spec/client-api.md §3).
    GetIdentity = Get "/v1/identities/{account}", Public, () => IdentityResponse
}

/// `GET /v1/identities/{account}` answer (spec/client-api.md §3,
/// spec/reports.md §13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityResponse {
    /// The identity document, signed by the account.
    pub identity: Unverified<IdentityDocument>,
    /// The home node's attestation of it.
    pub attestation: Unverified<Attestation>,
    /// What the answering node knows about the account; `null` when it
    /// has nothing to say. Read leniently: trust signals that do not parse
    /// are dropped, not the identity.
    #[serde(default, deserialize_with = "crate::lenient::option")]
    pub trust: Option<TrustSignals>,
}

/// The `trust` object of an identity lookup (spec/reports.md §13), as the
/// node states it. `home`, `level` and `registered` restate the
/// attestation, which a client verifies instead of trusting them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustSignals {
    /// The account's home node.
    pub home: NodeId,
    /// The home node's attestation level.
    pub level: VerificationLevel,
    /// When the home node registered the account.
    pub registered: Timestamp,
    /// Now minus `registered`, at the answering node's clock.
    pub age_ms: u64,
    /// The enforced blocklist entries that put the account under quarantine.
    #[serde(default)]
    pub flags: Vec<Provenance>,
    /// Open cases at the answering node that accuse the account.
    #[serde(default)]
    pub reports: u64,
    /// The home node's name and whether it verified (spec/names.md §4):
    /// `null` when the home node claims no name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_name: Option<crate::names::NodeNameStatus>,
}
