//! Shared blocklists: entries, the Merkle log they form, signed checkpoints
//! and equivocation proofs (spec/blocklists.md).

pub mod checkpoint;
pub mod entry;
mod entry_de;
pub mod equivocation;
pub mod merkle;
pub mod range;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint};
pub use entry::{Action, Category, EntryError, ListEntry, Target, TargetKind, target_hash};
pub use equivocation::{EquivocationError, EquivocationProof};
pub use merkle::{MerkleLog, ProofError};
pub use range::{RangeError, Received, VerifiedRange, apply_range};
pub use witness::{AddCheckpoint, CosignatureError, WitnessError, WitnessKey, WitnessState};
