//! SHA-256 digests, the one hash function of the protocol (spec/encoding.md §4).

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest. Text form: 64 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    /// Hashes `data`.
    pub fn digest(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    /// Hashes the concatenation of `parts`.
    pub fn digest_parts(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for part in parts {
            h.update(part);
        }
        Self(h.finalize().into())
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hexadecimal digits (either case).
    /// A digit at a time through a table: this runs for every content
    /// target of a list entry that is parsed.
    pub fn parse_hex(text: &str) -> Result<Self, HashParseError> {
        let digits = text.as_bytes();
        if digits.len() != 64 {
            return Err(HashParseError);
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let (high, low) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
            if high > 15 || low > 15 {
                return Err(HashParseError);
            }
            *byte = high << 4 | low;
        }
        Ok(Self(out))
    }
}

/// The value of each hexadecimal digit (either case); 255 for any other byte.
const HEX_VALUE: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// A digest was not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a SHA-256 digest as 64 hexadecimal digits")]
pub struct HashParseError;

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // On the stack: this runs for every index key of a list entry.
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", hex::encode(&self.0[..8]))
    }
}

impl FromStr for Sha256Hash {
    type Err = HashParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_hex(s)
    }
}

crate::codec::serde_via_str!(Sha256Hash);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_of_either_case_parse_and_anything_else_is_refused() {
        let hash = Sha256Hash::digest(b"some content");
        let lower = hash.to_string();
        assert_eq!(Sha256Hash::parse_hex(&lower), Ok(hash));
        assert_eq!(Sha256Hash::parse_hex(&lower.to_uppercase()), Ok(hash));
        for bad in [&lower[..62], &format!("{lower}00"), &format!("g{}", &lower[1..]), &format!("{}é", &lower[..62])] {
            assert_eq!(Sha256Hash::parse_hex(bad), Err(HashParseError), "{bad}");
        }
    }
}
