//! The type of a file, from its bytes alone.

use crate::MediaError;
use accord_proto::media::MediaType;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A PNG image.
    Png,
    /// A JPEG image.
    Jpeg,
    /// A GIF image (stored as PNG after decoding).
    Gif,
    /// A WebP image (stored as PNG after decoding).
    Webp,
    /// Another file, stored as it is.
    File(MediaType),
}

impl Sniffed {
    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Sniffed::Png => "PNG",
            Sniffed::Jpeg => "JPEG",
            Sniffed::Gif => "GIF",
            Sniffed::Webp => "WebP",
            Sniffed::File(t) => t.as_str(),
        }
    }

    /// Whether the file is an image the node decodes.
    pub fn is_image(self) -> bool {
        !matches!(self, Sniffed::File(_))
    }
}

/// Markup a browser would run or render, refused wherever it starts a file
/// (after a byte-order mark and white space), in any letter case.
const ACTIVE: [&[u8]; 9] =
    [b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<?xml", b"<iframe", b"<!--"];

/// The type of `bytes`, from their first bytes: PNG, JPEG, GIF and WebP
/// images by their signatures, PDF by `%PDF-`, UTF-8 text without control
/// characters as text, anything else as binary. Markup that a browser
/// would run (HTML, SVG, XML) is refused, as is an empty file.
pub fn sniff(bytes: &[u8]) -> Result<Sniffed, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Sniffed::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(Sniffed::Jpeg);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(Sniffed::Gif);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Ok(Sniffed::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(Sniffed::File(MediaType::Pdf));
    }
    let head = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    let head = &head[start..head.len().min(start + 16)];
    if ACTIVE.iter().any(|m| head.len() >= m.len() && head[..m.len()].eq_ignore_ascii_case(m)) {
        return Err(MediaError::UnsupportedType("text/html"));
    }
    let text = std::str::from_utf8(bytes)
        .is_ok_and(|t| !t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c')));
    Ok(Sniffed::File(if text { MediaType::Text } else { MediaType::Binary }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_decide_the_type_not_the_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").unwrap(), Sniffed::Png);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), Sniffed::Jpeg);
        assert_eq!(sniff(b"GIF89a....").unwrap(), Sniffed::Gif);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), Sniffed::Webp);
        assert_eq!(sniff(b"%PDF-1.7\n").unwrap(), Sniffed::File(MediaType::Pdf));
        assert_eq!(sniff("plain words\n".as_bytes()).unwrap(), Sniffed::File(MediaType::Text));
        assert_eq!(sniff(&[0, 1, 2, 3]).unwrap(), Sniffed::File(MediaType::Binary));
    }

    #[test]
    fn markup_a_browser_would_run_is_refused() {
        for bad in [&b"<html><script>x</script>"[..], b"  <SVG onload=x>", b"\xEF\xBB\xBF<!DOCTYPE html>", b"<?xml ?>"]
        {
            assert_eq!(sniff(bad).unwrap_err().code(), "unsupported_media_type", "{bad:?}");
        }
        assert_eq!(sniff(b"").unwrap_err(), MediaError::Empty);
    }
}
