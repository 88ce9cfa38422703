//! Upload preparation and the check of fetched bytes.

use crate::MediaError;
use crate::sniff::{Sniffed, sniff};
use crate::structure;
use accord_proto::media::{MAX_DIMENSION, MediaType};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// The limits the pipeline works under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Most pixels (width × height) of an image.
    pub max_pixels: u64,
    /// Largest width or height.
    pub max_dimension: u32,
    /// Most memory the decoder may allocate, in bytes.
    pub max_alloc: u64,
    /// Longest side of a thumbnail, in pixels.
    pub thumbnail_side: u32,
    /// Quality of re-encoded JPEG images (1–100).
    pub jpeg_quality: u8,
}

impl Default for MediaLimits {
    /// 10 MiB files; 40 megapixels, 16384 per side; 256 MiB of decoder
    /// memory; 320-pixel thumbnails; JPEG quality 90.
    fn default() -> Self {
        MediaLimits {
            max_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_dimension: MAX_DIMENSION,
            max_alloc: 256 * 1024 * 1024,
            thumbnail_side: 320,
            jpeg_quality: 90,
        }
    }
}

/// A decoded image: its pixels, for a thumbnail or a perceptual check.
#[derive(Debug, Clone)]
pub struct DecodedImage {
    /// The pixels, upright (EXIF orientation applied).
    pub image: DynamicImage,
}

impl DecodedImage {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

/// A small image standing for a larger one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// PNG or JPEG.
    pub media_type: MediaType,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// An upload as the node stores it.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The bytes to store: re-encoded for images, as uploaded otherwise.
    pub bytes: Vec<u8>,
    /// Their type.
    pub media_type: MediaType,
    /// The decoded image (for images).
    pub image: Option<DecodedImage>,
    /// A thumbnail (for images).
    pub thumbnail: Option<Thumbnail>,
}

/// Bytes fetched from a peer, checked.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// Their type.
    pub media_type: MediaType,
    /// The decoded image (for images).
    pub image: Option<DecodedImage>,
}

fn check_size(bytes: &[u8], limits: &MediaLimits) -> Result<(), MediaError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(MediaError::TooLarge { limit: limits.max_bytes });
    }
    Ok(())
}

/// Prepares an upload: sniffs its type, and for an image walks its
/// structure (truncated and polyglot files are refused), decodes it under
/// `limits`, re-encodes it without any metadata (JPEG stays JPEG, PNG, GIF
/// and WebP become PNG) and makes a thumbnail. Other files are kept as
/// they are.
pub fn prepare_upload(bytes: &[u8], limits: &MediaLimits) -> Result<Prepared, MediaError> {
    check_size(bytes, limits)?;
    let format = sniff(bytes)?;
    let Sniffed::File(media_type) = format else {
        let layout = structure::walk(format, bytes)?;
        structure::check_end(format, bytes, &layout)?;
        let image = decode(format, bytes, limits)?;
        let media_type = if format == Sniffed::Jpeg { MediaType::Jpeg } else { MediaType::Png };
        let encoded = encode(&image.image, media_type, limits)?;
        check_size(&encoded, limits)?;
        let thumbnail = thumbnail(&image, media_type, limits)?;
        return Ok(Prepared { bytes: encoded, media_type, image: Some(image), thumbnail: Some(thumbnail) });
    };
    Ok(Prepared { bytes: bytes.to_vec(), media_type, image: None, thumbnail: None })
}

/// Checks bytes fetched from a peer: they must be what an origin node
/// stores — a PNG or JPEG that decodes under `limits`, ends where its
/// format says and carries no metadata, or another file of an accepted
/// type. The caller checks their hash.
pub fn inspect(bytes: &[u8], limits: &MediaLimits) -> Result<Inspected, MediaError> {
    check_size(bytes, limits)?;
    let format = sniff(bytes)?;
    let media_type = match format {
        Sniffed::File(media_type) => return Ok(Inspected { media_type, image: None }),
        Sniffed::Png => MediaType::Png,
        Sniffed::Jpeg => MediaType::Jpeg,
        Sniffed::Gif => return Err(MediaError::UnsupportedType("image/gif")),
        Sniffed::Webp => return Err(MediaError::UnsupportedType("image/webp")),
    };
    let layout = structure::walk(format, bytes)?;
    structure::check_end(format, bytes, &layout)?;
    if layout.metadata {
        return Err(MediaError::Metadata(format.name()));
    }
    let image = decode(format, bytes, limits)?;
    Ok(Inspected { media_type, image: Some(image) })
}

/// Decodes an image: the dimensions are read from the header and checked
/// against the limits before any pixel is decoded, and the decoder runs
/// with `image`'s allocation limits.
fn decode(format: Sniffed, bytes: &[u8], limits: &MediaLimits) -> Result<DecodedImage, MediaError> {
    let image_format = match format {
        Sniffed::Png => ImageFormat::Png,
        Sniffed::Jpeg => ImageFormat::Jpeg,
        Sniffed::Gif => ImageFormat::Gif,
        Sniffed::Webp => ImageFormat::WebP,
        Sniffed::File(t) => return Err(MediaError::UnsupportedType(t.as_str())),
    };
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_dimension);
    decoder_limits.max_image_height = Some(limits.max_dimension);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    reader.limits(decoder_limits);
    let undecodable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => MediaError::Undecodable(format!("over the decoder's limits: {e}")),
        e => MediaError::Undecodable(e.to_string()),
    };
    let header = ImageReader::with_format(Cursor::new(bytes), image_format)
        .into_dimensions()
        .map_err(|e| MediaError::Undecodable(e.to_string()))?;
    check_dimensions(header, limits)?;
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let orientation = decoder.orientation().map_err(undecodable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    image.apply_orientation(orientation);
    Ok(DecodedImage { image })
}

fn check_dimensions((width, height): (u32, u32), limits: &MediaLimits) -> Result<(), MediaError> {
    let too_many = u64::from(width) * u64::from(height) > limits.max_pixels
        || width > limits.max_dimension
        || height > limits.max_dimension;
    if too_many || width == 0 || height == 0 {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels,
            max_dimension: limits.max_dimension,
        });
    }
    Ok(())
}

/// Encodes pixels as PNG or JPEG, with nothing but the pixels.
fn encode(image: &DynamicImage, media_type: MediaType, limits: &MediaLimits) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    let failed = |e: image::ImageError| MediaError::Encode(e.to_string());
    match media_type {
        MediaType::Jpeg => {
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, limits.jpeg_quality)).map_err(failed)?;
        }
        _ => {
            let pixels = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            pixels.write_with_encoder(PngEncoder::new(&mut out)).map_err(failed)?;
        }
    }
    Ok(out)
}

/// A thumbnail of an image: at most `limits.thumbnail_side` on its longer
/// side (an image that fits already is not enlarged), in the image's type.
pub fn thumbnail(image: &DecodedImage, media_type: MediaType, limits: &MediaLimits) -> Result<Thumbnail, MediaError> {
    let side = limits.thumbnail_side;
    let small = if image.width() <= side && image.height() <= side {
        image.image.clone()
    } else {
        image.image.thumbnail(side, side)
    };
    let bytes = encode(&small, media_type, limits)?;
    Ok(Thumbnail { bytes, media_type, width: small.width(), height: small.height() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageBuffer, Luma, Rgb, RgbImage};

    fn encoded(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn what_an_upload_stores_passes_the_check_of_fetched_bytes() {
        let gray: GrayImage = ImageBuffer::from_fn(40, 30, |x, y| Luma([(x * 5 + y) as u8]));
        let rgb: RgbImage = ImageBuffer::from_fn(50, 20, |x, y| Rgb([x as u8, y as u8, 7]));
        let limits = MediaLimits::default();
        for (input, format, stored) in [
            (encoded(gray.clone().into(), ImageFormat::Png), ImageFormat::Png, MediaType::Png),
            (encoded(rgb.clone().into(), ImageFormat::Jpeg), ImageFormat::Jpeg, MediaType::Jpeg),
            (encoded(rgb.into(), ImageFormat::Gif), ImageFormat::Gif, MediaType::Png),
        ] {
            let prepared = prepare_upload(&input, &limits).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(prepared.media_type, stored);
            let inspected = inspect(&prepared.bytes, &limits).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(inspected.media_type, stored);
            let thumb = prepared.thumbnail.unwrap();
            assert!(inspect(&thumb.bytes, &limits).is_ok());
        }
    }

    #[test]
    fn a_header_past_the_pixel_limit_is_refused_before_decoding() {
        let limits = MediaLimits { max_pixels: 100, ..MediaLimits::default() };
        let gray: GrayImage = ImageBuffer::new(11, 10);
        let err = prepare_upload(&encoded(gray.into(), ImageFormat::Png), &limits).unwrap_err();
        assert_eq!(err.code(), "too_many_pixels");
    }
}
