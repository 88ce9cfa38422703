//! Ed25519 keys and signatures (spec/encoding.md §2).
//!
//! Verification is strict (RFC 8032 with canonical encodings and no
//! small-order keys or commitments), see [`PublicKey::verify`].

use crate::codec::{b64_decode, b64_encode, serde_via_str};
use crate::ids::AccountId;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use std::fmt;
use std::str::FromStr;
use zeroize::Zeroizing;

/// Why bytes are not a usable key or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not 32 bytes (keys) or 64 bytes (signatures), or not base64.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The bytes are not a point on the curve.
    #[error("public key is not a valid curve point")]
    NotOnCurve,
    /// The key is of small order: anyone could forge signatures for it.
    #[error("public key is of small order (weak)")]
    WeakKey,
    /// The point is valid but its encoding is not the canonical one.
    #[error("public key is not canonically encoded")]
    NonCanonical,
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Randomness(String),
}

/// An ed25519 public key that is a valid, non-weak curve point.
///
/// JSON form: standard base64 of the 32 key bytes.
///
/// Held as its 32 checked bytes, not as the decoded point (192 bytes):
/// account and node ids are keys, and a node holds many of them (members,
/// hosts, origins, windows of recent events). The point is taken from the
/// cache of recently decoded keys when a signature is checked.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

/// Keys decoded and checked recently. Decoding a key costs a square root
/// and an inversion in the field (the canonical-encoding check), more than
/// half a signature check, and the same few keys (a room's members, its
/// nodes) come in every message. Only keys that passed every check are
/// kept; the memory is forgotten whole when full.
static RECENT_KEYS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<[u8; 32], VerifyingKey>>> =
    std::sync::OnceLock::new();
/// Most keys remembered (about 300 KB).
const RECENT_KEYS_MAX: usize = 4096;

impl PublicKey {
    /// Decodes 32 bytes, rejecting invalid and small-order points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        Self::point(bytes)?;
        Ok(Self(*bytes))
    }

    /// The decoded point of checked key bytes, from the cache of recent
    /// keys or decoded (and checked) now.
    fn point(bytes: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
        let recent = RECENT_KEYS.get_or_init(Default::default);
        if let Some(key) = recent.lock().unwrap_or_else(|p| p.into_inner()).get(bytes) {
            return Ok(*key);
        }
        let key = Self::decode(bytes)?;
        let mut recent = recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() >= RECENT_KEYS_MAX {
            recent.clear();
        }
        recent.insert(*bytes, key);
        Ok(key)
    }

    fn decode(bytes: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(KeyError::NonCanonical);
        }
        Ok(key)
    }

    /// Decodes a slice that must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: &[u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed {
            what: "public key",
            detail: format!("{} bytes, expected 32", bytes.len()),
        })?;
        Self::from_bytes(arr)
    }

    /// The 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The account id for this key.
    pub fn account_id(&self) -> AccountId {
        AccountId::from(*self)
    }

    /// Strict verification of `sig` over `message`: RFC 8032 Ed25519 with
    /// canonical `S`, canonical `R`, and `R` and the key not of small order.
    pub fn verify(&self, message: &[u8], sig: &Signature) -> bool {
        self.dalek().is_some_and(|key| key.verify_strict(message, &sig.0).is_ok())
    }

    /// The decoded point (the bytes were checked when the key was made:
    /// `None` does not happen, and would fail the signature).
    pub(crate) fn dalek(&self) -> Option<VerifyingKey> {
        Self::point(&self.0).ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", b64_encode(self.as_bytes()))
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64_encode(self.as_bytes()))
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = b64_decode(s).map_err(|e| KeyError::Malformed { what: "public key", detail: e.to_string() })?;
        Self::from_slice(&bytes)
    }
}

serde_via_str!(PublicKey);

/// An ed25519 signature (64 bytes). JSON form: standard base64.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub(crate) ed25519_dalek::Signature);

impl Signature {
    /// The 64 signature bytes (`R ‖ S`).
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }

    /// Reads 64 bytes. Whether `S` is canonical is checked at verification.
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// Reads a slice that must be exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let arr: &[u8; 64] = bytes.try_into().map_err(|_| KeyError::Malformed {
            what: "signature",
            detail: format!("{} bytes, expected 64", bytes.len()),
        })?;
        Ok(Self::from_bytes(arr))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", b64_encode(&self.to_bytes()[..12]))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64_encode(&self.to_bytes()))
    }
}

impl FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = b64_decode(s).map_err(|e| KeyError::Malformed { what: "signature", detail: e.to_string() })?;
        Self::from_slice(&bytes)
    }
}

serde_via_str!(Signature);

/// An ed25519 secret key. It never prints and is wiped from memory on drop.
///
/// One 32-byte seed is both an account's key and, for a node, its libp2p
/// identity (libp2p's `Keypair::ed25519_from_bytes` takes the same seed).
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A key from its 32-byte seed (RFC 8032 private key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let seed = Zeroizing::new(seed);
        Self(SigningKey::from_bytes(&seed))
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Randomness(e.to_string()))?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The seed, for writing to a key file. Wiped when dropped.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    /// The account id of the public half.
    pub fn account_id(&self) -> AccountId {
        self.public().account_id()
    }

    /// Signs `message` as it is (callers add the domain tag; see
    /// [`crate::envelope::Domain`]).
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl Clone for SecretKey {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, public {})", self.account_id())
    }
}

/// Verifies many `(key, message, signature)` triples at once.
///
/// Returns one result per triple, in order. All-valid batches take the fast
/// path (ed25519 batch verification, about twice the single rate); if the
/// batch fails, each triple is checked alone with [`PublicKey::verify`] so
/// that the result says exactly which ones are bad. Before batching, every
/// `R` must be a canonical encoding of a point that is not of small order,
/// the checks strict verification makes. (Keys were checked when decoded.)
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> Vec<bool> {
    use curve25519_dalek_compat::r_is_acceptable;
    if items.is_empty() {
        return Vec::new();
    }
    let pre_ok = items.iter().all(|(_, _, sig)| r_is_acceptable(sig));
    if pre_ok {
        let messages: Vec<&[u8]> = items.iter().map(|(_, m, _)| *m).collect();
        let sigs: Vec<ed25519_dalek::Signature> = items.iter().map(|(_, _, s)| s.0).collect();
        let keys: Option<Vec<VerifyingKey>> = items.iter().map(|(k, _, _)| k.dalek()).collect();
        if keys.is_some_and(|keys| ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok()) {
            return vec![true; items.len()];
        }
    }
    items.iter().map(|(k, m, s)| k.verify(m, s)).collect()
}

/// The `R` checks of strict verification, done without the full equation.
mod curve25519_dalek_compat {
    use super::Signature;
    use curve25519_dalek::edwards::CompressedEdwardsY;

    /// `R` decodes to a point, is canonically encoded, and is not of small order.
    pub(super) fn r_is_acceptable(sig: &Signature) -> bool {
        let r_bytes: [u8; 32] = *sig.0.r_bytes();
        match CompressedEdwardsY(r_bytes).decompress() {
            Some(point) => !point.is_small_order() && point.compress().to_bytes() == r_bytes,
            None => false,
        }
    }
}
