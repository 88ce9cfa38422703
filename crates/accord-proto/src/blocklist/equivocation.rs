//! Equivocation proofs: two checkpoints of one list, both signed by its
//! issuer, that cannot both be true (spec/blocklists.md §6).
//!
//! * Same size, different roots.
//! * Sizes `m < n`, and a consistency path from the larger tree whose
//!   implied roots are the larger checkpoint's root and a root *other* than
//!   the smaller checkpoint's: the larger tree's first `m` leaves hash to
//!   something else than what the issuer signed for size `m`.
//!
//! Anyone holding the larger tree can build the proof; anyone holding the
//! issuer's key id can check it, with nothing else.

use super::checkpoint::{CheckpointError, SignedCheckpoint, VerifiedCheckpoint};
use super::merkle::{MerkleLog, ProofError, consistency_roots};
use crate::hash::Sha256Hash;
use crate::ids::ListId;
use serde::{Deserialize, Serialize};

/// Proof that a list's issuer signed two incompatible checkpoints.
///
/// JSON: `{"list": LIST_ID, "a": NOTE, "b": NOTE, "path": [HEX…]}` where,
/// when the sizes differ, `a` is the smaller checkpoint and `path` the full
/// consistency path (RFC 9162 §2.1.4.2 after step 2: its first hash is the
/// larger tree's subtree root that the RFC would prepend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivocationProof {
    /// The list.
    pub list: ListId,
    /// The first (for different sizes: smaller) checkpoint.
    pub a: SignedCheckpoint,
    /// The second (for different sizes: larger) checkpoint.
    pub b: SignedCheckpoint,
    /// The consistency path, empty when the sizes are equal.
    #[serde(default)]
    pub path: Vec<Sha256Hash>,
}

/// Why an equivocation proof does not prove equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EquivocationError {
    /// A checkpoint does not verify.
    #[error("checkpoint does not verify: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The two checkpoints are compatible (or the same).
    #[error("the checkpoints are consistent")]
    Consistent,
    /// The path does not lead to the larger checkpoint's root.
    #[error("the path does not prove the larger tree: {0}")]
    Path(ProofError),
}

impl EquivocationError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EquivocationError::Checkpoint(e) => e.code(),
            EquivocationError::Consistent => "not_equivocation",
            EquivocationError::Path(e) => e.code(),
        }
    }
}

impl EquivocationProof {
    /// Builds a proof from two verified checkpoints and, when their sizes
    /// differ, the log of the larger one. Returns `None` if they are
    /// consistent.
    pub fn build(a: &VerifiedCheckpoint, b: &VerifiedCheckpoint, larger_log: &MerkleLog) -> Option<Self> {
        let (small, large) = if a.checkpoint.size <= b.checkpoint.size { (a, b) } else { (b, a) };
        let list = small.checkpoint.list.clone();
        let (m, n) = (small.checkpoint.size, large.checkpoint.size);
        if m == n {
            return (small.checkpoint.root != large.checkpoint.root).then(|| EquivocationProof {
                list,
                a: small.signed.clone(),
                b: large.signed.clone(),
                path: Vec::new(),
            });
        }
        if m == 0 || larger_log.size() < n || larger_log.root_at(n).ok()? != large.checkpoint.root {
            return None;
        }
        let mut path = larger_log.consistency_proof(m, n).ok()?;
        if m.is_power_of_two() {
            path.insert(0, larger_log.root_at(m).ok()?);
        }
        let proof = EquivocationProof { list, a: small.signed.clone(), b: large.signed.clone(), path };
        proof.verify().ok().map(|_| proof)
    }

    /// Checks the proof: both checkpoints are signed by the list's issuer
    /// and cannot both be true.
    pub fn verify(&self) -> Result<(), EquivocationError> {
        let a = self.a.verify(&self.list)?.checkpoint;
        let b = self.b.verify(&self.list)?.checkpoint;
        if a.size == b.size {
            if !self.path.is_empty() {
                return Err(EquivocationError::Path(ProofError::Range("same-size proofs carry no path".into())));
            }
            return if a.root != b.root { Ok(()) } else { Err(EquivocationError::Consistent) };
        }
        let (small, large) = if a.size < b.size { (a, b) } else { (b, a) };
        if small.size == 0 {
            return Err(EquivocationError::Consistent);
        }
        let (implied_small, implied_large) =
            consistency_roots(small.size, large.size, &self.path).map_err(EquivocationError::Path)?;
        if implied_large != large.root {
            return Err(EquivocationError::Path(ProofError::Mismatch));
        }
        if implied_small == small.root { Err(EquivocationError::Consistent) } else { Ok(()) }
    }
}
