//! The names of the formats.

use crate::FormatError;
use crate::text::{MAX_QUOTED, clip};
use std::fmt;
use std::str::FromStr;

/// An external blocklist format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Mastodon's domain-block CSV export (`mastodon-csv`, [`crate::mastodon`]).
    MastodonCsv,
    /// A JSON array of Matrix policy rule events (`matrix-policy`, [`crate::matrix`]).
    MatrixPolicy,
    /// One target per line (`plain`, [`crate::plain`]).
    Plain,
    /// PDQ hashes, one per line with optional quality and metadata
    /// (`pdq-hex`, [`crate::pdq`]).
    PdqHex,
    /// PDQ hashes as ThreatExchange and the Hasher-Matcher-Actioner export
    /// them (`threatexchange-csv`, [`crate::pdq`]).
    ThreatExchangeCsv,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] =
        [Format::MastodonCsv, Format::MatrixPolicy, Format::Plain, Format::PdqHex, Format::ThreatExchangeCsv];

    /// The name used on command lines and in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::MastodonCsv => "mastodon-csv",
            Format::MatrixPolicy => "matrix-policy",
            Format::Plain => "plain",
            Format::PdqHex => "pdq-hex",
            Format::ThreatExchangeCsv => "threatexchange-csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| FormatError::UnknownFormat(clip(s, MAX_QUOTED)))
    }
}
