//! # accord-proto
//!
//! The Accord protocol as pure data: identities, signed envelopes, room
//! events and the room rules, shared blocklists (entries, Merkle log,
//! signed checkpoints, equivocation proofs), reports and the moderation
//! audit log.
//!
//! This crate performs no I/O and depends on no runtime, network or storage
//! library. Every type here is specified byte for byte in the repository's
//! `spec/` directory; the documentation of each wire type names its section.
//!
//! The central rule is *verify, then parse*: a signed object travels as the
//! exact bytes that were signed plus the signature ([`SignedBytes`]). Its
//! typed content can only be read after the signature was checked, by turning
//! an [`Unverified`] into a [`Verified`].
//!
//! ```
//! use accord_proto::{SecretKey, Timestamp, identity::{IdentityDocument, Handle}, NodeId, Verified};
//!
//! let account_key = SecretKey::from_seed([7; 32]);
//! let node_key = SecretKey::from_seed([9; 32]);
//! let doc = IdentityDocument {
//!     account: account_key.account_id(),
//!     handle: "alice@example.org".parse()?,
//!     home: NodeId::from(node_key.public()),
//!     created: Timestamp::from_millis(1_700_000_000_000),
//! };
//! let signed = Verified::sign(doc, &account_key)?;
//! let received = signed.to_unverified();
//! let verified = received.verify()?;
//! assert_eq!(verified.handle.to_string(), "alice@example.org");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod appeal;
pub mod audit;
pub mod auth;
pub mod blocklist;
mod codec;
pub mod envelope;
pub mod event;
pub mod federation;
pub mod hash;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod list_page;
pub mod media;
pub mod names;
pub mod pdq;
pub mod policy;
pub mod report;
pub mod room;
pub mod text;
pub mod time;

pub use envelope::{Domain, EnvelopeError, SignedBytes, Unverified, Verified};
pub use hash::Sha256Hash;
pub use ids::{AccountId, ContentHash, EventId, IssuerId, ListId, ListName, NodeId, ParseIdError, RoomId};
pub use keys::{KeyError, PublicKey, SecretKey, Signature};
pub use pdq::PdqHash;
pub use time::Timestamp;
