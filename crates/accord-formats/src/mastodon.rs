//! `mastodon-csv` ([`Format::MastodonCsv`](crate::Format::MastodonCsv)):
//! Mastodon's domain-block export.
//!
//! CSV (RFC 4180: `"`-quoted fields may hold commas, line breaks and `""`
//! for a quote; read with the `csv` crate) with the header [`MASTODON_HEADER`]
//! (`#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`).
//! A first record whose first field is `domain` or `#domain`, or that has a
//! field `#domain`, is a header (the older header has no `#`) and columns
//! are found by name (in any order, unknown columns ignored); without
//! one, columns are positional in the order above, and a file of bare
//! domains (one column) is read as such. Blank records are ignored. A
//! quoted field that is never closed makes the document unreadable
//! (`bad_csv`); otherwise the reader is lenient where that is harmless: a
//! quote inside an unquoted field is kept, text after a closing quote is
//! appended, and blanks around a quoted domain or severity are ignored.
//!
//! | column | mapping |
//! |---|---|
//! | `#domain` | a node target if it is an Accord node id (`12D3KooW…`); a DNS name `x` is a `domain` target `*.x` (the name and every name under it, as Mastodon's block is), matched against nodes' verified names. A name with `*` (obfuscated) is skipped. |
//! | `#severity` | `suspend` (or absent / empty) → `reject`; `silence` → `quarantine`; `noop` and anything else → skipped |
//! | `#public_comment` | reason |
//! | `#reject_media`, `#reject_reports`, `#obfuscate`, others | ignored: no Accord equivalent |
//!
//! Every imported row gets the default category. Mastodon lowercases the
//! domains it stores, and node ids are case-sensitive base58, so a node id
//! that went through a Mastodon server is lost (skipped, with a why that
//! says so). Export writes the header and one row per node or domain
//! target: `NODE,suspend|silence,false,false,REASON,false` (`REASON` quoted
//! when it holds `,`, `"`, a line break or leading or trailing blanks), a
//! domain target `*.x` or `x` as `x` (Mastodon's block of `x` covers the
//! names under it, so an exact domain entry is widened); account, room,
//! content and hashed targets, and categories, cannot be expressed and are
//! left out.

use crate::imported::Rows;
use crate::text::{DomainRule, Lines, MAX_QUOTED, clip, server_target, to_reason};
use crate::{FormatError, Imported};
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;
use std::io::Read as _;

/// The header line of Mastodon's domain-block export.
pub const MASTODON_HEADER: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate";

/// Read after the document to tell whether its last quoted field was
/// closed. The `csv` crate, like most CSV readers, ends a quoted field that
/// is never closed at the end of the input; this format refuses such a
/// document (its last record swallowed the rest of the file). Outside a
/// quoted field this probe ends the last record and adds a record of its
/// own; inside one, it becomes part of the field, so the last record ends
/// at the probe's end.
const UNCLOSED_PROBE: &[u8] = b"\n~\n";

/// Reads the records of `text` into `rows`.
pub(crate) fn import(text: &str, default_category: Category, rows: &mut Rows) -> Result<(), FormatError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(text.as_bytes().chain(UNCLOSED_PROBE));
    let mut lines = Lines::new(text);
    let mut record = csv::StringRecord::new();
    let mut columns = None;
    loop {
        let start = offset(reader.position());
        let more = reader.read_record(&mut record).map_err(|e| FormatError::BadCsv(e.to_string()))?;
        let end = offset(reader.position());
        // The record's text: the position before reading may still be at
        // blank lines or at the `LF` of the previous record's `CR LF`.
        let raw_with_ends = text.get(start..end.min(text.len())).unwrap_or_default();
        let raw = raw_with_ends.trim_start_matches(['\r', '\n']);
        let first = start + raw_with_ends.len() - raw.len();
        if !more || first >= text.len() {
            // The end, or the probe's own record: every quote was closed.
            return Ok(());
        }
        let line = lines.at(first);
        if end >= text.len() + UNCLOSED_PROBE.len() {
            return Err(FormatError::BadCsv(format!(
                "the quoted field in the record starting at line {line} is never closed"
            )));
        }
        let raw = raw.trim_end_matches(['\r', '\n']);
        if raw.trim().is_empty() {
            continue;
        }
        let mut fields: Vec<&str> = record.iter().collect();
        // Records end at `LF`; the `CR` of a `CR LF` is the last field's
        // last byte (a lone `CR` elsewhere is text).
        if raw_with_ends.trim_end_matches('\n').ends_with('\r')
            && let Some(last) = fields.last_mut()
        {
            *last = last.strip_suffix('\r').unwrap_or(last);
        }
        let cols = match columns {
            Some(cols) => cols,
            None => {
                let header = Columns::from_header(&fields);
                columns = Some(header.unwrap_or(Columns::POSITIONAL));
                if header.is_some() {
                    continue;
                }
                Columns::POSITIONAL
            }
        };
        rows.push(line, raw, row(&fields, cols, default_category))?;
    }
}

/// Writes the header and one row per node or domain entry.
pub(crate) fn export(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut out = format!("{MASTODON_HEADER}\n");
    for (target, _category, action, reason) in entries {
        let domain = match target {
            Target::Node { id } => id.to_string(),
            Target::Domain { name } => name.base().to_string(),
            _ => continue,
        };
        let severity = match action {
            Action::Reject => "suspend",
            Action::Quarantine => "silence",
        };
        let comment = reason.as_ref().map(|r| field(r.as_str())).unwrap_or_default();
        out.push_str(&format!("{domain},{severity},false,false,{comment},false\n"));
    }
    out
}

/// A reader position as an offset into the text (past the text when the
/// reader has read into the probe).
fn offset(position: &csv::Position) -> usize {
    usize::try_from(position.byte()).unwrap_or(usize::MAX)
}

/// Where the columns Accord reads are.
#[derive(Clone, Copy)]
struct Columns {
    domain: usize,
    severity: Option<usize>,
    public_comment: Option<usize>,
}

impl Columns {
    /// Mastodon's column order, for files without a header.
    const POSITIONAL: Columns = Columns { domain: 0, severity: Some(1), public_comment: Some(4) };

    fn name(field: &str) -> String {
        let name = field.trim();
        name.strip_prefix('#').unwrap_or(name).to_ascii_lowercase()
    }

    /// The columns named by `fields`, if they are a header: the first
    /// field is `domain` or `#domain`, or some field is `#domain` (any case).
    fn from_header(fields: &[&str]) -> Option<Columns> {
        let first_is_domain = fields.first().is_some_and(|f| Self::name(f) == "domain");
        if !first_is_domain && !fields.iter().any(|f| f.trim().eq_ignore_ascii_case("#domain")) {
            return None;
        }
        let find = |wanted: &str| fields.iter().position(|f| Self::name(f) == wanted);
        Some(Columns { domain: find("domain")?, severity: find("severity"), public_comment: find("public_comment") })
    }
}

/// A keyword or name column: without surrounding blanks, and without the
/// quotes of a quoted field padded with blanks (` "x" `), which RFC 4180
/// reads as text with quotes in it.
fn value(field: &str) -> &str {
    let trimmed = field.trim();
    match trimmed.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if trimmed.len() != field.len() => inner.trim(),
        _ => trimmed,
    }
}

fn row(fields: &[&str], cols: Columns, default_category: Category) -> Result<Imported, String> {
    let raw = |i: Option<usize>| i.and_then(|i| fields.get(i)).copied().unwrap_or("");
    let domain = value(raw(Some(cols.domain)));
    if domain.is_empty() {
        return Err("empty domain".to_owned());
    }
    if Columns::name(domain) == "domain" {
        return Err("repeated header row".to_owned());
    }
    if domain.contains('*') {
        return Err("obfuscated domain (contains `*`): the full name is not known".to_owned());
    }
    let target = server_target(domain, DomainRule::Mastodon)?;
    let action = match value(raw(cols.severity)).to_ascii_lowercase().as_str() {
        "" | "suspend" => Action::Reject,
        "silence" => Action::Quarantine,
        "noop" => {
            return Err(
                "severity noop blocks nothing (reject_media and reject_reports have no Accord equivalent)".to_owned()
            );
        }
        other => {
            return Err(format!("unknown severity `{}` (suspend, silence or noop)", clip(other, MAX_QUOTED)));
        }
    };
    let reason = to_reason(raw(cols.public_comment));
    Ok(Imported { target, category: default_category, action, reason })
}

/// A CSV field, quoted when it must be (and when it has leading or trailing
/// blanks, which some readers trim).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
