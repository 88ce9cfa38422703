//! Attachments: what a message says about the files it carries
//! (spec/events.md §2.3).
//!
//! A message names each attachment by the SHA-256 of its bytes, with the
//! size, the media type and, for images, the dimensions the origin node
//! found when it decoded them. The bytes themselves travel separately
//! (spec/client-api.md §10, spec/federation.md §10); every node that holds
//! them checks them against this descriptor.

use crate::hash::Sha256Hash;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 8;
/// Largest width or height of an image attachment, in pixels.
pub const MAX_DIMENSION: u32 = 16_384;

/// The media types a node stores. Images are re-encoded by the node that
/// accepted the upload, so only the two formats it writes occur; other
/// files are kept as uploaded and served for download only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `application/pdf`.
    Pdf,
    /// `text/plain; charset=utf-8` (written `text/plain`).
    Text,
    /// `application/octet-stream`: any other file.
    Binary,
}

impl MediaType {
    /// Every media type.
    pub const ALL: [MediaType; 5] =
        [MediaType::Png, MediaType::Jpeg, MediaType::Pdf, MediaType::Text, MediaType::Binary];

    /// The type's text form, as in an attachment's `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Pdf => "application/pdf",
            MediaType::Text => "text/plain",
            MediaType::Binary => "application/octet-stream",
        }
    }

    /// Whether the type is an image (which has dimensions and a thumbnail).
    pub fn is_image(self) -> bool {
        matches!(self, MediaType::Png | MediaType::Jpeg)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A media type text is not one of [`MediaType::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown media type {0:?}")]
pub struct UnknownMediaType(pub String);

impl FromStr for MediaType {
    type Err = UnknownMediaType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| UnknownMediaType(s.to_string()))
    }
}

crate::codec::serde_via_str!(MediaType);

/// One attachment of a message (spec/events.md §2.3). Canonical field
/// order: `hash`, `size`, `type`, `width`, `height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    /// SHA-256 of the file's bytes.
    pub hash: Sha256Hash,
    /// The file's size in bytes (at least 1).
    pub size: u64,
    /// The media type.
    #[serde(rename = "type")]
    pub media_type: MediaType,
    /// The image's width in pixels; present exactly for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// The image's height in pixels; present exactly for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl Attachment {
    /// Checks the descriptor's rules: size at least 1, dimensions present
    /// exactly for images, each between 1 and [`MAX_DIMENSION`].
    pub fn validate(&self) -> Result<(), String> {
        if self.size == 0 {
            return Err("an attachment has at least one byte".into());
        }
        match (self.media_type.is_image(), self.width, self.height) {
            (true, Some(w), Some(h)) => {
                if !(1..=MAX_DIMENSION).contains(&w) || !(1..=MAX_DIMENSION).contains(&h) {
                    return Err(format!("image dimensions must be 1 to {MAX_DIMENSION} pixels"));
                }
                Ok(())
            }
            (false, None, None) => Ok(()),
            _ => Err("width and height are present exactly for images".into()),
        }
    }
}

/// Checks a message's attachment list: at most [`MAX_ATTACHMENTS`], no
/// hash twice, each descriptor valid.
pub fn validate_attachments(attachments: &[Attachment]) -> Result<(), String> {
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(format!("more than {MAX_ATTACHMENTS} attachments"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in attachments {
        a.validate()?;
        if !seen.insert(a.hash) {
            return Err("an attachment is listed twice".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Attachment {
        Attachment {
            hash: Sha256Hash::digest(b"x"),
            size: 10,
            media_type: MediaType::Png,
            width: Some(2),
            height: Some(3),
        }
    }

    #[test]
    fn an_attachment_is_written_in_canonical_field_order() {
        let json = serde_json::to_string(&png()).unwrap();
        assert_eq!(
            json,
            format!("{{\"hash\":\"{}\",\"size\":10,\"type\":\"image/png\",\"width\":2,\"height\":3}}", png().hash)
        );
    }

    #[test]
    fn images_need_dimensions_and_other_files_have_none() {
        assert!(png().validate().is_ok());
        assert!(Attachment { width: None, ..png() }.validate().is_err());
        assert!(Attachment { media_type: MediaType::Pdf, ..png() }.validate().is_err());
        assert!(Attachment { media_type: MediaType::Pdf, width: None, height: None, ..png() }.validate().is_ok());
        assert!(Attachment { size: 0, ..png() }.validate().is_err());
        assert!(Attachment { width: Some(MAX_DIMENSION + 1), ..png() }.validate().is_err());
    }

    #[test]
    fn a_list_refuses_duplicates_and_too_many() {
        assert!(validate_attachments(&[png(), png()]).is_err());
        let many: Vec<Attachment> =
            (0..=MAX_ATTACHMENTS as u8).map(|i| Attachment { hash: Sha256Hash::digest(&[i]), ..png() }).collect();
        assert!(validate_attachments(&many).is_err());
        assert!(validate_attachments(&many[..MAX_ATTACHMENTS]).is_ok());
    }

    #[test]
    fn media_types_round_trip_and_unknown_ones_are_refused() {
        for t in MediaType::ALL {
            assert_eq!(t.as_str().parse::<MediaType>().unwrap(), t);
        }
        assert!("image/gif".parse::<MediaType>().is_err());
        assert!("text/html".parse::<MediaType>().is_err());
    }
}

/// The protocol name of media fetches between nodes (spec/federation.md §10).
pub const MEDIA_PROTOCOL: &str = "/accord/media/1";
/// Most bytes of a blob one media response carries.
pub const MAX_CHUNK: u32 = 256 * 1024;
/// Length of a media request on the wire.
pub const MEDIA_REQUEST_BYTES: usize = 44;

/// A request for a piece of a blob (spec/federation.md §10.1): 44 bytes,
/// the hash ‖ the offset (u64, big-endian) ‖ the length (u32, big-endian,
/// 1 to [`MAX_CHUNK`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRequest {
    /// The blob.
    pub hash: Sha256Hash,
    /// The first byte wanted.
    pub offset: u64,
    /// How many bytes are wanted.
    pub length: u32,
}

/// Why a media message does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaWireError {
    /// The message has the wrong length for its kind.
    #[error("a media message of the wrong length")]
    Length,
    /// The length asked for is 0 or over [`MAX_CHUNK`].
    #[error("a chunk is 1 to {MAX_CHUNK} bytes")]
    ChunkLength,
    /// The first byte of a response is no known status.
    #[error("unknown media response status {0}")]
    Status(u8),
    /// A request stream ended before its first byte: the requester gave
    /// up on the exchange (yamux reads a reset stream as ended), which is
    /// no fault.
    #[error("the request stream ended before any byte was sent")]
    Abandoned,
}

impl MediaWireError {
    /// A stable machine-readable code: `abandoned` for an abandoned
    /// request, `bad_media_frame` for the rest.
    pub fn code(&self) -> &'static str {
        match self {
            MediaWireError::Abandoned => "abandoned",
            _ => "bad_media_frame",
        }
    }

    /// Whether the message counts against the peer that sent it: an
    /// abandoned request does not (spec/federation.md §10.1).
    pub fn is_fault(&self) -> bool {
        !matches!(self, MediaWireError::Abandoned)
    }
}

impl MediaRequest {
    /// The wire bytes.
    pub fn encode(&self) -> [u8; MEDIA_REQUEST_BYTES] {
        let mut out = [0u8; MEDIA_REQUEST_BYTES];
        out[..32].copy_from_slice(self.hash.as_bytes());
        out[32..40].copy_from_slice(&self.offset.to_be_bytes());
        out[40..].copy_from_slice(&self.length.to_be_bytes());
        out
    }

    /// Reads a request.
    pub fn decode(bytes: &[u8]) -> Result<MediaRequest, MediaWireError> {
        if bytes.is_empty() {
            return Err(MediaWireError::Abandoned);
        }
        let bytes: &[u8; MEDIA_REQUEST_BYTES] = bytes.try_into().map_err(|_| MediaWireError::Length)?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[..32]);
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&bytes[32..40]);
        let mut length = [0u8; 4];
        length.copy_from_slice(&bytes[40..]);
        let request = MediaRequest {
            hash: Sha256Hash(hash),
            offset: u64::from_be_bytes(offset),
            length: u32::from_be_bytes(length),
        };
        if request.length == 0 || request.length > MAX_CHUNK {
            return Err(MediaWireError::ChunkLength);
        }
        Ok(request)
    }
}

/// The answer to a [`MediaRequest`] (spec/federation.md §10.2): a status
/// byte, then for a chunk the blob's total size (u64, big-endian) and the
/// bytes from the offset asked for (at most the length asked for; fewer
/// only at the blob's end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaResponse {
    /// Status 0: a piece of the blob.
    Chunk {
        /// The blob's size.
        total: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Status 1: the node holds no such blob.
    NotFound,
    /// Status 2: the peer asks too fast; try again later.
    RateLimited,
    /// Status 3: the request does not decode or asks past the blob's end.
    BadRequest,
}

impl MediaResponse {
    /// The largest response on the wire.
    pub const MAX_BYTES: usize = 9 + MAX_CHUNK as usize;

    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            MediaResponse::Chunk { total, bytes } => {
                let mut out = Vec::with_capacity(9 + bytes.len());
                out.push(0);
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(bytes);
                out
            }
            MediaResponse::NotFound => vec![1],
            MediaResponse::RateLimited => vec![2],
            MediaResponse::BadRequest => vec![3],
        }
    }

    /// Reads a response.
    pub fn decode(bytes: &[u8]) -> Result<MediaResponse, MediaWireError> {
        let (&status, rest) = bytes.split_first().ok_or(MediaWireError::Length)?;
        match status {
            0 => {
                if rest.len() < 8 || rest.len() > 8 + MAX_CHUNK as usize {
                    return Err(MediaWireError::Length);
                }
                let mut total = [0u8; 8];
                total.copy_from_slice(&rest[..8]);
                Ok(MediaResponse::Chunk { total: u64::from_be_bytes(total), bytes: rest[8..].to_vec() })
            }
            1..=3 if !rest.is_empty() => Err(MediaWireError::Length),
            1 => Ok(MediaResponse::NotFound),
            2 => Ok(MediaResponse::RateLimited),
            3 => Ok(MediaResponse::BadRequest),
            other => Err(MediaWireError::Status(other)),
        }
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn requests_and_responses_round_trip_and_bad_frames_are_refused() {
        let req = MediaRequest { hash: Sha256Hash::digest(b"b"), offset: 7, length: MAX_CHUNK };
        assert_eq!(MediaRequest::decode(&req.encode()).unwrap(), req);
        assert!(MediaRequest::decode(&req.encode()[..43]).is_err());
        let mut zero = req.encode();
        zero[40..].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(MediaRequest::decode(&zero), Err(MediaWireError::ChunkLength));
        assert_eq!(MediaRequest::decode(&[]), Err(MediaWireError::Abandoned));
        assert!(!MediaRequest::decode(&[]).unwrap_err().is_fault());
        assert_eq!(MediaRequest::decode(&[0]), Err(MediaWireError::Length));
        assert!(MediaRequest::decode(&[0]).unwrap_err().is_fault());
        for r in [
            MediaResponse::Chunk { total: 9, bytes: vec![1, 2, 3] },
            MediaResponse::NotFound,
            MediaResponse::RateLimited,
            MediaResponse::BadRequest,
        ] {
            assert_eq!(MediaResponse::decode(&r.encode()).unwrap(), r);
        }
        assert!(MediaResponse::decode(&[]).is_err());
        assert!(MediaResponse::decode(&[9]).is_err());
        assert!(MediaResponse::decode(&[1, 0]).is_err());
        assert!(MediaResponse::decode(&vec![0; MediaResponse::MAX_BYTES + 1]).is_err());
    }
}
