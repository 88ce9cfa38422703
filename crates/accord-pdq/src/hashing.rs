//! Computing the PDQ hash of an image.
//!
//! The hash is computed by the `pdqhash` crate's full-size path, which
//! follows Meta's reference (`pdqHash256FromFloatLuma`): luminance
//! `0.299 R + 0.587 G + 0.114 B`, two passes of a Jarosz box filter sized
//! from the image, decimation to 64×64, the 16×16 corner of the DCT,
//! one bit per coefficient above the median. Images are not downscaled
//! first, so the result is the reference's, not an approximation of it
//! (the differential test, `tests/it/reference.rs`, checks it against
//! Meta's code).

use accord_proto::PdqHash;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use std::io::Cursor;

/// The quality below which a hash is too weak to act on: hashes of
/// quality 49 or less (featureless images, flat colours) match too much.
pub const MIN_QUALITY: u8 = 50;

/// The largest image [`hash_bytes`] decodes, in pixels (width × height):
/// 64 megapixels.
pub const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// The largest side [`hash_bytes`] decodes, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// A PDQ quality score, 0 to 100 (Meta's scale: the image's gradient
/// energy; 100 for most photographs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quality(u8);

impl Quality {
    /// A quality score; values above 100 are clamped to 100.
    pub fn new(score: u8) -> Quality {
        Quality(score.min(100))
    }

    /// The score, 0 to 100.
    pub fn score(self) -> u8 {
        self.0
    }

    /// Whether a hash of this quality is strong enough to act on (at least
    /// [`MIN_QUALITY`]).
    pub fn is_actionable(self) -> bool {
        self.0 >= MIN_QUALITY
    }
}

/// A hash and its quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashed {
    /// The PDQ hash.
    pub hash: PdqHash,
    /// How much the hash can be trusted.
    pub quality: Quality,
}

/// Why an image could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The bytes are not an image in a supported format (JPEG, PNG, GIF,
    /// WebP), or are damaged.
    #[error("not a decodable image: {0}")]
    Decode(String),
    /// The image is larger than [`MAX_SIDE`] or [`MAX_PIXELS`].
    #[error("image is {width}×{height} pixels, larger than allowed")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The image has no pixels.
    #[error("image has no pixels")]
    Empty,
}

impl HashError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HashError::Decode(_) => "bad_image",
            HashError::TooLarge { .. } => "image_too_large",
            HashError::Empty => "empty_image",
        }
    }
}

/// Decodes `bytes` (the format is sniffed from the bytes) within
/// [`MAX_SIDE`] and [`MAX_PIXELS`], checked from the header before any
/// pixel is decoded, and hashes the image.
pub fn hash_bytes(bytes: &[u8]) -> Result<Hashed, HashError> {
    hash_image(&decode(bytes)?)
}

/// Decodes an image as [`hash_bytes`] does, refusing oversized images from
/// their header (no decompression bombs).
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, HashError> {
    let reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| HashError::Decode(e.to_string()))?;
    let mut decoder = reader.into_decoder().map_err(|e| HashError::Decode(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(HashError::Empty);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(HashError::TooLarge { width, height });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder.set_limits(limits).map_err(|e| HashError::Decode(e.to_string()))?;
    DynamicImage::from_decoder(decoder).map_err(|e| HashError::Decode(e.to_string()))
}

/// Hashes a decoded image (its alpha channel, if any, is ignored, as the
/// reference does).
pub fn hash_image(image: &DynamicImage) -> Result<Hashed, HashError> {
    let rgb = image.to_rgb8();
    hash_rgb(rgb.width(), rgb.height(), rgb.into_raw())
}

/// Hashes a decoded image and its mirror image (flipped left to right).
///
/// A mirrored copy of an image has a hash far from the original's (the
/// DCT's odd columns change sign), so a matcher that should catch mirrored
/// copies looks both hashes up: a mirrored copy's mirror hash is the
/// original's, give or take a few bits.
pub fn hash_with_mirror(image: &DynamicImage) -> Result<[Hashed; 2], HashError> {
    let rgb = image.to_rgb8();
    let mirror = image::imageops::flip_horizontal(&rgb);
    Ok([
        hash_rgb(rgb.width(), rgb.height(), rgb.into_raw())?,
        hash_rgb(mirror.width(), mirror.height(), mirror.into_raw())?,
    ])
}

/// Hashes `width × height` pixels of 8-bit RGB, row by row.
pub fn hash_rgb(width: u32, height: u32, pixels: Vec<u8>) -> Result<Hashed, HashError> {
    if width == 0 || height == 0 {
        return Err(HashError::Empty);
    }
    if pixels.len() != width as usize * height as usize * 3 {
        return Err(HashError::Decode("pixel buffer does not match the dimensions".into()));
    }
    // The crate's own quality is not on Meta's scale (see `quality`).
    let score = crate::quality::meta_quality(width as usize, height as usize, &pixels);
    let buffer = pdqhash::image::RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| HashError::Decode("pixel buffer does not match the dimensions".into()))?;
    let (bits, _) = pdqhash::generate_pdq_full_size(&pdqhash::image::DynamicImage::ImageRgb8(buffer));
    Ok(Hashed { hash: PdqHash(bits), quality: Quality::new(score) })
}
