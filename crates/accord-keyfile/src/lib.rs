//! Key files of Accord accounts and nodes.
//!
//! A key file holds a 32-byte ed25519 seed as 64 lowercase hexadecimal
//! digits and a newline. Files are created complete or not at all (written
//! beside their place, synced, then moved into it), readable by their owner
//! only (mode `0600` on Unix), and never silently replaced; [`read`]
//! refuses a file that other users could read or write, as `ssh` does.
//!
//! ```
//! use accord_proto::SecretKey;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("alice.key");
//! let key = SecretKey::generate()?;
//! accord_keyfile::write(&path, &key)?;
//! let again = accord_keyfile::read(&path)?;
//! assert_eq!(key.account_id(), again.account_id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod file;
mod format;

pub use error::KeyFileError;

use accord_proto::SecretKey;
use std::path::Path;

/// Writes `key` to a new file at `path`, readable by its owner only.
/// Refuses if the file exists (see [`overwrite`]). Missing parent
/// directories are created (mode `0700` on Unix).
pub fn write(path: impl AsRef<Path>, key: &SecretKey) -> Result<(), KeyFileError> {
    file::create(path.as_ref(), format::encode(key).as_bytes(), file::Replace::No)
}

/// Writes `key` to `path`, replacing any existing file atomically.
pub fn overwrite(path: impl AsRef<Path>, key: &SecretKey) -> Result<(), KeyFileError> {
    file::create(path.as_ref(), format::encode(key).as_bytes(), file::Replace::Yes)
}

/// Reads a key file. Refuses one that users other than its owner may read
/// or write ([`KeyFileError::Permissions`]).
pub fn read(path: impl AsRef<Path>) -> Result<SecretKey, KeyFileError> {
    let path = path.as_ref();
    let text = file::read_private(path)?;
    format::parse(&text).map_err(|reason| KeyFileError::Malformed { path: path.to_owned(), reason })
}

/// Reads the key at `path`, or generates one and writes it there if there
/// is no file. Returns the key and whether it was created.
pub fn read_or_generate(path: impl AsRef<Path>) -> Result<(SecretKey, bool), KeyFileError> {
    let path = path.as_ref();
    match read(path) {
        Ok(key) => Ok((key, false)),
        Err(KeyFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate().map_err(|e| KeyFileError::Randomness(e.to_string()))?;
            write(path, &key)?;
            Ok((key, true))
        }
        Err(err) => Err(err),
    }
}

/// Writes another secret (a token, say) to a new file at `path` the same
/// way as a key: atomically, readable by its owner only, refused if the
/// file exists.
pub fn write_private(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), KeyFileError> {
    file::create(path.as_ref(), bytes, file::Replace::No)
}

#[cfg(test)]
mod tests;
