//! The retroactive part of perceptual enforcement: when what this node
//! enforces changes, every image it holds is looked up again, and the bytes
//! of those that a `pdq` entry now matches are purged.
//!
//! The events that carry such an image are hidden wherever they are served
//! (`Lists::check_wire` looks up the hashes the blob's record keeps), so
//! the sweep only has to remove the bytes: it marks each matching blob
//! purged (its record and hashes stay, as evidence), then makes the bytes
//! unrecoverable from the data directory (`Store::erase_purged_blobs`). A
//! sweep runs at start and after each change of the enforced entries,
//! one at a time; changes that arrive during a sweep cause one more.

use super::perceptual::{Stage, check_hashes, recorded_hashes};
use crate::core::Core;
use accord_store::StoreError;
use std::sync::Arc;

/// Starts the sweeper: a task that sweeps at start and whenever the
/// enforced entries change, until the node stops.
pub fn spawn(core: Arc<Core>) {
    let mut changes = core.lists.changes();
    core.tasks().clone().spawn(async move {
        loop {
            changes.mark_unchanged();
            match sweep(&core).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("purged the bytes of {n} images that an enforced pdq entry matches"),
                Err(e) => tracing::warn!("media sweep: {e}"),
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Looks up every image held (bytes not purged yet) in the enforced `pdq`
/// entries and purges those that match. Returns how many were purged.
pub async fn sweep(core: &Core) -> Result<usize, StoreError> {
    if !core.lists.enforces_pdq() {
        return Ok(0);
    }
    let mut purged = 0;
    for (hash, record) in core.store.blob_records()? {
        if record.purged.is_some() || record.thumbnail_of.is_some() || !record.media_type.is_image() {
            continue;
        }
        let Some(pdq) = recorded_hashes(core, &hash, &record).await else { continue };
        if let Err(provenance) = check_hashes(core, Stage::Sweep, &hash, &pdq) {
            let freed = super::purge(core, &hash).await?;
            core.metrics.media_purged();
            tracing::info!(
                %hash,
                list = %provenance.list,
                entry = provenance.entry,
                freed,
                events = core.store.blob_refs(&hash)?.len(),
                "purged an image an enforced pdq entry matches"
            );
            purged += 1;
        }
    }
    if purged > 0 {
        core.store.erase_purged_blobs().await?;
    }
    Ok(purged)
}
