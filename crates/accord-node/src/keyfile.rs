//! The node key file and other secret files of the data directory, kept
//! as account keys are (`accord-keyfile`): the seed in hex, mode 0600,
//! written atomically, refused when others can read it. The same key signs
//! the node's attestations and stamps and is its libp2p identity.

use accord_proto::SecretKey;
use std::path::Path;

pub use accord_keyfile::{KeyFileError, write_private};

/// Reads the key file at `path`.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    accord_keyfile::read(path)
}

/// Writes a new key file at `path`; fails if the file exists.
pub fn write_new(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    accord_keyfile::write(path, key)
}
