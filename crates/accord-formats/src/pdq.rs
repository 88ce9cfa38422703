//! The formats hash-sharing programmes exchange PDQ hashes in: `pdq-hex`
//! ([`Format::PdqHex`](crate::Format::PdqHex)) and `threatexchange-csv`
//! ([`Format::ThreatExchangeCsv`](crate::Format::ThreatExchangeCsv)).
//! Every row becomes a `pdq` target (spec/blocklists.md §2.1) with the
//! action `reject`.
//!
//! **`pdq-hex`**: one hash per line, as Meta's `pdq-photo-hasher` prints
//! them: `HEX[,QUALITY[,METADATA]]`, fields separated by a comma or a tab
//! (`HEX` is 64 hex digits, either case). `QUALITY`, when present and not
//! empty, is 0–100; a row of quality below 50 is skipped (too weak to act
//! on). `METADATA` (the rest of the line, e.g. a file name or a label,
//! without surrounding whitespace) is the reason. Blank lines and lines starting with `#` are ignored; a
//! trailing `CR` is ignored. Every row gets the default category. Export
//! writes `HEX` per entry, or `HEX,,REASON` (line breaks in the reason
//! written as spaces).
//!
//! **`threatexchange-csv`**: CSV rows of PDQ hashes as ThreatExchange's
//! descriptor exports and the Hasher-Matcher-Actioner's hash files hold
//! them. Without a header the columns are positional,
//! `HASH,ID,ADDED_ON,TAGS` (HMA's signal files; `TAGS` separated by
//! spaces). With a header (a first record naming a column `indicator`,
//! `hash`, `signal` or `signal_value`), columns are found by name, any
//! order: the hash (one of those names); the type (`indicator_type`,
//! `type` or `signal_type`), which when present must be `HASH_PDQ` or `pdq`
//! (any case), else the row is skipped; the tags (`tags` or `labels`); a
//! description (`description` or `reason`). A tag that is a category wire
//! name (§1.2) sets the row's category (else the default category); the
//! description, or else the other tags, without surrounding whitespace, is
//! the reason. Export writes the
//! header `indicator,indicator_type,tags,description` and one row per PDQ
//! entry: `HEX,HASH_PDQ,CATEGORY,REASON`. Export then import gives back
//! every PDQ entry.
//!
//! Entries of other targets cannot be expressed in either format and are
//! left out of an export.

use crate::imported::Rows;
use crate::text::{Lines, MAX_QUOTED, clip, is_hex64, to_field_reason};
use crate::{FormatError, Imported};
use accord_proto::PdqHash;
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;

/// The quality below which a `pdq-hex` row is skipped.
pub const MIN_PDQ_QUALITY: u8 = 50;

/// The header `threatexchange-csv` export writes.
pub const THREATEXCHANGE_HEADER: &str = "indicator,indicator_type,tags,description";

fn parse_hash(text: &str) -> Result<PdqHash, String> {
    let text = text.trim();
    if !is_hex64(text) {
        return Err(format!("`{}` is not a PDQ hash (64 hex digits)", clip(text, MAX_QUOTED)));
    }
    PdqHash::parse_hex(text).map_err(|e| e.to_string())
}

/// Reads `pdq-hex` lines into `rows`.
pub(crate) fn import_hex(text: &str, default_category: Category, rows: &mut Rows) -> Result<(), FormatError> {
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        rows.push(i + 1, line, hex_row(trimmed, default_category))?;
    }
    Ok(())
}

fn hex_row(line: &str, category: Category) -> Result<Imported, String> {
    let mut fields = line.splitn(3, [',', '\t']);
    let hash = parse_hash(fields.next().unwrap_or_default())?;
    if let Some(quality) = fields.next().map(str::trim).filter(|q| !q.is_empty()) {
        let quality: u8 = quality
            .parse()
            .ok()
            .filter(|q| *q <= 100)
            .ok_or_else(|| format!("quality `{}` is not 0 to 100", clip(quality, MAX_QUOTED)))?;
        if quality < MIN_PDQ_QUALITY {
            return Err(format!("quality {quality} is below {MIN_PDQ_QUALITY}: too weak to act on"));
        }
    }
    let reason = fields.next().and_then(to_field_reason);
    Ok(Imported { target: Target::Pdq { hash }, category, action: Action::Reject, reason })
}

/// Writes `pdq-hex` lines.
pub(crate) fn export_hex(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut out = String::new();
    for (target, _, _, reason) in entries {
        let Target::Pdq { hash } = target else { continue };
        out.push_str(&hash.to_string());
        if let Some(reason) = reason {
            out.push_str(",,");
            out.push_str(&reason.as_str().replace(['\n', '\r'], " "));
        }
        out.push('\n');
    }
    out
}

/// Which column holds what, from a header.
struct Columns {
    hash: usize,
    kind: Option<usize>,
    tags: Option<usize>,
    description: Option<usize>,
}

impl Columns {
    /// The positional columns of HMA's files: hash, id, added on, tags.
    const POSITIONAL: Columns = Columns { hash: 0, kind: None, tags: Some(3), description: None };

    fn from_header(record: &csv::StringRecord) -> Option<Columns> {
        let find = |names: &[&str]| {
            record.iter().position(|f| names.iter().any(|n| f.trim().trim_start_matches('#').eq_ignore_ascii_case(n)))
        };
        Some(Columns {
            hash: find(&["indicator", "hash", "signal", "signal_value"])?,
            kind: find(&["indicator_type", "type", "signal_type"]),
            tags: find(&["tags", "labels"]),
            description: find(&["description", "reason"]),
        })
    }
}

/// Reads `threatexchange-csv` records into `rows`.
pub(crate) fn import_csv(text: &str, default_category: Category, rows: &mut Rows) -> Result<(), FormatError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(text.as_bytes());
    let mut lines = Lines::new(text);
    let mut record = csv::StringRecord::new();
    let mut columns = None;
    loop {
        let start = reader.position().byte() as usize;
        if !reader.read_record(&mut record).map_err(|e| FormatError::BadCsv(e.to_string()))? {
            return Ok(());
        }
        let end = (reader.position().byte() as usize).min(text.len());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let chunk = text.get(start..end).unwrap_or_default();
        let raw = chunk.trim_start_matches(['\r', '\n']);
        let line = lines.at(start + chunk.len() - raw.len());
        let raw = raw.trim_end_matches(['\r', '\n']);
        let cols = match &columns {
            Some(cols) => cols,
            None => {
                let header = Columns::from_header(&record);
                let is_header = header.is_some();
                columns = Some(header.unwrap_or(Columns::POSITIONAL));
                if is_header {
                    continue;
                }
                columns.as_ref().unwrap_or(&Columns::POSITIONAL)
            }
        };
        rows.push(line, raw, csv_row(&record, cols, default_category))?;
    }
}

fn csv_row(record: &csv::StringRecord, cols: &Columns, default_category: Category) -> Result<Imported, String> {
    let field = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or_default();
    let kind = field(cols.kind);
    if !kind.is_empty() && !kind.eq_ignore_ascii_case("HASH_PDQ") && !kind.eq_ignore_ascii_case("pdq") {
        return Err(format!("type `{}` is not a PDQ hash", clip(kind, MAX_QUOTED)));
    }
    let hash = parse_hash(field(Some(cols.hash)))?;
    let mut category = None;
    let mut other_tags = Vec::new();
    for tag in field(cols.tags).split([' ', ';', '|']).filter(|t| !t.is_empty()) {
        match tag.parse::<Category>() {
            Ok(c) if category.is_none() => category = Some(c),
            _ => other_tags.push(tag),
        }
    }
    let description = cols.description.and_then(|i| record.get(i)).unwrap_or_default();
    let reason =
        if description.is_empty() { to_field_reason(&other_tags.join(" ")) } else { to_field_reason(description) };
    Ok(Imported {
        target: Target::Pdq { hash },
        category: category.unwrap_or(default_category),
        action: Action::Reject,
        reason,
    })
}

/// Writes `threatexchange-csv`: the header and one row per PDQ entry.
pub(crate) fn export_csv(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let mut out = format!("{THREATEXCHANGE_HEADER}\n");
    for (target, category, _, reason) in entries {
        let Target::Pdq { hash } = target else { continue };
        let hash = hash.to_string();
        let reason = reason.as_ref().map(Reason::as_str).unwrap_or("");
        // Writing to memory cannot fail.
        let _ = writer.write_record([hash.as_str(), "HASH_PDQ", category.as_str(), reason]);
    }
    if let Ok(bytes) = writer.into_inner() {
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    out
}
