//! # accord-formats
//!
//! Import and export of blocklists in the formats operators already use
//! (spec/blocklists.md §9). These are interoperability formats, not the
//! Accord wire protocol: an imported row becomes an ordinary list entry that
//! the issuer logs and signs as any other. No I/O: text in, entries out, and
//! back.
//!
//! [`import`] reads a document into [`Imported`] entries to add to a list,
//! plus the rows it could not map ([`Skipped`], each with its line and the
//! reason). A bad row never fails the import; only a document that cannot
//! be read at all does ([`FormatError`], with a stable [`FormatError::code`]).
//! [`export`] writes entries in a format, leaving out what the format cannot
//! express. Export then import gives back what the format carries.
//!
//! The formats, one module each: [`plain`] (one target per line),
//! [`mastodon`] (Mastodon's domain-block CSV, read with the `csv` crate),
//! [`matrix`] (a JSON array of Matrix policy rule events, read with
//! `serde_json`) and [`pdq`] (PDQ image hashes as hash-sharing programmes
//! exchange them: one per line, and ThreatExchange's CSV).
//!
//! Every format: the input may be at most [`MAX_IMPORT_BYTES`] bytes and
//! [`MAX_IMPORT_ROWS`] rows (lines, CSV records or array elements that are
//! not blank or comments), else `too_large` / `too_many_rows`. A leading
//! UTF-8 byte-order mark is ignored. Reasons read from a format have `CR LF`
//! turned into `LF` and other control characters (except tab) into spaces;
//! a reason that is empty or only whitespace is absent, and one longer than
//! [`MAX_REASON`](accord_proto::limits::MAX_REASON) bytes is cut at a
//! character boundary and ends with `…` so it fits.
//!
//! ```
//! use accord_formats::{Format, export, import};
//! use accord_proto::blocklist::Category;
//!
//! let text = "# one entry per line\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef spam\n";
//! let got = import(Format::Plain, text, Category::Other)?;
//! assert_eq!(got.entries.len(), 1);
//! assert!(got.skipped.is_empty());
//! let e = &got.entries[0];
//! let again = export(Format::Plain, &[(e.target.clone(), e.category, e.action, e.reason.clone())]);
//! assert_eq!(again, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef spam\n");
//! # Ok::<(), accord_formats::FormatError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod format;
mod imported;
pub mod mastodon;
pub mod matrix;
pub mod pdq;
pub mod plain;
mod text;

pub use error::FormatError;
pub use format::Format;
pub use imported::{Import, Imported, MAX_SKIPPED_TEXT, Skipped};
pub use mastodon::MASTODON_HEADER;
pub use matrix::{MATRIX_CATEGORY_KEY, MATRIX_HASHES_WHY, QUARANTINE_RECOMMENDATION};
pub use pdq::{MIN_PDQ_QUALITY, THREATEXCHANGE_HEADER};

use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;
use imported::Rows;

/// Largest document [`import`] reads (64 MiB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Most rows (entries plus skipped rows) [`import`] reads from a document.
pub const MAX_IMPORT_ROWS: usize = 2_000_000;

/// How much [`import_with_limits`] reads before it refuses a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document, in bytes (else `too_large`).
    pub max_bytes: usize,
    /// Most rows, entries plus skipped rows (else `too_many_rows`).
    pub max_rows: usize,
}

impl Default for Limits {
    /// The limits of [`import`]: [`MAX_IMPORT_BYTES`] and [`MAX_IMPORT_ROWS`].
    fn default() -> Self {
        Limits { max_bytes: MAX_IMPORT_BYTES, max_rows: MAX_IMPORT_ROWS }
    }
}

/// Reads a document in `format`. Rows without a category of their own get
/// `default_category`.
pub fn import(format: Format, text: &str, default_category: Category) -> Result<Import, FormatError> {
    import_with_limits(format, text, default_category, Limits::default())
}

/// Reads a document in `format` as [`import`] does, within `limits`.
pub fn import_with_limits(
    format: Format,
    text: &str,
    default_category: Category,
    limits: Limits,
) -> Result<Import, FormatError> {
    if text.len() > limits.max_bytes {
        return Err(FormatError::TooLarge { len: text.len(), max: limits.max_bytes });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Rows::new(limits.max_rows);
    match format {
        Format::Plain => plain::import(text, default_category, &mut rows)?,
        Format::MastodonCsv => mastodon::import(text, default_category, &mut rows)?,
        Format::MatrixPolicy => matrix::import(text, default_category, &mut rows)?,
        Format::PdqHex => pdq::import_hex(text, default_category, &mut rows)?,
        Format::ThreatExchangeCsv => pdq::import_csv(text, default_category, &mut rows)?,
    }
    Ok(rows.into_import())
}

/// Writes `entries` (target, category, action, reason) in `format`, leaving
/// out those the format cannot express (see each format's module).
pub fn export(format: Format, entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    match format {
        Format::Plain => plain::export(entries),
        Format::MastodonCsv => mastodon::export(entries),
        Format::MatrixPolicy => matrix::export(entries),
        Format::PdqHex => pdq::export_hex(entries),
        Format::ThreatExchangeCsv => pdq::export_csv(entries),
    }
}
