//! Small serde helpers shared by the wire types: base64 for bytes, and
//! string forms for identifiers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Encodes bytes as standard, padded base64 (RFC 4648 §4).
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard, padded base64; rejects anything else.
pub(crate) fn b64_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    STANDARD.decode(text)
}

/// Serde adapter: `Vec<u8>` as a base64 string.
pub(crate) mod b64 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use std::borrow::Cow;

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64_encode(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?;
        super::b64_decode(&text).map_err(D::Error::custom)
    }
}

/// Implements `Serialize` through `Display` and `Deserialize` through
/// `FromStr` for an identifier type, so its JSON form is its text form.
macro_rules! serde_via_str {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use serde_via_str;
