//! Why a file was refused.

/// Why the media pipeline refused a file. Each variant has a stable
/// [`code`](MediaError::code), the one the client API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The file is over the size limit.
    #[error("files are limited to {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The type is one a node never stores (active content such as HTML,
    /// SVG or XML, or an image format it does not decode).
    #[error("files of type {0} are not accepted")]
    UnsupportedType(&'static str),
    /// The file ends before its format says it does.
    #[error("the {0} file is truncated")]
    Truncated(&'static str),
    /// Bytes follow the end of the image: the file is also something else.
    #[error("{extra} bytes follow the end of the {format} image (a polyglot file)")]
    Polyglot {
        /// The image format.
        format: &'static str,
        /// How many bytes follow its end.
        extra: usize,
    },
    /// The image's dimensions are over the limits (a decompression bomb, or
    /// simply too big to decode safely).
    #[error("the image is {width}x{height} pixels; at most {max_pixels} pixels and {max_dimension} per side")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The pixel limit.
        max_pixels: u64,
        /// The limit per side.
        max_dimension: u32,
    },
    /// The decoder refused the image (corrupt data, or an allocation over
    /// the limit).
    #[error("the image does not decode: {0}")]
    Undecodable(String),
    /// Bytes fetched from a peer carry metadata (EXIF, XMP, text chunks)
    /// that an origin node strips.
    #[error("the {0} image carries metadata a node strips")]
    Metadata(&'static str),
    /// Re-encoding failed.
    #[error("re-encoding failed: {0}")]
    Encode(String),
}

impl MediaError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty | MediaError::Undecodable(_) => "undecodable_media",
            MediaError::TooLarge { .. } => "too_large",
            MediaError::UnsupportedType(_) => "unsupported_media_type",
            MediaError::Truncated(_) => "truncated_media",
            MediaError::Polyglot { .. } => "polyglot_media",
            MediaError::TooManyPixels { .. } => "too_many_pixels",
            MediaError::Metadata(_) => "media_metadata",
            MediaError::Encode(_) => "internal",
        }
    }
}
