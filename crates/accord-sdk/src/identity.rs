//! Verified identities: an account's identity document together with its
//! home node's attestation, both checked.

// `VerificationError` holds typed account and node ids (about 200 bytes
// each) and is returned only on failures; see `verify.rs`.
#![allow(clippy::result_large_err)]

use crate::error::VerificationError;
use accord_proto::identity::{Attestation, Handle, IdentityDocument, VerificationLevel};
use accord_proto::{AccountId, NodeId, Timestamp, Unverified, Verified};

/// An account's identity, verified: the identity document signed by the
/// account and the attestation signed by the home node the document names,
/// attesting exactly that document.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    document: Verified<IdentityDocument>,
    attestation: Verified<Attestation>,
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
        Ok(Self { document, attestation })
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
