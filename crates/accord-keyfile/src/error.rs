//! Why a key file could not be read or written.

use std::path::PathBuf;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file exists and overwriting was not asked for.
    #[error("key file {} already exists (refusing to overwrite it)", path.display())]
    Exists {
        /// The key file.
        path: PathBuf,
    },
    /// Reading, creating or writing the file failed.
    #[error("key file {}: {source}", path.display())]
    Io {
        /// The key file (or the directory it was to be created in).
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold a key (64 hexadecimal digits and a newline).
    #[error("key file {} is malformed: {reason}", path.display())]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file can be read or written by other users than its owner.
    #[error("key file {} is accessible to others (mode {mode:o}); run `chmod 600` on it", path.display())]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// No fresh key could be made: the operating system's random source failed.
    #[error("cannot generate a key: {0}")]
    Randomness(String),
}
