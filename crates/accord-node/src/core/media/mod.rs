//! Media: the files messages carry (spec/client-api.md §10,
//! spec/federation.md §10).
//!
//! - [`upload`]: a member's file goes through the media pipeline
//!   (`accord-media`: type sniffed, image decoded under limits, metadata
//!   stripped, thumbnail), is checked against the quotas and stored under
//!   its SHA-256.
//! - [`check_send`]: a message is stamped only if this node holds each of
//!   its attachments exactly as described.
//! - [`fetch`]: after events of other nodes are stored, their attachments
//!   are fetched from the origin, chunk by chunk, hash-verified, checked by
//!   the pipeline and stored; a peer that serves other bytes is penalised.
//! - [`serve`]: peers' chunk requests, rate-limited per peer.
//! - [`perceptual`]: the one place where an image's pixels are checked
//!   (called at upload, send, ingress and after a fetch).
//! - [`sweep`]: when the enforced entries change, the images held are
//!   checked again and the bytes of those that match are purged.

pub mod fetch;
pub mod perceptual;
pub mod serve;
pub mod sweep;
pub mod upload;

pub use perceptual::{Stage, check_hashes, check_image};
pub use upload::{UploadError, Uploaded, upload};

use crate::config::MediaSection;
use accord_media::MediaLimits;
use accord_proto::media::Attachment;
use accord_proto::{NodeId, Sha256Hash};
use accord_store::{BlobRecord, Store, StoreError};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The node's media state: limits, the bytes stored, fetches under way and
/// the per-peer rate of chunks served.
pub struct Media {
    /// The pipeline's limits.
    pub(crate) limits: MediaLimits,
    /// Bytes one account may have uploaded.
    pub(crate) account_quota: u64,
    /// Bytes the node stores in all.
    pub(crate) node_quota: u64,
    /// Bytes of every blob stored (loaded at start, kept up to date).
    stored: AtomicU64,
    /// Serialises quota checks with the writes they allow.
    pub(crate) quota_lock: tokio::sync::Mutex<()>,
    /// Blobs being fetched from peers now.
    fetching: Mutex<HashSet<Sha256Hash>>,
    /// Woken each time a fetch ends.
    fetch_ended: tokio::sync::Notify,
    /// Chunks served per peer.
    peer_chunks: DefaultKeyedRateLimiter<NodeId>,
}

impl Media {
    /// The media state of a node whose store is `store`.
    pub fn load(store: &Store, config: &MediaSection) -> Result<Media, StoreError> {
        let rate = NonZeroU32::new(config.peer_chunks_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(Media {
            limits: config.limits(),
            account_quota: config.account_quota_bytes,
            node_quota: config.node_quota_bytes,
            stored: AtomicU64::new(store.blob_bytes()?),
            quota_lock: tokio::sync::Mutex::new(()),
            fetching: Mutex::new(HashSet::new()),
            fetch_ended: tokio::sync::Notify::new(),
            peer_chunks: RateLimiter::keyed(Quota::per_second(rate).allow_burst(rate.saturating_mul(NonZeroU32::MIN))),
        })
    }

    /// Bytes of every blob stored.
    pub fn stored_bytes(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    pub(crate) fn add_stored(&self, bytes: u64) {
        self.stored.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn sub_stored(&self, bytes: u64) {
        let _ = self.stored.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_sub(bytes)));
    }

    /// Marks a blob as being fetched; false if it already is.
    pub(crate) fn start_fetch(&self, hash: Sha256Hash) -> bool {
        self.fetching.lock().unwrap_or_else(|p| p.into_inner()).insert(hash)
    }

    pub(crate) fn end_fetch(&self, hash: &Sha256Hash) {
        self.fetching.lock().unwrap_or_else(|p| p.into_inner()).remove(hash);
        self.fetch_ended.notify_waiters();
    }

    /// Waits until no fetch of `hash` is under way (one started elsewhere,
    /// for the same event arriving by another path).
    pub(crate) async fn fetch_done(&self, hash: &Sha256Hash) {
        loop {
            // Created before the check, so that an end in between wakes it.
            let ended = self.fetch_ended.notified();
            if !self.fetching.lock().unwrap_or_else(|p| p.into_inner()).contains(hash) {
                return;
            }
            ended.await;
        }
    }

    pub(crate) fn peer_chunk(&self, peer: &NodeId) -> bool {
        self.peer_chunks.check_key(peer).is_ok()
    }
}

/// Whether a stored blob is exactly what an attachment describes.
pub fn matches(record: &BlobRecord, a: &Attachment) -> bool {
    record.size == a.size && record.media_type == a.media_type && record.width == a.width && record.height == a.height
}

/// Why a message's attachments were refused at send.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AttachmentError {
    /// This node holds no blob with that hash.
    #[error("attachment {0} has not been uploaded to this node")]
    Missing(Sha256Hash),
    /// The blob held differs from the descriptor (size, type, dimensions).
    #[error("attachment {0} does not match the file this node holds")]
    Mismatch(Sha256Hash),
    /// The perceptual check refused an image.
    #[error("attachment {0} is blocked")]
    Blocked(Sha256Hash, Box<crate::core::lists::Provenance>),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}

impl AttachmentError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            AttachmentError::Missing(_) => "missing_attachment",
            AttachmentError::Mismatch(_) => "attachment_mismatch",
            AttachmentError::Blocked(..) => "blocked",
            AttachmentError::Store(_) => "internal",
        }
    }
}

/// Checks a message's attachments before this node stamps it: each is
/// held here with exactly the size, type and dimensions given, and each
/// image passes the perceptual check ([`Stage::Send`]). An image whose
/// bytes were purged because an enforced entry matches it is refused
/// `blocked` with that entry's provenance, as it would have been before
/// the purge; other purged blobs are `missing_attachment`.
pub async fn check_send(core: &crate::core::Core, attachments: &[Attachment]) -> Result<(), AttachmentError> {
    let store_err = |e: StoreError| AttachmentError::Store(e.to_string());
    for a in attachments {
        let record = core.store.blob_record(&a.hash).map_err(store_err)?.ok_or(AttachmentError::Missing(a.hash))?;
        if record.purged.is_some() {
            // Purged because an entry matches it: refused as `blocked`, with
            // the entry's provenance, whether or not the sweep came first.
            if let Some(pdq) = &record.pdq {
                check_hashes(core, Stage::Send, &a.hash, pdq).map_err(|p| AttachmentError::Blocked(a.hash, p))?;
            }
            return Err(AttachmentError::Missing(a.hash));
        }
        if !matches(&record, a) || record.thumbnail_of.is_some() {
            return Err(AttachmentError::Mismatch(a.hash));
        }
        if a.media_type.is_image() {
            let pdq =
                perceptual::recorded_hashes(core, &a.hash, &record).await.ok_or(AttachmentError::Mismatch(a.hash))?;
            check_hashes(core, Stage::Send, &a.hash, &pdq).map_err(|p| AttachmentError::Blocked(a.hash, p))?;
        }
    }
    Ok(())
}

/// Deletes a blob's bytes (and its thumbnail's) from this node, keeping its
/// record as evidence; a purged blob is neither served, nor sent, nor
/// fetched again. For enforcement that removes content (a list entry that
/// purges): the events that carry it are `core.store.blob_refs(hash)`.
pub async fn purge(core: &crate::core::Core, hash: &Sha256Hash) -> Result<u64, StoreError> {
    let _quota = core.media.quota_lock.lock().await;
    let freed = core.store.purge_blob(hash, accord_proto::Timestamp::now()).await?;
    core.media.sub_stored(freed);
    Ok(freed)
}

/// A stored blob and its record, if this node holds it.
pub fn blob(core: &crate::core::Core, hash: &Sha256Hash) -> Result<Option<(BlobRecord, Vec<u8>)>, StoreError> {
    let Some(record) = core.store.blob_record(hash)? else { return Ok(None) };
    Ok(core.store.blob(hash)?.map(|bytes| (record, bytes)))
}
