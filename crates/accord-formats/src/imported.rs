//! What an import gives: entries to add and rows skipped, gathered within
//! the row limit.

use crate::FormatError;
use crate::text::clip;
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;

/// Longest [`Skipped::text`] kept, in bytes (plus `…` when cut).
pub const MAX_SKIPPED_TEXT: usize = 512;

/// One entry to add, as read from an external format. JSON:
/// `{"target": TARGET, "category": C, "action": A, "reason"?: TEXT}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imported {
    /// What to block.
    pub target: Target,
    /// The harm (the format's, or the caller's default).
    pub category: Category,
    /// The recommended action.
    pub action: Action,
    /// Why, when the format carries it.
    pub reason: Option<Reason>,
}

/// A row that could not be mapped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The line the row starts on, from 1.
    pub line: usize,
    /// The row (at most [`MAX_SKIPPED_TEXT`] bytes; a JSON element
    /// re-encoded compactly).
    pub text: String,
    /// Why it was not imported.
    pub why: String,
}

/// The result of reading a document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Import {
    /// The entries to add, in document order.
    pub entries: Vec<Imported>,
    /// The rows that could not be mapped, in document order.
    pub skipped: Vec<Skipped>,
}

impl Import {
    /// What the import read, for people: how many rows became entries (by
    /// target kind) and why the others did not, the most frequent reason
    /// first, e.g. `5 rows: 3 became entries (1 domain, 2 node), 2 skipped`
    /// then one line per reason, `  2 × severity noop blocks nothing …`.
    pub fn summary(&self) -> String {
        use std::collections::BTreeMap;
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.entries {
            *kinds.entry(e.target.kind().as_str()).or_default() += 1;
        }
        let mut whys: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.skipped {
            *whys.entry(s.why.as_str()).or_default() += 1;
        }
        let mut whys: Vec<_> = whys.into_iter().collect();
        whys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let kinds: Vec<String> = kinds.into_iter().map(|(k, n)| format!("{n} {k}")).collect();
        let mut out = format!(
            "{} rows: {} became entries{}, {} skipped",
            self.entries.len() + self.skipped.len(),
            self.entries.len(),
            if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) },
            self.skipped.len()
        );
        for (why, n) in whys {
            out.push_str(&format!("\n  {n} × {why}"));
        }
        out
    }
}

/// Gathers the rows of one document and enforces the row limit.
pub(crate) struct Rows {
    import: Import,
    rows: usize,
    max_rows: usize,
}

impl Rows {
    /// No rows yet; at most `max_rows` accepted.
    pub(crate) fn new(max_rows: usize) -> Self {
        Rows { import: Import::default(), rows: 0, max_rows }
    }

    /// Adds the row starting on `line` whose text is `text`: an entry, or a
    /// skipped row with why. Refuses the row past the limit.
    pub(crate) fn push(&mut self, line: usize, text: &str, row: Result<Imported, String>) -> Result<(), FormatError> {
        self.rows += 1;
        if self.rows > self.max_rows {
            return Err(FormatError::TooManyRows { max: self.max_rows });
        }
        match row {
            Ok(entry) => self.import.entries.push(entry),
            Err(why) => self.import.skipped.push(Skipped { line, text: clip(text, MAX_SKIPPED_TEXT), why }),
        }
        Ok(())
    }

    /// The rows gathered.
    pub(crate) fn into_import(self) -> Import {
        self.import
    }
}
