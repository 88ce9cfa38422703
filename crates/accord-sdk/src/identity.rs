//! Verified identities: an account's identity document together with its
//! home node's attestation, both checked.

// `VerificationError` holds typed account and node ids (about 200 bytes
// each) and is returned only on failures; see `verify.rs`.
#![allow(clippy::result_large_err)]

use crate::error::VerificationError;
use accord_api::Provenance;
use accord_api::identities::TrustSignals as WireTrust;
use accord_proto::identity::{Attestation, Handle, IdentityDocument, VerificationLevel};
use accord_proto::{AccountId, NodeId, Timestamp, Unverified, Verified};
use serde::Serialize;
use std::time::Duration;

/// An account's identity, verified: the identity document signed by the
/// account and the attestation signed by the home node the document names,
/// attesting exactly that document.
///
/// An identity fetched from the node ([`Client::identity`](crate::Client::identity))
/// also carries the node's [`TrustSignals`] about the account, when the
/// node gives them.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    document: Verified<IdentityDocument>,
    attestation: Verified<Attestation>,
    trust: Option<TrustSignals>,
}

/// What the answering node knows about an account before anyone trusts
/// it: the `trust` object of `GET /v1/identities/{account}`
/// (spec/reports.md §13).
///
/// `home`, `level` and `registered` are taken from the verified identity
/// document and attestation, not from the node's word; `age`, `flags`
/// and `reports` are the node's view, as of the lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TrustSignals {
    /// The account's home node.
    pub home: NodeId,
    /// What the home node checked about the account (its attestation level).
    pub level: VerificationLevel,
    /// When the home node registered the account (the home node's clock).
    pub registered: Timestamp,
    /// How old the account is: the answering node's clock minus `registered`.
    #[serde(rename = "age_ms", serialize_with = "millis")]
    pub age: Duration,
    /// The blocklist entries enforced at the answering node that put the
    /// account under quarantine. (An account under a `reject` entry is not
    /// answered at all: the lookup fails with `blocked`.)
    pub flags: Vec<Provenance>,
    /// How many open report cases at the answering node accuse the
    /// account: context for moderators, not a verdict.
    pub reports: u64,
    /// The name the home node claims and whether its name proof verified
    /// at the answering node (spec/names.md §4); `None` when it claims none.
    pub home_name: Option<accord_api::names::NodeNameStatus>,
}

impl TrustSignals {
    /// Whether the account is younger than `min_age`.
    pub fn is_younger_than(&self, min_age: Duration) -> bool {
        self.age < min_age
    }

    /// Whether a blocklist entry puts the account under quarantine.
    pub fn is_flagged(&self) -> bool {
        !self.flags.is_empty()
    }
}

fn millis<S: serde::Serializer>(age: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
}

impl VerifiedIdentity {
    /// Verifies a document and an attestation and checks that they belong
    /// together: the attestation names the document's account and the hash
    /// of its exact bytes, and is signed by the document's home node.
    pub fn verify(
        document: &Unverified<IdentityDocument>,
        attestation: &Unverified<Attestation>,
    ) -> Result<Self, VerificationError> {
        let document = document.verify().map_err(VerificationError::IdentityDocument)?;
        let attestation = attestation.verify().map_err(VerificationError::Attestation)?;
        Self::from_verified(document, attestation)
    }

    /// Joins a verified document and attestation, checking that they belong together.
    pub fn from_verified(
        document: Verified<IdentityDocument>,
        attestation: Verified<Attestation>,
    ) -> Result<Self, VerificationError> {
        let account = document.account;
        let mismatch = |reason: String| Err(VerificationError::IdentityMismatch { account, reason });
        if attestation.account != account {
            return mismatch(format!("the attestation is for {}", attestation.account));
        }
        if attestation.identity != document.body_hash() {
            return mismatch("the attestation names another identity document".into());
        }
        // The attestation verified against the key of `attestation.node`
        // (its expected signer), so this makes the home node its signer.
        if attestation.node != document.home {
            return mismatch(format!(
                "the document names home node {}, but the attestation is by {}",
                document.home, attestation.node
            ));
        }
        Ok(Self { document, attestation, trust: None })
    }

    /// Attaches the node's trust signals, completed from the verified
    /// document and attestation.
    pub(crate) fn with_trust(mut self, raw: WireTrust) -> Self {
        self.trust = Some(TrustSignals {
            home: self.home(),
            level: self.level(),
            registered: self.registered(),
            age: Duration::from_millis(raw.age_ms),
            flags: raw.flags,
            reports: raw.reports,
            home_name: raw.home_name,
        });
        self
    }

    /// Checks that this is the identity of `account`.
    pub(crate) fn expect_account(self, account: &AccountId) -> Result<Self, VerificationError> {
        if self.account() != *account {
            return Err(VerificationError::IdentityMismatch {
                account: *account,
                reason: format!("the node returned the identity of {}", self.account()),
            });
        }
        Ok(self)
    }

    /// The account.
    pub fn account(&self) -> AccountId {
        self.document.account
    }

    /// The human handle, `name@node`.
    pub fn handle(&self) -> &Handle {
        &self.document.handle
    }

    /// The home node, which stamps the account's events.
    pub fn home(&self) -> NodeId {
        self.document.home
    }

    /// When the account made its identity document (its own clock).
    pub fn created(&self) -> Timestamp {
        self.document.created
    }

    /// When the home node registered the account (the node's clock).
    pub fn registered(&self) -> Timestamp {
        self.attestation.registered
    }

    /// What the home node checked about the account.
    pub fn level(&self) -> VerificationLevel {
        self.attestation.level
    }

    /// The signed identity document.
    pub fn document(&self) -> &Verified<IdentityDocument> {
        &self.document
    }

    /// The home node's signed attestation.
    pub fn attestation(&self) -> &Verified<Attestation> {
        &self.attestation
    }

    /// The trust signals the node gave with this identity, as of the
    /// lookup; `None` when the node gives none (an older node), or for an
    /// identity that did not come from a lookup (registration). Identities
    /// are cached: [`Client::refresh_identity`](crate::Client::refresh_identity)
    /// asks again.
    pub fn trust(&self) -> Option<&TrustSignals> {
        self.trust.as_ref()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use accord_proto::SecretKey;

    /// A document for `account` homed on `node`, and `node`'s attestation of it.
    pub(crate) fn identity_parts(
        account: &SecretKey,
        node: &SecretKey,
        handle: &str,
    ) -> (Verified<IdentityDocument>, Verified<Attestation>) {
        let doc = IdentityDocument {
            account: account.account_id(),
            handle: handle.parse().expect("handle"),
            home: NodeId::from(node.public()),
            created: Timestamp::from_millis(1_700_000_000_000),
        };
        let doc = Verified::sign(doc, account).expect("sign doc");
        let att = Attestation {
            account: account.account_id(),
            identity: doc.body_hash(),
            node: NodeId::from(node.public()),
            registered: Timestamp::from_millis(1_700_000_000_500),
            level: VerificationLevel::Invited,
        };
        let att = Verified::sign(att, node).expect("sign attestation");
        (doc, att)
    }

    /// A verified identity for tests.
    pub(crate) fn identity(account: &SecretKey, node: &SecretKey, handle: &str) -> VerifiedIdentity {
        let (doc, att) = identity_parts(account, node, handle);
        VerifiedIdentity::verify(&doc.to_unverified(), &att.to_unverified()).expect("identity verifies")
    }

    #[test]
    fn a_matching_pair_verifies() {
        let alice = SecretKey::from_seed([1; 32]);
        let node = SecretKey::from_seed([200; 32]);
        let id = identity(&alice, &node, "alice@example.org");
        assert_eq!(id.account(), alice.account_id());
        assert_eq!(id.home(), NodeId::from(node.public()));
        assert_eq!(id.handle().to_string(), "alice@example.org");
        assert_eq!(id.level(), VerificationLevel::Invited);
        assert!(id.clone().expect_account(&alice.account_id()).is_ok());
        let bob = SecretKey::from_seed([2; 32]).account_id();
        assert!(matches!(id.expect_account(&bob), Err(VerificationError::IdentityMismatch { .. })));
    }

    #[test]
    fn trust_signals_take_the_proven_fields_from_the_identity() {
        let alice = SecretKey::from_seed([1; 32]);
        let node = SecretKey::from_seed([200; 32]);
        let list = crate::timeline::tests::list();
        let raw: WireTrust = serde_json::from_value(serde_json::json!({
            // The node's claims about home, level and registration are ignored.
            "home": NodeId::from(SecretKey::from_seed([9; 32]).public()), "level": "verified", "registered": 1,
            "age_ms": 3 * 86_400_000u64,
            "flags": [{"list": list, "entry": 4, "category": "spam", "action": "quarantine"}],
            "reports": 2, "something_new": true,
        }))
        .expect("trust decodes");
        let id = identity(&alice, &node, "alice@example.org").with_trust(raw);
        let trust = id.trust().expect("trust");
        assert_eq!(trust.home, NodeId::from(node.public()));
        assert_eq!(trust.level, VerificationLevel::Invited);
        assert_eq!(trust.registered, id.registered());
        assert_eq!(trust.age, Duration::from_secs(3 * 86_400));
        assert_eq!(trust.reports, 2);
        assert!(trust.is_flagged());
        assert!(trust.is_younger_than(Duration::from_secs(7 * 86_400)));
        assert!(!trust.is_younger_than(Duration::from_secs(86_400)));
        let json = serde_json::to_value(trust).expect("encodes");
        assert_eq!(json["age_ms"], 3 * 86_400_000u64);
        assert_eq!(json["level"], "invited");
    }

    #[test]
    fn an_identity_without_trust_has_none() {
        let id = identity(&SecretKey::from_seed([1; 32]), &SecretKey::from_seed([200; 32]), "alice@example.org");
        assert!(id.trust().is_none());
    }

    #[test]
    fn an_attestation_of_another_document_is_refused() {
        let alice = SecretKey::from_seed([1; 32]);
        let node = SecretKey::from_seed([200; 32]);
        let (doc, _) = identity_parts(&alice, &node, "alice@example.org");
        let (_, other_att) = identity_parts(&alice, &node, "alice2@example.org");
        let err = VerifiedIdentity::verify(&doc.to_unverified(), &other_att.to_unverified()).unwrap_err();
        assert!(matches!(err, VerificationError::IdentityMismatch { .. }), "{err}");
    }

    #[test]
    fn an_attestation_by_another_node_is_refused() {
        let alice = SecretKey::from_seed([1; 32]);
        let home = SecretKey::from_seed([200; 32]);
        let rogue = SecretKey::from_seed([201; 32]);
        let (doc, _) = identity_parts(&alice, &home, "alice@example.org");
        // The rogue node attests the very document, but it is not the home.
        let att = Attestation {
            account: alice.account_id(),
            identity: doc.body_hash(),
            node: NodeId::from(rogue.public()),
            registered: Timestamp::from_millis(1),
            level: VerificationLevel::Verified,
        };
        let att = Verified::sign(att, &rogue).expect("sign");
        let err = VerifiedIdentity::verify(&doc.to_unverified(), &att.to_unverified()).unwrap_err();
        assert!(matches!(err, VerificationError::IdentityMismatch { .. }), "{err}");
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let alice = SecretKey::from_seed([1; 32]);
        let node = SecretKey::from_seed([200; 32]);
        let (doc, att) = identity_parts(&alice, &node, "alice@example.org");
        let mut raw = doc.raw().clone();
        raw.body.push(b' ');
        let err = VerifiedIdentity::verify(&Unverified::from_raw(raw), &att.to_unverified()).unwrap_err();
        assert!(matches!(err, VerificationError::IdentityDocument(_)), "{err}");

        let mut raw = att.raw().clone();
        raw.sig = doc.raw().sig;
        let err = VerifiedIdentity::verify(&doc.to_unverified(), &Unverified::from_raw(raw)).unwrap_err();
        assert!(matches!(err, VerificationError::Attestation(_)), "{err}");
    }
}
