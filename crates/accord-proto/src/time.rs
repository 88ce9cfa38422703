//! Timestamps: milliseconds since the Unix epoch (spec/encoding.md §5).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z, as an
/// unsigned 64-bit integer on the wire (a JSON number below 2^53).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(try_from = "u64", into = "u64")]
pub struct Timestamp(u64);

/// A timestamp above [`Timestamp::MAX`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp {0} is out of range (maximum 2^53 - 1)")]
pub struct TimestampRangeError(pub u64);

impl TryFrom<u64> for Timestamp {
    type Error = TimestampRangeError;
    fn try_from(ms: u64) -> Result<Self, Self::Error> {
        let t = Timestamp(ms);
        if t.is_in_range() { Ok(t) } else { Err(TimestampRangeError(ms)) }
    }
}

impl From<Timestamp> for u64 {
    fn from(t: Timestamp) -> u64 {
        t.0
    }
}

impl Timestamp {
    /// The largest timestamp the protocol accepts (2^53 - 1, exact in every
    /// JSON implementation).
    pub const MAX: Timestamp = Timestamp((1 << 53) - 1);

    /// A timestamp from milliseconds since the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// The current wall-clock time. (Reading the clock is the only
    /// environment access in this crate.)
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self(ms)
    }

    /// `self + ms`, saturating.
    pub fn plus_millis(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Whether the value fits the protocol range (at most [`Self::MAX`]).
    pub fn is_in_range(self) -> bool {
        self <= Self::MAX
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}
