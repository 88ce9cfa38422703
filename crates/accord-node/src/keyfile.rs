//! The node key file: the 32-byte ed25519 seed in hex, mode 0600. The same
//! key signs the node's attestations and stamps and is its libp2p identity.

use accord_proto::SecretKey;
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file does not hold 64 hex digits.
    #[error("{path}: not a key file (expected 64 hexadecimal digits)")]
    Invalid {
        /// The file.
        path: String,
    },
}

/// Reads a key file.
pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|source| KeyFileError::Io { path: path.display().to_string(), source })?,
    );
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| KeyFileError::Invalid { path: path.display().to_string() })?;
    let key = SecretKey::from_seed(seed);
    seed.fill(0);
    Ok(key)
}

/// Writes a new key file with mode 0600; fails if the file exists.
pub fn write_new(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let text = Zeroizing::new(hex::encode(*key.to_seed()) + "\n");
    write_private(path, text.as_bytes())
}

/// Writes a new secret file (mode 0600, synced); fails if it exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io { path: path.display().to_string(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}
