//! Account key files.
//!
//! A key file holds the 32-byte ed25519 seed as 64 lowercase hexadecimal
//! digits and a newline. It is created complete or not at all, readable by
//! its owner only (mode `0600` on Unix), and never silently replaced;
//! [`read`] refuses a file that other users can read, as `ssh` does. The
//! node keeps its own key the same way (both use `accord-keyfile`).
//!
//! ```no_run
//! use accord_sdk::{SecretKey, keyfile};
//!
//! let key = SecretKey::generate()?;
//! keyfile::write("alice.key", &key)?;
//! let again = keyfile::read("alice.key")?;
//! assert_eq!(key.account_id(), again.account_id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use accord_keyfile::{overwrite, read, read_or_generate, write};
