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
use super::merkle::MerkleLog;

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
    apply_range_with(held, target, from, leaves, |_| ()).map(|(log, _)| log)
}

/// [`apply_range`], handing each leaf's parsed entry to `read`, in log
/// order: a caller that needs the entries (to index them) parses each leaf
/// once. Returns the extended log and what `read` made of each entry.
pub fn apply_range_with<T>(
    held: &MerkleLog,
    target: &Checkpoint,
    from: u64,
    leaves: &[Vec<u8>],
    mut read: impl FnMut(ListEntry) -> T,
) -> Result<(MerkleLog, Vec<T>), RangeError> {
    let h = held.size();
    if from != h {
        return Err(RangeError::BadRange(format!("the range starts at {from}, the log holds {h} entries")));
    }
    let k = leaves.len() as u64;
    if h.checked_add(k) != Some(target.size) {
        return Err(RangeError::BadRange(format!(
            "{k} entries from {from} do not reach the checkpoint's size {}",
            target.size
        )));
    }
    let mut read_entries = Vec::with_capacity(leaves.len());
    for (leaf, index) in leaves.iter().zip(from..) {
        read_entries.push(read(ListEntry::parse(leaf).map_err(|error| RangeError::InvalidEntry { index, error })?));
    }
    let mut log = held.clone();
    for leaf in leaves {
        log.push(leaf);
    }
    if log.root() != target.root {
        return Err(RangeError::BadRange("the entries do not make the checkpoint's root".into()));
    }
    Ok((log, read_entries))
}
