//! Media: uploads and downloads of the files messages carry
//! (spec/client-api.md §10).

use crate::endpoint;
use accord_proto::Sha256Hash;
use accord_proto::media::{Attachment, MediaType};
use serde::{Deserialize, Serialize};

/// The raw bytes of a file: the body of an upload, the answer of a
/// download (not JSON).
pub type FileBytes = Vec<u8>;

endpoint! {
    /// `POST /v1/media`: uploads a file, the body's bytes as they are (any
    /// `Content-Type`; the node sniffs the type from the bytes). At most
    /// `media.max_upload_bytes` (default 10 MiB), else `413 too_large`.
    UploadMedia = Post "/v1/media", Session, FileBytes => MediaUploaded
}

endpoint! {
    /// `GET /v1/media/{hash}`: a stored file's bytes, with the stored type
    /// as `Content-Type`; `404 unknown_media` if the node does not hold it.
    GetMedia = Get "/v1/media/{hash}", Session, () => FileBytes
}

endpoint! {
    /// `GET /v1/media/{hash}/thumbnail`: the thumbnail of a stored image.
    GetThumbnail = Get "/v1/media/{hash}/thumbnail", Session, () => FileBytes
}

/// The answer to an upload: the attachment descriptor to put in a message
/// (hash, size, type, dimensions) and the thumbnail's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUploaded {
    /// SHA-256 of the stored bytes (after re-encoding, for images).
    pub hash: Sha256Hash,
    /// Their size in bytes.
    pub size: u64,
    /// Their media type, sniffed from the bytes.
    #[serde(rename = "type")]
    pub media_type: MediaType,
    /// An image's width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// An image's height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The hash of an image's thumbnail (`GET /v1/media/{hash}/thumbnail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<Sha256Hash>,
}

impl MediaUploaded {
    /// The attachment to put in a message.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            hash: self.hash,
            size: self.size,
            media_type: self.media_type,
            width: self.width,
            height: self.height,
        }
    }
}
