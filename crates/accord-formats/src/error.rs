//! Why a document could not be read at all.

/// Why a document could not be read at all. (Rows that cannot be mapped are
/// [`Skipped`](crate::Skipped), not errors.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Not the name of a format.
    #[error("unknown format `{0}` (expected mastodon-csv, matrix-policy, plain, pdq-hex or threatexchange-csv)")]
    UnknownFormat(String),
    /// The document is larger than the limit ([`MAX_IMPORT_BYTES`](crate::MAX_IMPORT_BYTES)).
    #[error("input is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// The document has more rows than the limit ([`MAX_IMPORT_ROWS`](crate::MAX_IMPORT_ROWS)).
    #[error("input has more than {max} rows")]
    TooManyRows {
        /// Rows allowed.
        max: usize,
    },
    /// Not readable as CSV (see the message).
    #[error("unreadable CSV: {0}")]
    BadCsv(String),
    /// Not readable as a JSON array (see the message).
    #[error("unreadable JSON: {0}")]
    BadJson(String),
}

impl FormatError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FormatError::UnknownFormat(_) => "unknown_format",
            FormatError::TooLarge { .. } => "too_large",
            FormatError::TooManyRows { .. } => "too_many_rows",
            FormatError::BadCsv(_) => "bad_csv",
            FormatError::BadJson(_) => "bad_json",
        }
    }
}
