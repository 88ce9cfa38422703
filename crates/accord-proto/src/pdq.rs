//! PDQ perceptual hashes as the protocol carries them (spec/blocklists.md
//! §2.1): 256 bits, compared by Hamming distance.
//!
//! PDQ is Meta's perceptual image hash, the one hash-sharing programmes
//! (ThreatExchange, StopNCII, the Hasher-Matcher-Actioner) exchange. Two
//! images whose hashes differ in at most [`DEFAULT_PDQ_THRESHOLD`] bits are
//! taken to be the same picture. Computing a hash from an image is not the
//! protocol's business (no image decoding here); the `accord-pdq` crate
//! does it.

use std::fmt;
use std::str::FromStr;

/// The distance at or below which two PDQ hashes match unless a
/// subscription sets another (spec/blocklists.md §11.1): 31 of 256 bits,
/// the threshold Meta recommends.
pub const DEFAULT_PDQ_THRESHOLD: u16 = 31;

/// The largest distance threshold a subscription may set. Beyond 63 bits
/// unrelated images start to match (unrelated hashes are about 128 apart
/// with a standard deviation near 8), and an index cannot help.
pub const MAX_PDQ_THRESHOLD: u16 = 63;

/// A 256-bit PDQ hash. Text form: 64 lowercase hexadecimal digits, as
/// Meta's tools print it (the most significant bit, bit 255 of the
/// 16×16 DCT sign matrix, first).
///
/// Byte `i` holds bits `255 − 8i` down to `248 − 8i`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PdqHash(pub [u8; 32]);

impl PdqHash {
    /// Bits in a hash.
    pub const BITS: u32 = 256;

    /// The raw hash, most significant byte first.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hexadecimal digits (either case).
    pub fn parse_hex(text: &str) -> Result<Self, PdqParseError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| PdqParseError)?;
        Ok(Self(out))
    }

    /// The Hamming distance: the number of bits in which the hashes differ,
    /// 0 to 256.
    #[inline]
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let (a, b) = (self.words(), other.words());
        (0..4).map(|i| (a[i] ^ b[i]).count_ones()).sum()
    }

    /// The hash as four 64-bit words, most significant first.
    #[inline]
    pub fn words(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (i, word) in out.iter_mut().enumerate() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&self.0[i * 8..i * 8 + 8]);
            *word = u64::from_be_bytes(bytes);
        }
        out
    }

    /// The `i`-th 16-bit chunk (0 to 15), bytes `2i` and `2i + 1`, as
    /// multi-index hashing splits a hash.
    #[inline]
    pub fn chunk(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.0[2 * i], self.0[2 * i + 1]])
    }
}

/// A PDQ hash was not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a PDQ hash as 64 hexadecimal digits")]
pub struct PdqParseError;

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pdq({self})")
    }
}

impl FromStr for PdqHash {
    type Err = PdqParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_hex(s)
    }
}

crate::codec::serde_via_str!(PdqHash);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_lowercase_hex_most_significant_byte_first() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xf8;
        bytes[31] = 0x01;
        let hash = PdqHash(bytes);
        let text = hash.to_string();
        assert_eq!(&text[..2], "f8");
        assert_eq!(&text[62..], "01");
        assert_eq!(text.to_uppercase().parse::<PdqHash>(), Ok(hash));
        assert_eq!("f8".parse::<PdqHash>(), Err(PdqParseError));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a = PdqHash([0; 32]);
        let mut b = [0u8; 32];
        b[0] = 0b1000_0001;
        b[17] = 0xff;
        assert_eq!(a.distance(&PdqHash(b)), 10);
        assert_eq!(a.distance(&PdqHash([0xff; 32])), 256);
        assert_eq!(PdqHash(b).chunk(0), 0x8100);
        assert_eq!(PdqHash(b).chunk(8), 0x00ff);
    }
}
