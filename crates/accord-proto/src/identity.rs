//! Identities: identity documents, home-node attestations and key rotation
//! statements (spec/identities.md).

use crate::codec::serde_via_str;
use crate::envelope::{Domain, EnvelopeError, Payload, SignedBytes};
use crate::hash::Sha256Hash;
use crate::ids::{AccountId, NodeId, ParseIdError, check_name};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::limits::MAX_IDENTITY_BODY;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A node's name: the host part of its users' handles. Lowercase DNS-like
/// text, 1–253 bytes of `a-z 0-9 . -`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeName(String);

impl NodeName {
    /// Validates a node name.
    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        check_name("node name", s, 253, false)?;
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeName({})", self.0)
    }
}

impl FromStr for NodeName {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_str!(NodeName);

/// A human handle, `name@node`: 1–32 bytes of `a-z 0-9 . _ -` for the name
/// and a [`NodeName`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle {
    name: String,
    node: NodeName,
}

impl Handle {
    /// Validates a handle.
    pub fn parse(s: &str) -> Result<Self, ParseIdError> {
        let (name, node) = s
            .split_once('@')
            .ok_or_else(|| ParseIdError::Syntax { kind: "handle", detail: "expected name@node".into() })?;
        check_name("handle", name, 32, true)?;
        Ok(Self { name: name.to_owned(), node: NodeName::parse(node)? })
    }

    /// The part before `@`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node part.
    pub fn node(&self) -> &NodeName {
        &self.node
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.node)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({self})")
    }
}

impl FromStr for Handle {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

serde_via_str!(Handle);

/// An account's identity document, signed by the account key
/// (domain `accord/v1/identity`). It binds the key to a handle and a home
/// node; the home node countersigns it with an [`Attestation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDocument {
    /// The account (its key).
    pub account: AccountId,
    /// The human handle, `name@node`.
    pub handle: Handle,
    /// The node that hosts the account and countersigns its events.
    pub home: NodeId,
    /// When the document was made.
    pub created: Timestamp,
}

impl Payload for IdentityDocument {
    const DOMAIN: Domain = Domain::Identity;
    const MAX_BODY: usize = MAX_IDENTITY_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.account.public_key()
    }
}

/// How well the home node knows the person behind an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationLevel {
    /// Registered under an open registration policy: nothing checked.
    Open,
    /// Registered with an invite code from an existing member.
    Invited,
    /// Checked by the node's operator out of band.
    Verified,
}

/// A home node's countersignature on an identity document
/// (domain `accord/v1/attestation`, signed by the node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The account attested.
    pub account: AccountId,
    /// SHA-256 of the identity document's body bytes.
    pub identity: Sha256Hash,
    /// The attesting (home) node.
    pub node: NodeId,
    /// When the node registered the account.
    pub registered: Timestamp,
    /// What the node checked.
    pub level: VerificationLevel,
}

impl Payload for Attestation {
    const DOMAIN: Domain = Domain::Attestation;
    const MAX_BODY: usize = MAX_IDENTITY_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.node.public_key()
    }
}

/// An account's deletion of itself (domain `accord/v1/account-deletion`,
/// signed by the account, spec/identities.md §5): from then on no node
/// serves the account's identity, registers its key or logs it in, and
/// every node shows the messages it wrote as redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletion {
    /// The account deleted (its key signs the deletion).
    pub account: AccountId,
    /// Its home node, where the deletion was made.
    pub home: NodeId,
    /// When the account was deleted.
    pub ts: Timestamp,
}

impl Payload for AccountDeletion {
    const DOMAIN: Domain = Domain::AccountDeletion;
    const MAX_BODY: usize = MAX_IDENTITY_BODY;
    fn expected_signer(&self) -> PublicKey {
        *self.account.public_key()
    }
}

/// The statement that an account moves from an old key to a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// The key being retired.
    pub old: AccountId,
    /// The key taking over.
    pub new: AccountId,
    /// When the rotation was made.
    pub ts: Timestamp,
}

/// A [`KeyRotation`] signed by both keys (domain `accord/v1/rotation`).
///
/// JSON: `{"old": base64 key, "new": base64 key, "body": base64,
/// "old_sig": base64, "new_sig": base64}`; both
/// signatures are over the same signing input. The keys are read from the
/// body only after both signatures verified over it with the keys the body
/// names; a statement signed by one key alone is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRotation {
    /// The old key.
    pub old: PublicKey,
    /// The new key.
    pub new: PublicKey,
    /// The body bytes.
    #[serde(with = "crate::codec::b64")]
    pub body: Vec<u8>,
    /// The old key's signature.
    pub old_sig: Signature,
    /// The new key's signature.
    pub new_sig: Signature,
}

impl SignedRotation {
    /// Signs a rotation with both keys.
    pub fn sign(rotation: &KeyRotation, old: &SecretKey, new: &SecretKey) -> Result<Self, EnvelopeError> {
        if rotation.old != old.account_id() || rotation.new != new.account_id() {
            return Err(EnvelopeError::Invalid("rotation keys do not match the statement".into()));
        }
        let body = serde_json::to_vec(rotation).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        let old_signed = SignedBytes::sign(Domain::Rotation, body, old);
        let new_sig = new.sign_raw(&Domain::Rotation.signing_input(&old_signed.body));
        Ok(Self { old: old.public(), new: new.public(), body: old_signed.body, old_sig: old_signed.sig, new_sig })
    }

    /// Verifies both signatures, then parses the statement and checks that
    /// it names the keys that signed it.
    pub fn verify(&self) -> Result<KeyRotation, EnvelopeError> {
        if self.body.len() > MAX_IDENTITY_BODY {
            return Err(EnvelopeError::TooLarge { len: self.body.len(), max: MAX_IDENTITY_BODY });
        }
        let input = Domain::Rotation.signing_input(&self.body);
        if !self.old.verify(&input, &self.old_sig) || !self.new.verify(&input, &self.new_sig) {
            return Err(EnvelopeError::BadSignature);
        }
        let rotation: KeyRotation =
            serde_json::from_slice(&self.body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if !crate::envelope::is_canonical(&rotation, &self.body) {
            return Err(EnvelopeError::NonCanonical);
        }
        if *rotation.old.public_key() != self.old || *rotation.new.public_key() != self.new {
            return Err(EnvelopeError::SignerMismatch {
                signer: format!("{} and {}", self.old, self.new),
                claimed: format!("{} and {}", rotation.old, rotation.new),
            });
        }
        if rotation.old == rotation.new {
            return Err(EnvelopeError::Invalid("old and new key are the same".into()));
        }
        Ok(rotation)
    }
}
