//! # accord-media
//!
//! The media pipeline of an Accord node, as pure functions over bytes
//! (no I/O, no runtime):
//!
//! 1. [`sniff`] the type from the bytes (never from what a client claims),
//!    refusing active content (HTML, SVG, XML, scripts);
//! 2. walk the file's structure ([`structure`]): a file that ends before
//!    its format says it does is truncated, bytes after its end make it a
//!    polyglot;
//! 3. decode images under [`MediaLimits`]: the dimensions are read from the
//!    header and refused past the pixel limit before any pixel buffer is
//!    allocated, and the decoder runs with `image`'s allocation limits
//!    (no decompression bombs);
//! 4. re-encode images ([`prepare_upload`]): what is stored has no EXIF,
//!    XMP, text chunks or anything else but pixels — a photo's GPS
//!    position is gone; JPEG stays JPEG, every other image becomes PNG;
//! 5. make a thumbnail.
//!
//! Bytes fetched from another node are checked with [`inspect`] instead:
//! they must already be in the form a node stores (a PNG or JPEG without
//! metadata, or another file), since re-encoding them would change their
//! hash.
//!
//! Both return the decoded image ([`DecodedImage`]) so that a perceptual
//! check can look at the pixels without decoding twice.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod pipeline;
mod sniff;
pub mod structure;

pub use accord_proto::media::MediaType;
pub use error::MediaError;
pub use image;
pub use pipeline::{DecodedImage, Inspected, MediaLimits, Prepared, Thumbnail, inspect, prepare_upload, thumbnail};
pub use sniff::{Sniffed, sniff};
