//! Where an image file ends, by its format's own structure, and whether it
//! carries metadata.
//!
//! Decoders stop reading at the end of the image and ignore what follows;
//! a file with bytes after that end is also something else (a GIF that is
//! a ZIP archive, a PNG followed by a script). The walk here finds that end
//! without decoding any pixel: PNG chunks up to `IEND`, JPEG segments and
//! entropy-coded data up to `EOI`, GIF blocks up to the trailer, the RIFF
//! length of WebP.

use crate::MediaError;
use crate::sniff::Sniffed;

/// What the walk found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The offset just past the image's last byte.
    pub end: usize,
    /// Whether the file carries metadata a node strips: EXIF, XMP, IPTC,
    /// comments, PNG text and time chunks.
    pub metadata: bool,
}

/// Walks an image of the sniffed format. Not for [`Sniffed::File`].
pub fn walk(format: Sniffed, bytes: &[u8]) -> Result<Layout, MediaError> {
    let truncated = MediaError::Truncated(format.name());
    let found = match format {
        Sniffed::Png => png(bytes),
        Sniffed::Jpeg => jpeg(bytes),
        Sniffed::Gif => gif(bytes),
        Sniffed::Webp => webp(bytes),
        Sniffed::File(_) => Some(Layout { end: bytes.len(), metadata: false }),
    };
    found.ok_or(truncated)
}

/// Checks that nothing follows the image's end.
pub fn check_end(format: Sniffed, bytes: &[u8], layout: &Layout) -> Result<(), MediaError> {
    match bytes.len() - layout.end {
        0 => Ok(()),
        extra => Err(MediaError::Polyglot { format: format.name(), extra }),
    }
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

fn png(b: &[u8]) -> Option<Layout> {
    let mut at = 8;
    let mut metadata = false;
    loop {
        let len = be32(b, at)?;
        let kind = b.get(at + 4..at + 8)?;
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        metadata |= matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME");
        at = end;
        if kind == b"IEND" {
            return Some(Layout { end: at, metadata });
        }
    }
}

fn jpeg(b: &[u8]) -> Option<Layout> {
    let mut at = 2;
    let mut metadata = false;
    loop {
        if *b.get(at)? != 0xFF {
            return None;
        }
        while *b.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *b.get(at)?;
        at += 1;
        match marker {
            0xD9 => return Some(Layout { end: at, metadata }),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let len = u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize;
        if len < 2 || at + len > b.len() {
            return None;
        }
        // APP1 (EXIF, XMP), APP13 (IPTC), COM.
        metadata |= matches!(marker, 0xE1 | 0xED | 0xFE);
        at += len;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is neither a
            // stuffed 0xFF00 nor a restart marker.
            loop {
                let ff = at + b.get(at..)?.iter().position(|&x| x == 0xFF)?;
                let next = *b.get(ff + 1)?;
                if next == 0x00 || (0xD0..=0xD7).contains(&next) || next == 0xFF {
                    at = ff + if next == 0xFF { 1 } else { 2 };
                    continue;
                }
                at = ff;
                break;
            }
        }
    }
}

/// Skips GIF data sub-blocks from `at`, returning the offset past the
/// block terminator.
fn sub_blocks(b: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *b.get(at)? as usize;
        at += 1 + len;
        if len == 0 {
            return (at <= b.len()).then_some(at);
        }
    }
}

fn gif(b: &[u8]) -> Option<Layout> {
    let flags = *b.get(10)?;
    let mut at = 13;
    if flags & 0x80 != 0 {
        at += 3 << ((flags & 7) + 1);
    }
    let mut metadata = false;
    loop {
        match *b.get(at)? {
            0x3B => return Some(Layout { end: at + 1, metadata }),
            0x2C => {
                let local = *b.get(at + 9)?;
                at += 10;
                if local & 0x80 != 0 {
                    at += 3 << ((local & 7) + 1);
                }
                // LZW minimum code size, then the data.
                at = sub_blocks(b, at + 1)?;
            }
            0x21 => {
                // Comment and application extensions carry metadata (XMP).
                metadata |= matches!(*b.get(at + 1)?, 0xFE | 0xFF);
                at = sub_blocks(b, at + 2)?;
            }
            _ => return None,
        }
    }
}

fn webp(b: &[u8]) -> Option<Layout> {
    let size = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    let end = size.checked_add(8)?;
    let metadata = b.windows(4).any(|w| w == b"EXIF" || w == b"XMP ");
    (end <= b.len()).then_some(Layout { end, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_ends_after_iend_and_reports_text_chunks() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(&b"IHDR"[..], &[0u8; 13][..]), (b"tEXt", b"k\0v"), (b"IEND", b"")] {
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(kind);
            png.extend(data);
            png.extend([0; 4]);
        }
        let layout = walk(Sniffed::Png, &png).unwrap();
        assert_eq!(layout, Layout { end: png.len(), metadata: true });
        assert!(walk(Sniffed::Png, &png[..png.len() - 3]).is_err());
        png.extend(b"PK\x03\x04");
        let layout = walk(Sniffed::Png, &png).unwrap();
        assert_eq!(check_end(Sniffed::Png, &png, &layout).unwrap_err().code(), "polyglot_media");
    }

    #[test]
    fn a_jpeg_ends_at_eoi_past_stuffed_bytes_and_restarts() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0,
            0x56, 0xFF, 0xD9,
        ];
        assert_eq!(walk(Sniffed::Jpeg, &jpeg).unwrap(), Layout { end: jpeg.len(), metadata: true });
        assert!(walk(Sniffed::Jpeg, &jpeg[..jpeg.len() - 2]).is_err());
    }
}
