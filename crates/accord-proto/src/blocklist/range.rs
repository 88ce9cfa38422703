//! Verifying a range of leaves received for a list against the signed
//! checkpoint it must reach (spec/blocklists.md §10.4, steps 2 to 4).
//!
//! A subscriber holds the first `h` leaves of a list; it receives leaves
//! asked from index `from` and a verified target checkpoint of size `n`.
//! The range is applied only if it is exactly the missing leaves `h … n−1`,
//! each a valid entry, and the tree over the held and received leaves has
//! the target's root. Nothing is applied otherwise: overlapping, repeated,
//! out-of-order and short ranges are refused.

use super::checkpoint::Checkpoint;
use super::entry::{EntryError, ListEntry};
use super::merkle::{MerkleLog, leaf_hash};
use crate::Sha256Hash;

/// Why a range of leaves was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// The leaves are not the missing range `h … n−1` (see the message), or
    /// do not make the target's root.
    #[error("the entries do not make the signed checkpoint: {0}")]
    BadRange(String),
    /// A received leaf is not a valid entry.
    #[error("leaf {index} is not a valid entry: {error}")]
    InvalidEntry {
        /// The leaf's index in the list.
        index: u64,
        /// Why it does not parse.
        error: EntryError,
    },
}

impl RangeError {
    /// A stable machine-readable code: `bad_range` or `invalid_entry`.
    pub fn code(&self) -> &'static str {
        match self {
            RangeError::BadRange(_) => "bad_range",
            RangeError::InvalidEntry { .. } => "invalid_entry",
        }
    }
}

/// The log `held` extended by `leaves`, received for the indexes from
/// `from` on, if they make exactly the tree of `target` (which the caller
/// has verified for the list); `held` itself is left as it was, so a refused
/// range changes nothing.
pub fn apply_range(
    held: &MerkleLog,
    target: &Checkpoint,
    from: u64,
    leaves: &[Vec<u8>],
) -> Result<MerkleLog, RangeError> {
    reaches(held, target, from, leaves.len())?;
    let mut received = Received::new(from);
    received.add(leaves.to_vec(), |_| ())?;
    received.apply(held, target).map(|range| range.log)
}

/// Whether `k` leaves from `from` are exactly the range `h … n−1` missing
/// from `held` to reach `target`.
fn reaches(held: &MerkleLog, target: &Checkpoint, from: u64, k: usize) -> Result<(), RangeError> {
    let h = held.size();
    if from != h {
        return Err(RangeError::BadRange(format!("the range starts at {from}, the log holds {h} entries")));
    }
    if h.checked_add(k as u64) != Some(target.size) {
        return Err(RangeError::BadRange(format!(
            "{k} entries from {from} do not reach the checkpoint's size {}",
            target.size
        )));
    }
    Ok(())
}

/// Leaves of a range received page by page (spec/blocklists.md §10.4):
/// each leaf is parsed and hashed as its page is added, so that this work
/// can be done while the next page is on its way. Nothing of it counts
/// until [`Received::apply`] has checked that the whole range makes the
/// signed root.
#[derive(Debug)]
pub struct Received<T> {
    from: u64,
    leaves: Vec<Vec<u8>>,
    hashes: Vec<Sha256Hash>,
    read: Vec<T>,
}

/// A range that made its target's root: the extended log, the leaves and
/// what the reader made of each entry, in log order.
#[derive(Debug)]
pub struct VerifiedRange<T> {
    /// The held log extended by the range.
    pub log: MerkleLog,
    /// The leaves, from the range's first index on.
    pub leaves: Vec<Vec<u8>>,
    /// What the reader made of each leaf's entry.
    pub read: Vec<T>,
}

impl<T> Received<T> {
    /// Nothing received yet of a range that starts at index `from`.
    pub fn new(from: u64) -> Self {
        Received { from, leaves: Vec::new(), hashes: Vec::new(), read: Vec::new() }
    }

    /// The index of the first leaf.
    pub fn from(&self) -> u64 {
        self.from
    }

    /// How many leaves have been received.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether no leaf has been received.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Adds the leaves that follow those received, each parsed (its entry
    /// handed to `read`) and hashed. A leaf that is not a valid entry
    /// refuses the whole page: nothing of it is added.
    pub fn add(&mut self, leaves: Vec<Vec<u8>>, mut read: impl FnMut(ListEntry) -> T) -> Result<(), RangeError> {
        let first = self.from + self.leaves.len() as u64;
        let mut read_entries = Vec::with_capacity(leaves.len());
        for (leaf, index) in leaves.iter().zip(first..) {
            read_entries.push(read(ListEntry::parse(leaf).map_err(|error| RangeError::InvalidEntry { index, error })?));
        }
        self.hashes.extend(leaves.iter().map(|leaf| leaf_hash(leaf)));
        self.read.extend(read_entries);
        self.leaves.extend(leaves);
        Ok(())
    }

    /// Keeps only the first `len` leaves (those a checkpoint covers).
    pub fn truncate(&mut self, len: usize) {
        self.leaves.truncate(len);
        self.hashes.truncate(len);
        self.read.truncate(len);
    }

    /// The log `held` extended by the leaves received, if they are exactly
    /// the missing range `h … n−1` of `target` (which the caller has
    /// verified for the list) and make its root; `held` itself is left as
    /// it was, so a refused range changes nothing.
    pub fn apply(self, held: &MerkleLog, target: &Checkpoint) -> Result<VerifiedRange<T>, RangeError> {
        reaches(held, target, self.from, self.leaves.len())?;
        let mut log = held.clone();
        for hash in self.hashes {
            log.push_leaf_hash(hash);
        }
        if log.root() != target.root {
            return Err(RangeError::BadRange("the entries do not make the checkpoint's root".into()));
        }
        Ok(VerifiedRange { log, leaves: self.leaves, read: self.read })
    }
}
