//! Signed checkpoints of a list's log, in the C2SP `tlog-checkpoint` text
//! format inside a C2SP `signed-note` (spec/blocklists.md §4).
//!
//! ```text
//! accord/v1/list/iss1…/csam        ← origin: the list id
//! 42                               ← tree size
//! 3pRk…base64 root…=               ← root hash
//! time 1700000000000               ← extension: issue time, ms
//!                                  ← blank line
//! — iss1… AbCd…base64(key id ‖ signature)…
//! ```
//!
//! The checkpoint text (the first four lines) is parsed with `tlog_tiles`;
//! the signed-note layer is written here because the `signed_note` crate
//! would pull in a second major version of `ed25519-dalek`.

use crate::codec::{b64_decode, b64_encode};
use crate::hash::Sha256Hash;
use crate::ids::ListId;
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::limits::{MAX_CHECKPOINT_NOTE, MAX_NOTE_SIGNATURES};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The signature algorithm byte of Ed25519 keys in signed notes.
const ED25519_ALG: u8 = 0x01;

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note is larger than a checkpoint note may be.
    #[error("note is {0} bytes, the limit is {MAX_CHECKPOINT_NOTE}")]
    TooLarge(usize),
    /// Not a well-formed signed note (see the message).
    #[error("malformed signed note: {0}")]
    MalformedNote(String),
    /// The note carries no signature by the list's issuer.
    #[error("no signature by the issuer's key")]
    MissingSignature,
    /// The issuer's signature does not verify.
    #[error("issuer signature does not verify")]
    BadSignature,
    /// The signed text is not a valid checkpoint (see the message).
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// The checkpoint is for another list.
    #[error("checkpoint is for another list")]
    WrongList,
}

impl CheckpointError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckpointError::TooLarge(_) => "too_large",
            CheckpointError::MalformedNote(_) => "malformed_note",
            CheckpointError::MissingSignature => "missing_signature",
            CheckpointError::BadSignature => "bad_signature",
            CheckpointError::MalformedCheckpoint(_) => "malformed_checkpoint",
            CheckpointError::WrongList => "wrong_list",
        }
    }
}

/// What a checkpoint states: the list, its size, its root and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The list.
    pub list: ListId,
    /// Number of entries.
    pub size: u64,
    /// Root of the log of those entries.
    pub root: Sha256Hash,
    /// When the issuer signed it.
    pub time: Timestamp,
}

impl Checkpoint {
    /// The checkpoint text (C2SP tlog-checkpoint, with one extension line).
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\ntime {}\n", self.list.origin(), self.size, b64_encode(&self.root.0), self.time)
    }

    /// Parses checkpoint text; the origin must be `expected`'s.
    fn parse(text: &str, expected: &ListId) -> Result<Checkpoint, CheckpointError> {
        let bad = |m: &str| CheckpointError::MalformedCheckpoint(m.to_string());
        let parsed = tlog_tiles::Checkpoint::from_bytes(text.as_bytes()).map_err(|e| bad(&e.to_string()))?;
        if parsed.to_bytes() != text.as_bytes() {
            return Err(bad("not in canonical form"));
        }
        if parsed.origin() != expected.origin() {
            return Err(CheckpointError::WrongList);
        }
        let time = parsed
            .extension()
            .strip_prefix("time ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0')))
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(|n| Timestamp::try_from(n).ok())
            .ok_or_else(|| bad("expected exactly one extension line `time MILLIS`"))?;
        let root = Sha256Hash(parsed.hash().0);
        if parsed.size() == 0 && root != super::merkle::empty_root() {
            return Err(bad("an empty tree has the root SHA-256(\"\")"));
        }
        Ok(Checkpoint { list: expected.clone(), size: parsed.size(), root, time })
    }

    /// Signs the checkpoint as a signed note with the issuer's key, which
    /// must be the list's issuer.
    pub fn sign(&self, issuer: &SecretKey) -> Result<SignedCheckpoint, CheckpointError> {
        if self.list.issuer.public_key() != &issuer.public() {
            return Err(CheckpointError::MissingSignature);
        }
        let text = self.to_text();
        let name = self.list.issuer.to_string();
        let sig = issuer.sign_raw(text.as_bytes());
        let mut blob = key_id(&name, &issuer.public()).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        let note = format!("{text}\n\u{2014} {name} {}\n", b64_encode(&blob));
        Ok(SignedCheckpoint { note })
    }
}

/// The signed-note key id of an Ed25519 key:
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0..4]`.
pub fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let digest = Sha256Hash::digest_parts(&[name.as_bytes(), b"\n", &[ED25519_ALG], key.as_bytes()]);
    [digest.0[0], digest.0[1], digest.0[2], digest.0[3]]
}

/// The issuer's C2SP signed-note verifier key, as `note` verifiers and
/// witnesses take it (spec/blocklists.md §4.2):
/// `NAME+KEYID_HEX+base64(0x01 ‖ public key)`, with `name` the issuer id text.
pub fn verifier_key(name: &str, key: &PublicKey) -> String {
    let mut blob = vec![ED25519_ALG];
    blob.extend_from_slice(key.as_bytes());
    let id: String = key_id(name, key).iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}+{id}+{}", b64_encode(&blob))
}

/// A signed checkpoint as it travels: the signed note's text, unverified.
/// JSON: the note as a string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SignedCheckpoint {
    note: String,
}

/// A checkpoint whose issuer signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// What it states.
    pub checkpoint: Checkpoint,
    /// The signed note it came from.
    pub signed: SignedCheckpoint,
}

impl SignedCheckpoint {
    /// Wraps a received note.
    pub fn from_note(note: impl Into<String>) -> Self {
        Self { note: note.into() }
    }

    /// The note text.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Verifies the issuer's signature, then parses the checkpoint, which
    /// must be for `list`. Other signature lines (witness cosignatures) are
    /// ignored.
    pub fn verify(&self, list: &ListId) -> Result<VerifiedCheckpoint, CheckpointError> {
        let note = self.note.as_str();
        if note.len() > MAX_CHECKPOINT_NOTE {
            return Err(CheckpointError::TooLarge(note.len()));
        }
        let malformed = |m: &str| CheckpointError::MalformedNote(m.to_string());
        let split = note.rfind("\n\n").ok_or_else(|| malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..=split], &note[split + 2..]);
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(malformed("signature lines must end with a newline"));
        }
        let issuer = list.issuer.public_key();
        let name = list.issuer.to_string();
        let want_id = key_id(&name, issuer);
        let mut found = None;
        if sigs.contains('\r') {
            return Err(malformed("carriage return in signature lines"));
        }
        for (i, line) in sigs.trim_end_matches('\n').split('\n').enumerate() {
            if i >= MAX_NOTE_SIGNATURES {
                return Err(malformed("too many signature lines"));
            }
            let rest =
                line.strip_prefix("\u{2014} ").ok_or_else(|| malformed("signature line must start with an em dash"))?;
            let (line_name, blob) =
                rest.split_once(' ').ok_or_else(|| malformed("signature line needs name and signature"))?;
            if line_name.is_empty() || blob.contains(' ') {
                return Err(malformed("bad signature line"));
            }
            let blob = b64_decode(blob).map_err(|_| malformed("signature is not base64"))?;
            if blob.len() < 5 {
                return Err(malformed("signature too short"));
            }
            if line_name == name && blob[..4] == want_id {
                if found.is_some() {
                    return Err(malformed("two signatures by the issuer's key"));
                }
                found = Some(blob);
            }
        }
        let blob = found.ok_or(CheckpointError::MissingSignature)?;
        let sig = Signature::from_slice(&blob[4..]).map_err(|_| CheckpointError::BadSignature)?;
        if !issuer.verify(text.as_bytes(), &sig) {
            return Err(CheckpointError::BadSignature);
        }
        let checkpoint = Checkpoint::parse(text, list)?;
        Ok(VerifiedCheckpoint { checkpoint, signed: self.clone() })
    }
}

impl fmt::Debug for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedCheckpoint({:?})", self.note.lines().take(2).collect::<Vec<_>>())
    }
}
