//! # accord-pdq
//!
//! Perceptual matching of images for Accord's blocklists
//! (spec/blocklists.md §2.1, §11): PDQ hashes computed from images, and an
//! index that finds every stored hash within a Hamming distance of a query
//! without scanning them all.
//!
//! PDQ is Meta's perceptual hash: 256 bits from the signs of an image's
//! low-frequency DCT coefficients, so a re-encoded, resized or slightly
//! cropped copy has a hash a few bits away from the original, and an
//! unrelated image one about 128 bits away. Two hashes at most
//! [`DEFAULT_PDQ_THRESHOLD`] (31) apart are taken for the same image;
//! hashes of quality below [`MIN_QUALITY`] (featureless images) are too
//! weak to act on.
//!
//! - [`hash_bytes`] / [`hash_image`] compute a hash and its [`Quality`]
//!   (with the `pdqhash` crate, bit for bit Meta's algorithm; the
//!   differential test against Meta's reference is `tests/it/reference.rs`).
//! - [`PdqIndex`] stores hashes with values and answers "every hash within
//!   `t`" by multi-index hashing, falling back to a scan where that is
//!   faster.
//!
//! ```
//! use accord_pdq::{PdqHash, PdqIndex};
//!
//! let stored: PdqHash = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22".parse()?;
//! let mut near = stored;
//! near.0[0] ^= 0b101; // two bits off
//! let index = PdqIndex::from_items([(stored, 7u32)]);
//! let found = index.query(&near, accord_pdq::DEFAULT_PDQ_THRESHOLD.into());
//! assert_eq!(found.len(), 1);
//! assert_eq!((found[0].value, found[0].distance), (7, 2));
//! # Ok::<(), accord_proto::pdq::PdqParseError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod hashing;
pub mod index;
mod quality;

pub use accord_proto::PdqHash;
pub use accord_proto::pdq::{DEFAULT_PDQ_THRESHOLD, MAX_PDQ_THRESHOLD};
pub use hashing::{
    HashError, Hashed, MAX_PIXELS, MAX_SIDE, MIN_QUALITY, Quality, decode, hash_bytes, hash_image, hash_rgb,
    hash_with_mirror,
};
pub use image;
pub use index::{Found, PdqIndex};
