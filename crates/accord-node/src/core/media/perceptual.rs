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
//!   carries an image this node already holds (its recorded hashes);
//! - [`Stage::Fetch`]: `fetch::fetch_one`, after a fetched blob's hash and
//!   structure are verified and before it is stored.
//!
//! - [`Stage::Sweep`]: `sweep`, when the entries enforced here change:
//!   every image held is looked up again (its recorded hashes) and the
//!   bytes of those that match are purged.
//!
//! A refusal carries the provenance of the list entry that matched; the
//! caller refuses the upload or the send with `blocked`, refuses the event
//! at ingress, or does not store fetched bytes (only the record). Stored
//! events whose attachments match are hidden wherever they are served
//! (`Lists::check_wire`). The image is hashed here
//! with PDQ, itself and its mirror image, never trusting a peer's hash, and
//! looked up in the `pdq` entries of the lists this node enforces, each
//! within its subscription's distance threshold.

use crate::core::Core;
use crate::core::lists::Provenance;
use accord_media::DecodedImage;
use accord_proto::Sha256Hash;
use accord_proto::pdq::PdqHash;
use accord_store::BlobRecord;

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
    /// It is held, and the entries enforced here changed.
    Sweep,
}

/// The PDQ hashes of an image (itself and its mirror image) that are
/// strong enough to act on (quality 50 or more): what a blob's record
/// keeps, and what is looked up. Empty for an image PDQ cannot hash (too
/// small to carry a picture) or whose hashes are too weak; its exact hash
/// is still checked elsewhere.
pub fn hashes(image: &DecodedImage) -> Vec<PdqHash> {
    match accord_pdq::hash_with_mirror(&image.image) {
        Ok(hashed) => hashed.iter().filter(|h| h.quality.is_actionable()).map(|h| h.hash).collect(),
        Err(e) => {
            tracing::debug!("no PDQ hash: {e}");
            Vec::new()
        }
    }
}

/// Checks an image's pixels; `Err` with the matching entry's provenance
/// refuses it. Returns the image's PDQ hashes ([`hashes`]) for its record.
pub fn check_image(
    core: &Core,
    stage: Stage,
    hash: &Sha256Hash,
    image: &DecodedImage,
) -> Result<Vec<PdqHash>, Box<Provenance>> {
    let pdq = hashes(image);
    check_hashes(core, stage, hash, &pdq)?;
    Ok(pdq)
}

/// Looks up an image's PDQ hashes, computed here earlier (a blob's
/// record), in the `pdq` entries this node enforces.
pub fn check_hashes(core: &Core, stage: Stage, hash: &Sha256Hash, pdq: &[PdqHash]) -> Result<(), Box<Provenance>> {
    match core.lists.check_pdq(&core.store, pdq) {
        Some(provenance) => {
            tracing::info!(%hash, ?stage, list = %provenance.list, entry = provenance.entry, "image matches a pdq entry");
            Err(Box::new(provenance))
        }
        None => Ok(()),
    }
}

/// The PDQ hashes of a held image as its record keeps them; for a record
/// stored without them (by an older version), computed from the stored
/// bytes (off the async threads) and recorded. `None` for a blob that is
/// not an image, whose bytes are gone, or that does not decode.
pub async fn recorded_hashes(core: &Core, hash: &Sha256Hash, record: &BlobRecord) -> Option<Vec<PdqHash>> {
    if let Some(pdq) = &record.pdq {
        return Some(pdq.clone());
    }
    if !record.media_type.is_image() || record.thumbnail_of.is_some() {
        return None;
    }
    let bytes = core.store.blob(hash).ok()??;
    let limits = core.media.limits;
    let inspected = tokio::task::spawn_blocking(move || accord_media::inspect(&bytes, &limits)).await.ok()?.ok()?;
    let image = inspected.image?;
    let pdq = tokio::task::spawn_blocking(move || hashes(&image)).await.ok()?;
    if let Err(e) = core.store.set_blob_pdq(hash, pdq.clone()).await {
        tracing::warn!(%hash, "recording PDQ hashes: {e}");
    }
    Some(pdq)
}
