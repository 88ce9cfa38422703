//! Attachments: what a message says about the files it carries
//! (spec/events.md §2.3).
//!
//! A message names each attachment by the SHA-256 of its bytes, with the
//! size, the media type and, for images, the dimensions the origin node
//! found when it decoded them. The bytes themselves travel separately
//! (spec/client-api.md §9, spec/federation.md §8); every node that holds
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
        let many: Vec<Attachment> = (0..=MAX_ATTACHMENTS as u8)
            .map(|i| Attachment { hash: Sha256Hash::digest(&[i]), ..png() })
            .collect();
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
