//! Messages nodes exchange over libp2p request-response
//! (spec/federation.md §5; draft, growing with the federation work).
//!
//! One protocol, `/accord/federation/1`, carries a tagged request and a
//! tagged response as JSON. Every signed object inside is verified by the
//! receiver exactly as if a client had sent it.

use crate::identity::{Attestation, IdentityDocument};
use crate::ids::AccountId;
use crate::{SignedBytes, Unverified, Verified};
use serde::{Deserialize, Serialize};

/// The request-response protocol name.
pub const PROTOCOL: &str = "/accord/federation/1";
/// Most accounts one identity fetch may name.
pub const MAX_FETCH_IDENTITIES: usize = 64;
/// Largest request, in bytes.
pub const MAX_REQUEST_BYTES: u64 = 1024 * 1024;
/// Largest response, in bytes.
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// A request from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum FedRequest {
    /// The identity documents and attestations of accounts homed at the
    /// receiving node.
    Identities {
        /// The accounts (at most [`MAX_FETCH_IDENTITIES`]).
        accounts: Vec<AccountId>,
    },
}

/// A node's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum FedResponse {
    /// The identities the node holds as home node, in request order;
    /// accounts it does not home are left out.
    Identities {
        /// Document and attestation pairs.
        identities: Vec<IdentityPair>,
    },
    /// The request was refused.
    Error {
        /// A stable code (e.g. `too_many`, `busy`).
        code: String,
        /// A human-readable message.
        message: String,
    },
}

/// An identity document with its home node's attestation, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPair {
    /// The account-signed identity document.
    pub identity: SignedBytes,
    /// The home node's attestation.
    pub attestation: SignedBytes,
}

/// Why an identity pair was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairError {
    /// The document does not verify.
    #[error("identity document: {0}")]
    Identity(crate::EnvelopeError),
    /// The attestation does not verify.
    #[error("attestation: {0}")]
    Attestation(crate::EnvelopeError),
    /// They do not belong together (spec/identities.md §3): another
    /// account, another document, or not signed by the document's home.
    #[error("attestation does not attest this document by its home node")]
    Mismatch,
}

impl PairError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PairError::Identity(e) | PairError::Attestation(e) => e.code(),
            PairError::Mismatch => "attestation_mismatch",
        }
    }
}

impl IdentityPair {
    /// Verifies both signatures and that the attestation names this
    /// account, this document (by body hash) and the document's home node.
    pub fn verify(&self) -> Result<(Verified<IdentityDocument>, Verified<Attestation>), PairError> {
        let doc =
            Unverified::<IdentityDocument>::from_raw(self.identity.clone()).verify().map_err(PairError::Identity)?;
        let att =
            Unverified::<Attestation>::from_raw(self.attestation.clone()).verify().map_err(PairError::Attestation)?;
        if att.account != doc.account || att.identity != doc.body_hash() || att.node != doc.home {
            return Err(PairError::Mismatch);
        }
        Ok((doc, att))
    }
}
