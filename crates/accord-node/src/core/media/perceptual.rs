//! The perceptual check: the single place where an image's pixels are
//! matched against what this node enforces.
//!
//! [`check_image`] is called with the decoded image (EXIF orientation
//! applied) at each point where pixels enter or leave through this node:
//!
//! - [`Stage::Upload`]: `upload::upload`, before anything is stored;
//! - [`Stage::Send`]: `check_send`, before a message carrying the image is
//!   stamped (the stored bytes, decoded again);
//! - [`Stage::Ingress`]: `fetch::check_ingress`, when a peer's event
//!   carries an image this node already holds;
//! - [`Stage::Fetch`]: `fetch::fetch_one`, after a fetched blob's hash and
//!   structure are verified and before it is stored.
//!
//! A refusal carries the provenance of the list entry that matched; the
//! caller refuses the upload or the send with `blocked`, refuses the event
//! at ingress, or does not store fetched bytes. The image is hashed here
//! with PDQ, itself and its mirror image, never trusting a peer's hash, and
//! looked up in the `pdq` entries of the lists this node enforces, each
//! within its subscription's distance threshold.

use crate::core::Core;
use crate::core::lists::Provenance;
use accord_media::DecodedImage;
use accord_proto::Sha256Hash;

/// Where an image is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A member uploads it.
    Upload,
    /// A member sends a message carrying it.
    Send,
    /// A peer's event carries it (the bytes are held here already).
    Ingress,
    /// It was fetched from a peer.
    Fetch,
}

/// Checks an image's pixels; `Err` with the matching entry's provenance
/// refuses it.
pub fn check_image(core: &Core, stage: Stage, hash: &Sha256Hash, image: &DecodedImage) -> Result<(), Box<Provenance>> {
    let hashes = match accord_pdq::hash_with_mirror(&image.image) {
        Ok(hashes) => hashes,
        // An image PDQ cannot hash (too small to carry a picture) matches
        // no perceptual entry; its exact hash is still checked elsewhere.
        Err(e) => {
            tracing::debug!(%hash, ?stage, "no PDQ hash: {e}");
            return Ok(());
        }
    };
    match core.lists.check_image(&core.store, &hashes) {
        Some(provenance) => {
            tracing::info!(%hash, ?stage, list = %provenance.list, entry = provenance.entry, "image matches a pdq entry");
            Err(Box::new(provenance))
        }
        None => Ok(()),
    }
}
