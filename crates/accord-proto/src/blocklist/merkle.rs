//! The Merkle log of a list, hashed as RFC 9162 §2.1 (the same as
//! RFC 6962 §2.1): leaf `SHA-256(0x00 ‖ data)`, node
//! `SHA-256(0x01 ‖ left ‖ right)`, the empty tree `SHA-256("")`
//! (spec/blocklists.md §3).
//!
//! Trees and proofs are built with `tlog_tiles` (Cloudflare's port of Go's
//! `sumdb/tlog`), whose stored-hash layout also suits a key-value store.
//! Proofs are verified by the algorithms of RFC 9162 §2.1.3.2 and
//! §2.1.4.2, written out here because an equivocation proof needs the two
//! roots a consistency proof implies, which `tlog_tiles` does not expose;
//! the tests check both implementations against each other.

use crate::hash::Sha256Hash;
use crate::limits::MAX_PROOF_HASHES;
use tlog_tiles::{Hash, HashReader};

/// Why a proof was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The indexes or sizes are out of range (see the message).
    #[error("out of range: {0}")]
    Range(String),
    /// The proof does not connect the values to the root(s).
    #[error("proof does not verify")]
    Mismatch,
    /// The proof has more hashes than any tree needs.
    #[error("proof has {0} hashes, more than any tree needs")]
    TooLong(usize),
}

impl ProofError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::Range(_) => "proof_range",
            ProofError::Mismatch => "proof_mismatch",
            ProofError::TooLong(_) => "proof_too_long",
        }
    }
}

/// `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Sha256Hash {
    Sha256Hash(tlog_tiles::record_hash(data).0)
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Sha256Hash, right: &Sha256Hash) -> Sha256Hash {
    Sha256Hash(tlog_tiles::node_hash(Hash(left.0), Hash(right.0)).0)
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Sha256Hash {
    Sha256Hash::digest(b"")
}

/// An in-memory append-only Merkle log: every stored hash of the tree in
/// `tlog` order (about two hashes per leaf).
#[derive(Clone, Default)]
pub struct MerkleLog {
    stored: Vec<Hash>,
    size: u64,
}

impl std::fmt::Debug for MerkleLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MerkleLog(size {})", self.size)
    }
}

impl HashReader for MerkleLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.stored.get(i))
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl MerkleLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf with the given data; returns its index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(data))
    }

    /// Appends a leaf given its leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Sha256Hash) -> u64 {
        // Appending only reads hashes already stored, which this log has.
        let new = tlog_tiles::stored_hashes_for_record_hash(self.size, Hash(leaf.0), self).unwrap_or_default();
        self.stored.extend(new);
        self.size += 1;
        self.size - 1
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Sha256Hash, ProofError> {
        if size > self.size {
            return Err(ProofError::Range(format!("size {size} > log size {}", self.size)));
        }
        tlog_tiles::tree_hash(size, self).map(|h| Sha256Hash(h.0)).map_err(|e| ProofError::Range(e.to_string()))
    }

    /// The current root.
    pub fn root(&self) -> Sha256Hash {
        self.root_at(self.size).unwrap_or_else(|_| empty_root())
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Sha256Hash>, ProofError> {
        if index >= size || size > self.size {
            return Err(ProofError::Range(format!("leaf {index} in tree of {size} (log has {})", self.size)));
        }
        tlog_tiles::prove_record(size, index, self)
            .map(|p| p.into_iter().map(|h| Sha256Hash(h.0)).collect())
            .map_err(|e| ProofError::Range(e.to_string()))
    }

    /// The consistency proof from the tree of `old` leaves to the tree of
    /// `new` leaves (RFC 9162 form: no hashes when `old == new`).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Sha256Hash>, ProofError> {
        if old == 0 || old > new || new > self.size {
            return Err(ProofError::Range(format!("from {old} to {new} (log has {})", self.size)));
        }
        tlog_tiles::prove_tree(new, old, self)
            .map(|p| p.into_iter().map(|h| Sha256Hash(h.0)).collect())
            .map_err(|e| ProofError::Range(e.to_string()))
    }
}

/// Verifies that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Sha256Hash,
    index: u64,
    size: u64,
    proof: &[Sha256Hash],
    root: &Sha256Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Range(format!("leaf {index} not in a tree of {size}")));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong(proof.len()));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::Mismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode == 0 && r == *root { Ok(()) } else { Err(ProofError::Mismatch) }
}

/// The two roots a consistency path implies, RFC 9162 §2.1.4.2 steps 3–7,
/// where `path` already starts with the hash the RFC prepends when `old` is
/// a power of two. Returns `(old root, new root)`.
pub fn consistency_roots(old: u64, new: u64, path: &[Sha256Hash]) -> Result<(Sha256Hash, Sha256Hash), ProofError> {
    if old == 0 || old >= new {
        return Err(ProofError::Range(format!("need 0 < old < new, got {old} and {new}")));
    }
    if path.len() > MAX_PROOF_HASHES + 1 {
        return Err(ProofError::TooLong(path.len()));
    }
    let (first, rest) = path.split_first().ok_or(ProofError::Mismatch)?;
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::Mismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::Mismatch);
    }
    Ok((fr, sr))
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix
/// of the tree of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Sha256Hash,
    new_root: &Sha256Hash,
    proof: &[Sha256Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Range(format!("old size {old} > new size {new}")));
    }
    if old == new {
        return if proof.is_empty() && old_root == new_root { Ok(()) } else { Err(ProofError::Mismatch) };
    }
    if old == 0 {
        // Every tree extends the empty tree; there is nothing to prove.
        return if proof.is_empty() && *old_root == empty_root() { Ok(()) } else { Err(ProofError::Mismatch) };
    }
    if proof.is_empty() {
        return Err(ProofError::Mismatch);
    }
    let path: Vec<Sha256Hash> = if old.is_power_of_two() {
        std::iter::once(*old_root).chain(proof.iter().copied()).collect()
    } else {
        proof.to_vec()
    };
    let (fr, sr) = consistency_roots(old, new, &path)?;
    if fr == *old_root && sr == *new_root { Ok(()) } else { Err(ProofError::Mismatch) }
}
