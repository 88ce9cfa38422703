//! The node key file and other secret files of the data directory, kept
//! as account keys are (`accord-keyfile`): the seed in hex, mode 0600,
//! written atomically, refused when others can read it. The same key signs
//! the node's attestations and stamps and is its libp2p identity.

pub use accord_keyfile::{KeyFileError, read, write as write_new, write_private};
