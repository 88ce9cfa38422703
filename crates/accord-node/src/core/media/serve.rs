//! Peers' chunk requests (spec/federation.md §10.2), rate-limited per peer.

use crate::core::Core;
use accord_proto::NodeId;
use accord_proto::media::{MediaRequest, MediaResponse};

/// Answers a peer's request for a piece of a blob: `RateLimited` past the
/// peer's allowance, `NotFound` for a blob not held (or a thumbnail, which
/// every node makes itself), `BadRequest` for an offset past the end.
pub fn answer(core: &Core, peer: &NodeId, request: &MediaRequest) -> MediaResponse {
    if !core.media.peer_chunk(peer) {
        core.metrics.fed_reject("media_rate_limited");
        return MediaResponse::RateLimited;
    }
    let record = match core.store.blob_record(&request.hash) {
        Ok(Some(record)) if record.thumbnail_of.is_none() => record,
        Ok(_) => return MediaResponse::NotFound,
        Err(e) => {
            tracing::error!("media request: {e}");
            return MediaResponse::NotFound;
        }
    };
    let Ok(Some(bytes)) = core.store.blob(&request.hash) else { return MediaResponse::NotFound };
    let Ok(start) = usize::try_from(request.offset) else { return MediaResponse::BadRequest };
    if start >= bytes.len() {
        return MediaResponse::BadRequest;
    }
    let end = start.saturating_add(request.length as usize).min(bytes.len());
    MediaResponse::Chunk { total: record.size, bytes: bytes[start..end].to_vec() }
}
