//! The decoders of the upload path (`accord-media`) and of media fetches
//! between nodes (`accord_proto::media`), fed arbitrary bytes. The `cargo
//! fuzz` targets `media_upload`, `media_inspect` and `media_wire` call them
//! (through `lib.rs`), and `crates/accord-media/tests/it/robustness.rs`
//! includes this file so that proptest feeds them in CI.
//!
//! Each function must not panic, whatever the bytes; a refusal must carry a
//! stable code; what an upload stores must pass the check a fetching node
//! runs on it, with the same type and dimensions.

use accord_media::{MediaLimits, inspect, prepare_upload};
use accord_proto::media::{MediaRequest, MediaResponse};

/// Limits small enough that the fuzzer spends its time in the decoders,
/// not in allocating pixels.
pub fn limits() -> MediaLimits {
    MediaLimits { max_pixels: 1 << 20, max_alloc: 64 << 20, thumbnail_side: 32, ..MediaLimits::default() }
}

/// The upload pipeline: sniff, walk, decode under limits, re-encode,
/// thumbnail.
pub fn media_upload(data: &[u8]) {
    let limits = limits();
    match prepare_upload(data, &limits) {
        Ok(prepared) => {
            let again = inspect(&prepared.bytes, &limits).expect("what an upload stores passes a fetcher's check");
            assert_eq!(again.media_type, prepared.media_type);
            let dims = |i: &Option<accord_media::DecodedImage>| i.as_ref().map(|i| (i.width(), i.height()));
            assert_eq!(dims(&again.image), dims(&prepared.image));
            assert_eq!(prepared.thumbnail.is_some(), prepared.media_type.is_image());
        }
        Err(e) => assert!(!e.code().is_empty()),
    }
}

/// The check of bytes fetched from a peer.
pub fn media_inspect(data: &[u8]) {
    match inspect(data, &limits()) {
        Ok(inspected) => assert_eq!(inspected.image.is_some(), inspected.media_type.is_image()),
        Err(e) => assert!(!e.code().is_empty()),
    }
}

/// The `/accord/media/1` frames: whatever decodes encodes back to the
/// same bytes.
pub fn media_wire(data: &[u8]) {
    if let Ok(request) = MediaRequest::decode(data) {
        assert_eq!(request.encode().as_slice(), data);
    }
    if let Ok(response) = MediaResponse::decode(data) {
        assert_eq!(response.encode(), data);
    }
}

/// Every media function at once (the proptests' entry point).
pub fn all_media(data: &[u8]) {
    media_upload(data);
    media_inspect(data);
    media_wire(data);
}
