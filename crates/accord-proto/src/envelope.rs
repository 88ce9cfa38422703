//! Signed envelopes: the exact bytes that were signed, the signer's key and
//! the signature (spec/encoding.md §2).
//!
//! The signing input is `TAG ‖ 0x00 ‖ BODY`, where `TAG` is the ASCII
//! domain tag of the kind of object ([`Domain`]) and `BODY` the JSON bytes
//! exactly as the signer produced them. Receivers check the length, verify
//! the signature over those bytes, and only then parse them: an
//! [`Unverified<T>`] gives no access to its content; a [`Verified<T>`]
//! dereferences to it.

use crate::codec::b64;
use crate::hash::Sha256Hash;
use crate::keys::{PublicKey, SecretKey, Signature, verify_batch};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// What a signature is for. Each kind of signed object has its own tag, so
/// a signature made for one kind can never be passed off as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain {
    /// An account's identity document, signed by the account.
    Identity,
    /// A home node's attestation of an account, signed by the node.
    Attestation,
    /// A key rotation statement, signed by the old and the new key.
    Rotation,
    /// A room event body, signed by its author.
    Event,
    /// The origin node's countersignature (stamp) on an event.
    EventOrigin,
    /// A report, signed by the reporter.
    Report,
    /// A client's answer to a node's login challenge.
    AuthChallenge,
    /// A node's policy manifest, signed by the node.
    Manifest,
    /// A moderator's action on a report case, signed by the moderator.
    ModAction,
    /// The signed head of a node's moderation audit log, signed by the node.
    AuditHead,
    /// A node's proof that a DNS name is its name, signed by the node.
    NodeName,
    /// An account's deletion of itself, signed by the account.
    AccountDeletion,
    /// An accused account's appeal of a moderator's decision, signed by
    /// the account.
    Appeal,
}

impl Domain {
    /// The domain tag: ASCII, no NUL byte.
    pub const fn tag(self) -> &'static str {
        match self {
            Domain::Identity => "accord/v1/identity",
            Domain::Attestation => "accord/v1/attestation",
            Domain::Rotation => "accord/v1/rotation",
            Domain::Event => "accord/v1/event",
            Domain::EventOrigin => "accord/v1/event-origin",
            Domain::Report => "accord/v1/report",
            Domain::AuthChallenge => "accord/v1/auth",
            Domain::Manifest => "accord/v1/manifest",
            Domain::ModAction => "accord/v1/mod-action",
            Domain::AuditHead => "accord/v1/audit-head",
            Domain::NodeName => "accord/v1/node-name",
            Domain::AccountDeletion => "accord/v1/account-deletion",
            Domain::Appeal => "accord/v1/appeal",
        }
    }

    /// The bytes that are signed for `body` in this domain:
    /// `tag ‖ 0x00 ‖ body`.
    pub fn signing_input(self, body: &[u8]) -> Vec<u8> {
        let tag = self.tag().as_bytes();
        let mut input = Vec::with_capacity(tag.len() + 1 + body.len());
        input.extend_from_slice(tag);
        input.push(0);
        input.extend_from_slice(body);
        input
    }
}

/// Why a signed object was refused. Each variant has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The body is longer than this kind of object allows.
    #[error("signed body is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// The signature does not verify over the body with the stated key.
    #[error("signature does not verify")]
    BadSignature,
    /// The body verified but is not a valid object of this kind.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// The body names another key than the one that signed it.
    #[error("signed by {signer}, but the body names {claimed} as signer")]
    SignerMismatch {
        /// The key that signed.
        signer: String,
        /// The key the body says must sign.
        claimed: String,
    },
    /// The body breaks a rule of its kind (see the message).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The body parses but is not in canonical form (spec/encoding.md §1):
    /// every value has exactly one accepted encoding.
    #[error("body is not in canonical form")]
    NonCanonical,
}

impl EnvelopeError {
    /// A stable machine-readable code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::TooLarge { .. } => "too_large",
            EnvelopeError::BadSignature => "bad_signature",
            EnvelopeError::Malformed(_) => "malformed",
            EnvelopeError::SignerMismatch { .. } => "signer_mismatch",
            EnvelopeError::Invalid(_) => "invalid",
            EnvelopeError::NonCanonical => "non_canonical",
        }
    }
}

/// The wire form of every signed object: the signer's public key, the exact
/// body bytes and the signature over `domain tag ‖ 0x00 ‖ body`.
///
/// JSON: `{"signer": base64, "body": base64, "sig": base64}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedBytes {
    /// The key that signed.
    pub signer: PublicKey,
    /// The signed body, exactly as signed.
    #[serde(with = "b64")]
    pub body: Vec<u8>,
    /// The signature.
    pub sig: Signature,
}

impl SignedBytes {
    /// Signs `body` in `domain` with `key`.
    pub fn sign(domain: Domain, body: Vec<u8>, key: &SecretKey) -> Self {
        let sig = key.sign_raw(&domain.signing_input(&body));
        Self { signer: key.public(), body, sig }
    }

    /// Strictly verifies the signature in `domain`.
    pub fn verify(&self, domain: Domain) -> bool {
        self.signer.verify(&domain.signing_input(&self.body), &self.sig)
    }
}

impl fmt::Debug for SignedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedBytes").field("signer", &self.signer).field("body_len", &self.body.len()).finish()
    }
}

/// Whether `bytes` is the canonical encoding of `value`: the compact JSON
/// this crate writes (fields in declaration order, absent optional fields
/// omitted, no whitespace, minimal string escapes, lowercase text forms).
/// The canonical encoding is compared as it is written, without being
/// kept: the first byte that differs stops it.
pub(crate) fn is_canonical<T: Serialize>(value: &T, bytes: &[u8]) -> bool {
    let mut rest = Matching { rest: bytes };
    serde_json::to_writer(&mut rest, value).is_ok() && rest.rest.is_empty()
}

/// A writer that accepts only the bytes it expects next.
struct Matching<'a> {
    rest: &'a [u8],
}

impl std::io::Write for Matching<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.rest.strip_prefix(buf) {
            Some(rest) => {
                self.rest = rest;
                Ok(buf.len())
            }
            None => Err(std::io::Error::other("not the canonical encoding")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A kind of signed object: its domain, size limit, who must sign it and
/// the rules its fields must keep beyond what their types enforce.
pub trait Payload: Serialize + DeserializeOwned {
    /// The signature domain.
    const DOMAIN: Domain;
    /// The largest body accepted, in bytes.
    const MAX_BODY: usize;
    /// The key that must have signed this payload, as the payload states it.
    fn expected_signer(&self) -> PublicKey;
    /// Rules beyond the field types (cross-field checks).
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A signed object whose signature has not been checked. Its content cannot
/// be read; call [`Unverified::verify`].
#[derive(Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct Unverified<T> {
    raw: SignedBytes,
    #[serde(skip)]
    _kind: PhantomData<fn() -> T>,
}

impl<T> Clone for Unverified<T> {
    fn clone(&self) -> Self {
        Self::from_raw(self.raw.clone())
    }
}

impl<T> PartialEq for Unverified<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<T> Eq for Unverified<T> {}

impl<T> fmt::Debug for Unverified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unverified<{}>({:?})", std::any::type_name::<T>(), self.raw)
    }
}

impl<T> Unverified<T> {
    /// Wraps received signed bytes.
    pub fn from_raw(raw: SignedBytes) -> Self {
        Self { raw, _kind: PhantomData }
    }

    /// The signed bytes as received.
    pub fn raw(&self) -> &SignedBytes {
        &self.raw
    }

    /// Takes the signed bytes out.
    pub fn into_raw(self) -> SignedBytes {
        self.raw
    }

    /// SHA-256 of the body bytes (the id of events and reports).
    pub fn body_hash(&self) -> Sha256Hash {
        Sha256Hash::digest(&self.raw.body)
    }
}

impl<T: Payload> Unverified<T> {
    /// Checks the size, the signature, then parses and validates the body.
    pub fn verify(&self) -> Result<Verified<T>, EnvelopeError> {
        self.check_size()?;
        if !self.raw.verify(T::DOMAIN) {
            return Err(EnvelopeError::BadSignature);
        }
        self.parse_checked()
    }

    /// Verifies many objects at once with batch signature verification;
    /// one result per input, in order.
    pub fn verify_many(items: &[Unverified<T>]) -> Vec<Result<Verified<T>, EnvelopeError>> {
        let inputs: Vec<Vec<u8>> = items.iter().map(|u| T::DOMAIN.signing_input(&u.raw.body)).collect();
        let sized: Vec<Result<(), EnvelopeError>> = items.iter().map(|u| u.check_size()).collect();
        let batch: Vec<(PublicKey, &[u8], Signature)> = items
            .iter()
            .zip(&inputs)
            .zip(&sized)
            .filter(|(_, s)| s.is_ok())
            .map(|((u, input), _)| (u.raw.signer, input.as_slice(), u.raw.sig))
            .collect();
        let mut sig_ok = verify_batch(&batch).into_iter();
        items
            .iter()
            .zip(sized)
            .map(|(u, sized)| {
                sized?;
                if !sig_ok.next().unwrap_or(false) {
                    return Err(EnvelopeError::BadSignature);
                }
                u.parse_checked()
            })
            .collect()
    }

    /// Parses a body whose signature the caller has already verified in
    /// `T::DOMAIN` (e.g. as part of a larger batch).
    pub(crate) fn parse_signature_checked(&self) -> Result<Verified<T>, EnvelopeError> {
        self.check_size()?;
        self.parse_checked()
    }

    fn check_size(&self) -> Result<(), EnvelopeError> {
        let len = self.raw.body.len();
        if len > T::MAX_BODY {
            return Err(EnvelopeError::TooLarge { len, max: T::MAX_BODY });
        }
        Ok(())
    }

    /// Parses a body whose signature was verified.
    fn parse_checked(&self) -> Result<Verified<T>, EnvelopeError> {
        let payload: T = serde_json::from_slice(&self.raw.body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if !is_canonical(&payload, &self.raw.body) {
            return Err(EnvelopeError::NonCanonical);
        }
        let claimed = payload.expected_signer();
        if claimed != self.raw.signer {
            return Err(EnvelopeError::SignerMismatch {
                signer: self.raw.signer.to_string(),
                claimed: claimed.to_string(),
            });
        }
        payload.validate().map_err(EnvelopeError::Invalid)?;
        Ok(Verified { raw: self.raw.clone(), payload, hash: Sha256Hash::digest(&self.raw.body) })
    }
}

/// A signed object whose signature verified and whose body parsed and
/// validated. Dereferences to the content; keeps the exact signed bytes for
/// storing, forwarding and hashing.
#[derive(Clone)]
pub struct Verified<T> {
    raw: SignedBytes,
    payload: T,
    hash: Sha256Hash,
}

impl<T: Payload> Verified<T> {
    /// Encodes `payload` as JSON, checks it, and signs it with `key`, which
    /// must be the key the payload names as signer.
    pub fn sign(payload: T, key: &SecretKey) -> Result<Self, EnvelopeError> {
        let body = serde_json::to_vec(&payload).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if body.len() > T::MAX_BODY {
            return Err(EnvelopeError::TooLarge { len: body.len(), max: T::MAX_BODY });
        }
        let claimed = payload.expected_signer();
        if claimed != key.public() {
            return Err(EnvelopeError::SignerMismatch {
                signer: key.public().to_string(),
                claimed: claimed.to_string(),
            });
        }
        payload.validate().map_err(EnvelopeError::Invalid)?;
        let hash = Sha256Hash::digest(&body);
        Ok(Self { raw: SignedBytes::sign(T::DOMAIN, body, key), payload, hash })
    }
}

impl<T> Verified<T> {
    /// The signed bytes.
    pub fn raw(&self) -> &SignedBytes {
        &self.raw
    }

    /// SHA-256 of the body bytes.
    pub fn body_hash(&self) -> Sha256Hash {
        self.hash
    }

    /// The content.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// A copy as an unverified object, e.g. to send it on.
    pub fn to_unverified(&self) -> Unverified<T> {
        Unverified::from_raw(self.raw.clone())
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.payload
    }
}

impl<T: fmt::Debug> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified").field("payload", &self.payload).field("hash", &self.hash).finish()
    }
}

impl<T> Serialize for Verified<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}
