//! Fetching the attachments of other nodes' events from their origin
//! (spec/federation.md §10.3).
//!
//! After events of a peer are stored, each attachment this node does not
//! hold is fetched from the event's origin node in chunks of at most
//! `MAX_CHUNK` bytes. The whole is checked before anything is stored: its
//! size is the descriptor's, its SHA-256 is the attachment's hash (else the
//! origin is penalised with `media_mismatch` and blocked), it passes
//! `accord_media::inspect` with the type and dimensions the descriptor
//! gives (else `bad_media`) and the perceptual check. The thumbnail is made
//! here, never taken from a peer.

use super::{Stage, check_hashes, matches};
use crate::core::Core;
use crate::core::lists::Provenance;
use crate::network::{self, NetworkError};
use accord_media::MediaError;
use accord_proto::event::Event;
use accord_proto::media::{Attachment, MAX_CHUNK, MediaRequest, MediaResponse};
use accord_proto::{NodeId, Sha256Hash, Timestamp};
use accord_store::{BlobRecord, NewBlob, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Attempts at a fetch that fails for reasons an honest origin can cause
/// (a dropped connection, being busy, not holding the bytes yet).
const ATTEMPTS: u32 = 5;
/// First wait between attempts; doubled after each.
const BACKOFF: Duration = Duration::from_millis(500);

/// Why a fetch failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The origin could not be asked or did not answer.
    #[error(transparent)]
    Network(Arc<NetworkError>),
    /// The origin holds no such blob.
    #[error("the origin does not hold it")]
    NotFound,
    /// The origin asked this node to slow down.
    #[error("rate limited by the origin")]
    RateLimited,
    /// The origin served bytes that are not the blob: another size, or
    /// another hash. Counted against the origin.
    #[error("the origin served bytes that do not match: {0}")]
    Mismatch(String),
    /// The bytes match the hash but are not what a node stores, or not
    /// what the descriptor says. Counted against the origin.
    #[error("the origin served an unacceptable file: {0}")]
    BadMedia(String),
    /// The file is over this node's limits (size, node quota).
    #[error("over this node's limits: {0}")]
    OverLimit(String),
    /// The perceptual check refused the image.
    #[error("blocked by {}", .0.list)]
    Blocked(Box<Provenance>),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for FetchError {
    fn from(e: StoreError) -> Self {
        FetchError::Store(e.to_string())
    }
}

impl FetchError {
    /// The stable code; `media_mismatch` and `bad_media` count against the
    /// origin.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Network(_) => "unreachable",
            FetchError::NotFound => "not_found",
            FetchError::RateLimited => "rate_limited",
            FetchError::Mismatch(_) => "media_mismatch",
            FetchError::BadMedia(_) => "bad_media",
            FetchError::OverLimit(_) => "too_large",
            FetchError::Blocked(_) => "blocked",
            FetchError::Store(_) => "internal",
        }
    }

    fn transient(&self) -> bool {
        matches!(self, FetchError::Network(_) | FetchError::NotFound | FetchError::RateLimited)
    }
}

/// How long a peer's events wait at ingress for their images to be
/// fetched and checked (see [`prefetch`]).
const PREFETCH_WAIT: Duration = Duration::from_secs(15);

/// Fetches and checks, before a peer's events are judged, the images they
/// carry that this node does not hold, each from its event's origin,
/// waiting at most [`PREFETCH_WAIT`]: an image that matches an enforced
/// `pdq` entry is then known (its record kept, its bytes not) when the
/// event reaches the perceptual check at ingress, which refuses it, so
/// that the event is never stored nor shown. Only events of a room held
/// here, stamped by one of its hosts, whose signatures verify, are looked
/// at. An image not fetched in time is fetched after
/// the event is stored ([`fetch_attachments`]); its bytes are served only
/// once checked.
pub async fn prefetch(core: &Arc<Core>, room: accord_proto::RoomId, events: &[accord_proto::event::UnverifiedEvent]) {
    // Only for a room held here, and only from its hosts: a peer cannot
    // make this node fetch and keep files for rooms it does not share.
    let Some(handle) = core.rooms.get(&room) else { return };
    let hosts = handle.lock().await.hosts().clone();
    let mut wanted = Vec::new();
    // Images a fetch started elsewhere is bringing (the same event came by
    // another path at the same time): waited for too, or the event would
    // be judged before its image is known.
    let mut elsewhere = Vec::new();
    for wire in events.iter().filter(|w| may_carry_attachments(w)) {
        let Ok(event) = wire.verify() else { continue };
        if event.room() != room || !hosts.contains(&event.origin()) {
            continue;
        }
        for a in event.attachments().iter().filter(|a| a.media_type.is_image()) {
            if matches!(core.store.blob_record(&a.hash), Ok(None)) {
                if core.media.start_fetch(a.hash) {
                    wanted.push((event.origin(), *a));
                } else {
                    elsewhere.push(a.hash);
                }
            }
        }
    }
    if wanted.is_empty() && elsewhere.is_empty() {
        return;
    }
    let others = elsewhere.iter().map(|hash| async move {
        if tokio::time::timeout(PREFETCH_WAIT, core.media.fetch_done(hash)).await.is_err() {
            tracing::debug!("attachment {hash}: not fetched in time at ingress (fetched elsewhere)");
        }
    });
    let fetches = wanted.iter().map(|(origin, a)| async move {
        let result = tokio::time::timeout(PREFETCH_WAIT, fetch_one(core, *origin, a)).await;
        core.media.end_fetch(&a.hash);
        match result {
            Ok(Err(e)) => {
                charge_origin(core, origin, &e).await;
                tracing::debug!("attachment {} from {origin} at ingress: {e}", a.hash);
            }
            Ok(Ok(())) => {}
            Err(_) => tracing::debug!("attachment {} from {origin}: not fetched in time at ingress", a.hash),
        }
    });
    futures::future::join(futures::future::join_all(fetches), futures::future::join_all(others)).await;
}

/// Whether an event's body names attachments: a cheap test, before the
/// signatures are verified, that most events fail.
fn may_carry_attachments(wire: &accord_proto::event::UnverifiedEvent) -> bool {
    const FIELD: &[u8] = b"\"attachments\"";
    wire.author.raw().body.windows(FIELD.len()).any(|w| w == FIELD)
}

/// Starts fetching, in the background, every attachment of `events` this
/// node does not hold, each from its event's origin.
pub fn fetch_attachments(core: &Arc<Core>, events: &[Event]) {
    for event in events {
        for a in event.attachments() {
            if matches!(core.store.blob_record(&a.hash), Ok(Some(_))) || !core.media.start_fetch(a.hash) {
                continue;
            }
            let (core, a, origin) = (core.clone(), *a, event.origin());
            core.tasks.clone().spawn(async move {
                let result = fetch_with_retries(&core, origin, &a).await;
                core.media.end_fetch(&a.hash);
                if let Err(e) = result {
                    tracing::warn!("attachment {} from {origin} not stored: {e}", a.hash);
                }
            });
        }
    }
}

async fn fetch_with_retries(core: &Arc<Core>, origin: NodeId, a: &Attachment) -> Result<(), FetchError> {
    let mut wait = BACKOFF;
    let mut attempt = 1;
    loop {
        match fetch_one(core, origin, a).await {
            Err(e) if e.transient() && attempt < ATTEMPTS => {
                tracing::debug!("fetch of {} from {origin}, attempt {attempt}: {e}", a.hash);
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            Err(e) => {
                charge_origin(core, &origin, &e).await;
                return Err(e);
            }
            Ok(()) => return Ok(()),
        }
    }
}

/// Counts a fetch that failed because of what the origin served
/// (`media_mismatch`, `bad_media`) against it; other failures are not its
/// doing.
async fn charge_origin(core: &Core, origin: &NodeId, e: &FetchError) {
    if matches!(e.code(), "media_mismatch" | "bad_media") {
        core.metrics.fed_reject(e.code());
        core.network.penalize(network::peer_id(origin), e.code()).await;
    }
}

/// Fetches one blob from `origin`, checks it and stores it.
pub async fn fetch_one(core: &Core, origin: NodeId, a: &Attachment) -> Result<(), FetchError> {
    let limits = core.media.limits;
    if a.size > limits.max_bytes {
        return Err(FetchError::OverLimit(format!("{} bytes, the limit is {}", a.size, limits.max_bytes)));
    }
    let bytes = download(core, origin, a).await?;
    if Sha256Hash::digest(&bytes) != a.hash {
        return Err(FetchError::Mismatch(format!("the bytes served do not hash to {}", a.hash)));
    }
    let (inspected, bytes) = tokio::task::spawn_blocking(move || (accord_media::inspect(&bytes, &limits), bytes))
        .await
        .map_err(|e| FetchError::Store(e.to_string()))?;
    let inspected = inspected.map_err(|e: MediaError| FetchError::BadMedia(e.to_string()))?;
    let dims = inspected.image.as_ref().map(|i| (i.width(), i.height()));
    let record = BlobRecord {
        size: bytes.len() as u64,
        media_type: inspected.media_type,
        width: dims.map(|d| d.0),
        height: dims.map(|d| d.1),
        thumbnail: None,
        thumbnail_of: None,
        uploader: None,
        origin: Some(origin),
        stored: Timestamp::now(),
        purged: None,
        pdq: None,
    };
    if !matches(&record, a) {
        return Err(FetchError::BadMedia("the file is not what the attachment describes".into()));
    }
    let mut thumb = None;
    let mut record = record;
    if let Some(image) = inspected.image {
        let pdq = super::perceptual::hashes(&image);
        if let Err(provenance) = check_hashes(core, Stage::Fetch, &a.hash, &pdq) {
            // Not stored: only the record, as evidence, so that the events
            // carrying it are hidden and it is not fetched again.
            core.store.put_refused_blob(&a.hash, BlobRecord { pdq: Some(pdq), ..record }).await?;
            return Err(FetchError::Blocked(provenance));
        }
        record.pdq = Some(pdq);
        let media_type = a.media_type;
        let made = tokio::task::spawn_blocking(move || accord_media::thumbnail(&image, media_type, &limits))
            .await
            .map_err(|e| FetchError::Store(e.to_string()))?
            .map_err(|e| FetchError::Store(e.to_string()))?;
        let thumb_hash = Sha256Hash::digest(&made.bytes);
        let thumb_record = BlobRecord {
            size: made.bytes.len() as u64,
            media_type: made.media_type,
            width: Some(made.width),
            height: Some(made.height),
            thumbnail: None,
            thumbnail_of: Some(a.hash),
            uploader: None,
            origin: None,
            stored: Timestamp::now(),
            purged: None,
            pdq: None,
        };
        thumb = Some((thumb_hash, made.bytes, thumb_record));
    }
    let record = BlobRecord { thumbnail: thumb.as_ref().map(|t| t.0), ..record };
    let _quota = core.media.quota_lock.lock().await;
    if core.store.blob_record(&a.hash)?.is_some() {
        return Ok(());
    }
    let new_bytes = record.size + thumb.as_ref().map_or(0, |t| t.2.size);
    if core.media.stored_bytes().saturating_add(new_bytes) > core.media.node_quota {
        return Err(FetchError::OverLimit("the node's quota is reached".into()));
    }
    core.store.put_blob(NewBlob { hash: a.hash, bytes, record, thumbnail: thumb }, None).await?;
    core.media.add_stored(new_bytes);
    Ok(())
}

/// Downloads a blob's bytes chunk by chunk; every chunk must carry the
/// size the descriptor gives and no more than was asked for.
async fn download(core: &Core, origin: NodeId, a: &Attachment) -> Result<Vec<u8>, FetchError> {
    let peer = network::peer_id(&origin);
    let mut bytes = Vec::with_capacity(a.size as usize);
    while (bytes.len() as u64) < a.size {
        let offset = bytes.len() as u64;
        let length = (a.size - offset).min(u64::from(MAX_CHUNK)) as u32;
        let answer = core
            .network
            .fetch_media(peer, MediaRequest { hash: a.hash, offset, length })
            .await
            .map_err(|e| FetchError::Network(Arc::new(e)))?;
        match answer {
            MediaResponse::Chunk { total, bytes: chunk } => {
                if total != a.size || chunk.is_empty() || chunk.len() as u64 > u64::from(length) {
                    return Err(FetchError::Mismatch(format!(
                        "a chunk of {} bytes of a {total}-byte blob, {length} bytes asked of {}",
                        chunk.len(),
                        a.size
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            MediaResponse::NotFound => return Err(FetchError::NotFound),
            MediaResponse::RateLimited => return Err(FetchError::RateLimited),
            MediaResponse::BadRequest => return Err(FetchError::Mismatch("the origin refused the request".into())),
        }
    }
    Ok(bytes)
}

/// The perceptual check at ingress ([`Stage::Ingress`]): the images of a
/// peer's event that this node already holds (for the others, the check
/// runs after their fetch).
pub async fn check_ingress(core: &Core, event: &Event) -> Result<(), Box<Provenance>> {
    for a in event.attachments().iter().filter(|a| a.media_type.is_image()) {
        let Ok(Some(record)) = core.store.blob_record(&a.hash) else { continue };
        if let Some(pdq) = super::perceptual::recorded_hashes(core, &a.hash, &record).await {
            check_hashes(core, Stage::Ingress, &a.hash, &pdq)?;
        }
    }
    Ok(())
}
