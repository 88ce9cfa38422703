//! Lenient reading of optional parts of a response: a part that does not
//! parse is dropped, so that the rest of the answer stays readable.

use serde::de::{Deserialize, DeserializeOwned, Deserializer};

/// An optional field read as `None` when absent, `null`, or not of the
/// expected shape.
pub(crate) fn option<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}
