//! A member's upload: the pipeline, the perceptual check, the quotas, one
//! store write (spec/client-api.md §10.1).

use super::{Stage, check_image};
use crate::core::Core;
use crate::core::lists::Provenance;
use accord_media::{MediaError, Prepared};
use accord_proto::media::Attachment;
use accord_proto::{AccountId, Sha256Hash, Timestamp};
use accord_store::{BlobRecord, NewBlob, StoreError};

/// Why an upload was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum UploadError {
    /// The media pipeline refused the file.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Storing it would pass a quota.
    #[error("the {scope} quota of {limit} bytes would be exceeded")]
    QuotaExceeded {
        /// `account` or `node`.
        scope: &'static str,
        /// The quota in bytes.
        limit: u64,
    },
    /// The perceptual check refused the image.
    #[error("blocked by {} entry {} ({})", .0.list, .0.entry, .0.category.as_str())]
    Blocked(Box<Provenance>),
    /// The store failed; nothing was stored.
    #[error("store: {0}")]
    Store(String),
    /// The disk is full; nothing was stored.
    #[error("the node's storage is full; nothing was stored")]
    StorageFull,
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        if e.is_no_space() {
            tracing::warn!("an upload refused: {e}");
            return UploadError::StorageFull;
        }
        UploadError::Store(e.to_string())
    }
}

impl UploadError {
    /// The stable error code (spec/client-api.md §10.1).
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::Media(e) => e.code(),
            UploadError::QuotaExceeded { .. } => "quota_exceeded",
            UploadError::Blocked(_) => "blocked",
            UploadError::StorageFull => "storage_full",
            UploadError::Store(_) => "internal",
        }
    }
}

/// What an upload became: the attachment to put in a message, and the
/// thumbnail's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The attachment descriptor.
    pub attachment: Attachment,
    /// The thumbnail (images).
    pub thumbnail: Option<Sha256Hash>,
}

/// Takes a member's file: runs the pipeline (off the async threads),
/// checks the image, then under the quota lock checks the account's and
/// the node's quotas and stores the blob, its thumbnail and the owner row
/// in one write. Uploading a file held already costs the account its size
/// once and stores nothing new.
pub async fn upload(core: &Core, account: AccountId, bytes: Vec<u8>) -> Result<Uploaded, UploadError> {
    let limits = core.media.limits;
    let prepared = tokio::task::spawn_blocking(move || accord_media::prepare_upload(&bytes, &limits))
        .await
        .map_err(|e| UploadError::Store(e.to_string()))??;
    let hash = Sha256Hash::digest(&prepared.bytes);
    let pdq = match &prepared.image {
        Some(image) => Some(check_image(core, Stage::Upload, &hash, image).map_err(UploadError::Blocked)?),
        None => None,
    };
    let Prepared { bytes, media_type, image, thumbnail } = prepared;
    let (width, height) = image.as_ref().map(|i| (Some(i.width()), Some(i.height()))).unwrap_or((None, None));
    let attachment = Attachment { hash, size: bytes.len() as u64, media_type, width, height };
    let thumb = thumbnail.map(|t| {
        let thumb_hash = Sha256Hash::digest(&t.bytes);
        let record = BlobRecord {
            size: t.bytes.len() as u64,
            media_type: t.media_type,
            width: Some(t.width),
            height: Some(t.height),
            thumbnail: None,
            thumbnail_of: Some(hash),
            uploader: Some(account),
            origin: None,
            stored: Timestamp::now(),
            purged: None,
            pdq: None,
        };
        (thumb_hash, t.bytes, record)
    });
    let thumbnail = thumb.as_ref().map(|t| t.0);
    let record = BlobRecord {
        size: attachment.size,
        media_type,
        width,
        height,
        thumbnail,
        thumbnail_of: None,
        uploader: Some(account),
        origin: None,
        stored: Timestamp::now(),
        purged: None,
        pdq,
    };
    let _quota = core.media.quota_lock.lock().await;
    let held = core.store.blob_record(&hash)?;
    if !core.store.owns_blob(&account, &hash)? {
        let used = core.store.account_blob_bytes(&account)?;
        if used.saturating_add(attachment.size) > core.media.account_quota {
            return Err(UploadError::QuotaExceeded { scope: "account", limit: core.media.account_quota });
        }
    }
    let new_bytes = if held.is_some() { 0 } else { attachment.size + thumb.as_ref().map_or(0, |t| t.2.size) };
    if core.media.stored_bytes().saturating_add(new_bytes) > core.media.node_quota {
        return Err(UploadError::QuotaExceeded { scope: "node", limit: core.media.node_quota });
    }
    // A blob held already keeps its record (and thumbnail).
    let thumbnail = held.as_ref().map_or(thumbnail, |r| r.thumbnail);
    core.store.put_blob(NewBlob { hash, bytes, record, thumbnail: thumb }, Some(account)).await?;
    core.media.add_stored(new_bytes);
    Ok(Uploaded { attachment, thumbnail })
}
