//! The bytes of a key file: 64 hexadecimal digits and a newline.

use accord_proto::SecretKey;
use zeroize::Zeroizing;

/// The file's content for `key`: the seed in lowercase hexadecimal and a
/// newline.
pub(crate) fn encode(key: &SecretKey) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let seed = key.to_seed();
    let mut text = Zeroizing::new(String::with_capacity(65));
    for byte in seed.iter() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text.push('\n');
    text
}

/// Parses a key file's content: 64 hexadecimal digits of either case,
/// with surrounding whitespace (a newline, `\r\n`) ignored.
pub(crate) fn parse(text: &str) -> Result<SecretKey, String> {
    let digits = text.trim();
    if digits.len() != 64 {
        return Err(format!("expected 64 hexadecimal digits, found {} characters", digits.len()));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (i, pair) in digits.as_bytes().chunks_exact(2).enumerate() {
        let hi = hex_value(pair[0]).ok_or("not hexadecimal")?;
        let lo = hex_value(pair[1]).ok_or("not hexadecimal")?;
        seed[i] = hi << 4 | lo;
    }
    Ok(SecretKey::from_seed(*seed))
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
