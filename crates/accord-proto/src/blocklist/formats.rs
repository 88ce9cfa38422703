//! Import and export of blocklists in the formats operators already use
//! (spec/blocklists.md §9). No I/O: text in, entries out, and back.
//!
//! [`import`] reads a document into [`Imported`] entries to add to a list,
//! plus the rows it could not map ([`Skipped`], each with its line and the
//! reason). A bad row never fails the import; only a document that cannot
//! be read at all does ([`FormatError`]). [`export`] writes entries in a
//! format, leaving out what the format cannot express.
//!
//! Every format: the input may be at most [`MAX_IMPORT_BYTES`] bytes and
//! [`MAX_IMPORT_ROWS`] rows (lines, CSV records or array elements that are
//! not blank or comments), else `too_large` / `too_many_rows`. A leading
//! UTF-8 byte-order mark is ignored. Reasons read from a format have `CR LF`
//! turned into `LF` and other control characters (except tab) into spaces;
//! a reason that is empty or only whitespace is absent, and one longer than
//! [`MAX_REASON`] bytes is cut at a character
//! boundary and ends with `…` so it fits.
//!
//! # `plain` ([`Format::Plain`])
//!
//! One entry per line: `TARGET [CATEGORY [ACTION]]`, fields separated by
//! whitespace. Blank lines and lines whose first non-blank character is `#`
//! are ignored; a trailing `CR` is ignored.
//!
//! | `TARGET` | target |
//! |---|---|
//! | `acct1…` | account |
//! | `12D3KooW…` (libp2p PeerId text) | node |
//! | `room1…` | room |
//! | 64 hex digits (either case) | content |
//! | `hashed:KIND:HEX` (`KIND` = `account`, `node`, `room`, `content`; 64 hex digits, either case) | hashed target |
//!
//! `CATEGORY` is a category wire name (spec §1.2); absent, the caller's
//! default category applies. `ACTION` is `reject` (the default) or
//! `quarantine`. Reasons are not carried. Export writes `TARGET CATEGORY`
//! for a reject entry and `TARGET CATEGORY quarantine` for a quarantine
//! entry, hex in lowercase, so export → import gives back every entry
//! except its reason.
//!
//! # `mastodon-csv` ([`Format::MastodonCsv`])
//!
//! Mastodon's domain-block export: CSV (RFC 4180: `"`-quoted fields may
//! hold commas, line breaks and `""` for a quote) with the header
//! `#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`.
//! A first record whose first field is `domain` or `#domain`, or that has a
//! field `#domain`, is a header (the older header has no `#`) and columns
//! are found by name (in any order, unknown columns ignored); without
//! one, columns are positional in the order above, and a file of bare
//! domains (one column) is read as such.
//!
//! | column | mapping |
//! |---|---|
//! | `#domain` | node target, only if it is an Accord node id (`12D3KooW…`). A DNS name (holds `.` or `:`) is skipped: a node is its key, not a DNS name. A name with `*` (obfuscated) is skipped. |
//! | `#severity` | `suspend` (or absent / empty) → `reject`; `silence` → `quarantine`; `noop` and anything else → skipped |
//! | `#public_comment` | reason |
//! | `#reject_media`, `#reject_reports`, `#obfuscate`, others | ignored: no Accord equivalent |
//!
//! Every imported row gets the default category. Mastodon lowercases the
//! domains it stores, and node ids are case-sensitive base58, so a node id
//! that went through a Mastodon server is lost (skipped, with a why that
//! says so). Export writes the header and one row per node target:
//! `NODE,suspend|silence,false,false,REASON,false`; account, room, content
//! and hashed targets, and categories, cannot be expressed and are left out.
//!
//! # `matrix-policy` ([`Format::MatrixPolicy`])
//!
//! A JSON array of Matrix policy rule events (as in a room state dump: extra
//! fields such as `state_key`, `sender` and `event_id` are ignored) or of
//! bare `{"type": …, "content": …}` objects.
//!
//! | `type` | `content.entity` must be | target |
//! |---|---|---|
//! | `m.policy.rule.user`, `m.room.rule.user`, `org.matrix.mjolnir.rule.user` | an Accord account id | account |
//! | `m.policy.rule.server`, `m.room.rule.server`, `org.matrix.mjolnir.rule.server` | an Accord node id | node |
//! | `m.policy.rule.room`, `m.room.rule.room`, `org.matrix.mjolnir.rule.room` | an Accord room id | room |
//!
//! `content.recommendation` `m.ban` (or the older `org.matrix.mjolnir.ban`)
//! → `reject`, `org.accord.quarantine` → `quarantine`; any other is
//! skipped. `content.reason` → reason. `content["org.accord.category"]`,
//! when it is a category wire name, is the category; otherwise the default
//! applies. Skipped: elements that are not objects, other event types, empty
//! content (a removed rule), entities with glob characters `*` or `?`,
//! Matrix user ids (`@user:server`), room ids (`!id:server`) and aliases
//! (`#alias:server`), server names (DNS names), and hashed rules
//! (`content.hashes` without `entity`: Matrix hashes the entity text, Accord
//! hashes `kind:id`, so they cannot be converted). Export writes
//! `{"type": "m.policy.rule.user|server|room", "content": {"entity": ID,
//! "reason": REASON or "", "recommendation": "m.ban" or
//! "org.accord.quarantine", "org.accord.category": CATEGORY}}` per account,
//! node and room target; content and hashed targets have no Matrix rule and
//! are left out.

use super::entry::{Action, Category, Target, TargetKind};
use crate::hash::Sha256Hash;
use crate::ids::{AccountId, ContentHash, NodeId, ParseIdError, RoomId};
use crate::limits::MAX_REASON;
use crate::text::Reason;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// Largest document [`import`] reads (64 MiB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Most rows (entries plus skipped rows) [`import`] reads from a document.
pub const MAX_IMPORT_ROWS: usize = 2_000_000;
/// Why a Mastodon row or Matrix server rule naming a DNS name is skipped.
pub const DNS_DOMAIN_WHY: &str = "DNS domains have no Accord node id; block the node by id";
/// Why a hashed Matrix policy rule is skipped.
pub const MATRIX_HASHES_WHY: &str = "Matrix hashes the entity text, Accord hashes kind:id; not convertible";
/// The Matrix recommendation Accord writes (and reads) for quarantine.
pub const QUARANTINE_RECOMMENDATION: &str = "org.accord.quarantine";
/// The Matrix rule content key Accord writes (and reads) the category in.
pub const MATRIX_CATEGORY_KEY: &str = "org.accord.category";
/// The header line of Mastodon's domain-block export.
pub const MASTODON_HEADER: &str = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate";

/// Longest [`Skipped::text`] kept, in bytes.
const MAX_SKIPPED_TEXT: usize = 512;
/// Longest piece of input quoted in a [`Skipped::why`], in bytes.
const MAX_QUOTED: usize = 80;

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
    /// The row (at most 512 bytes; a JSON element re-encoded compactly).
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

/// An external blocklist format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Mastodon's domain-block CSV export (`mastodon-csv`).
    MastodonCsv,
    /// A JSON array of Matrix policy rule events (`matrix-policy`).
    MatrixPolicy,
    /// One target per line (`plain`).
    Plain,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::MastodonCsv, Format::MatrixPolicy, Format::Plain];

    /// The name used on command lines and in APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::MastodonCsv => "mastodon-csv",
            Format::MatrixPolicy => "matrix-policy",
            Format::Plain => "plain",
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

/// Why a document could not be read at all. (Rows that cannot be mapped are
/// [`Skipped`], not errors.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Not the name of a format.
    #[error("unknown format `{0}` (expected mastodon-csv, matrix-policy or plain)")]
    UnknownFormat(String),
    /// The document is larger than [`MAX_IMPORT_BYTES`].
    #[error("input is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// The document has more than [`MAX_IMPORT_ROWS`] rows.
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

/// Reads a document in `format`. Rows without a category of their own get
/// `default_category`.
pub fn import(format: Format, text: &str, default_category: Category) -> Result<Import, FormatError> {
    import_limited(format, text, default_category, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS)
}

/// Writes `entries` in `format`, leaving out those the format cannot
/// express (see the module documentation).
pub fn export(format: Format, entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    match format {
        Format::Plain => export_plain(entries),
        Format::MastodonCsv => export_mastodon(entries),
        Format::MatrixPolicy => export_matrix(entries),
    }
}

fn import_limited(
    format: Format,
    text: &str,
    default_category: Category,
    max_bytes: usize,
    max_rows: usize,
) -> Result<Import, FormatError> {
    if text.len() > max_bytes {
        return Err(FormatError::TooLarge { len: text.len(), max: max_bytes });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Collector { import: Import::default(), rows: 0, max_rows };
    match format {
        Format::Plain => import_plain(text, default_category, &mut out)?,
        Format::MastodonCsv => import_mastodon(text, default_category, &mut out)?,
        Format::MatrixPolicy => import_matrix(text, default_category, &mut out)?,
    }
    Ok(out.import)
}

/// Gathers rows and enforces the row limit.
struct Collector {
    import: Import,
    rows: usize,
    max_rows: usize,
}

impl Collector {
    fn push(&mut self, line: usize, text: &str, row: Result<Imported, String>) -> Result<(), FormatError> {
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
}

// ---------------------------------------------------------------------------
// Shared helpers

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary.
fn floor_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut i = max;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

/// `s`, cut to at most `max` bytes (plus `…` when cut).
fn clip(s: &str, max: usize) -> String {
    let cut = floor_boundary(s, max);
    if cut.len() == s.len() { s.to_owned() } else { format!("{cut}…") }
}

/// A reason from free text: `CR LF` → `LF`, other control characters except
/// tab → space, cut to the limit with a trailing `…`; `None` when blank.
fn to_reason(text: &str) -> Option<Reason> {
    let cleaned: String = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c.is_control() && c != '\n' && c != '\t' { ' ' } else { c })
        .collect();
    if cleaned.trim().is_empty() {
        return None;
    }
    let fitted = if cleaned.len() > MAX_REASON {
        format!("{}…", floor_boundary(&cleaned, MAX_REASON - '…'.len_utf8()))
    } else {
        cleaned
    };
    Reason::new(fitted).ok()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn category_names() -> String {
    Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
}

fn parse_category(s: &str) -> Result<Category, String> {
    s.parse().map_err(|_| format!("unknown category `{}` (one of {})", clip(s, MAX_QUOTED), category_names()))
}

/// Why `name` (from a Mastodon domain or a Matrix server rule) is not a node.
fn not_a_node_why(name: &str, err: impl fmt::Display) -> String {
    if name.contains('.') || name.contains(':') {
        DNS_DOMAIN_WHY.to_owned()
    } else if name.starts_with("12d3koow") {
        "node id was lowercased (Mastodon lowercases domains); node ids are case-sensitive and it cannot be recovered"
            .to_owned()
    } else {
        format!("not an Accord node id: {err}")
    }
}

// ---------------------------------------------------------------------------
// plain

fn import_plain(text: &str, default_category: Category, out: &mut Collector) -> Result<(), FormatError> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        out.push(i + 1, line, plain_row(trimmed, default_category))?;
    }
    Ok(())
}

fn plain_row(line: &str, default_category: Category) -> Result<Imported, String> {
    let mut fields = line.split_whitespace();
    let target = parse_plain_target(fields.next().unwrap_or_default())?;
    let category = match fields.next() {
        None => default_category,
        Some(c) => parse_category(c)?,
    };
    let action = match fields.next() {
        None | Some("reject") => Action::Reject,
        Some("quarantine") => Action::Quarantine,
        Some(a) => return Err(format!("unknown action `{}` (reject or quarantine)", clip(a, MAX_QUOTED))),
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected field `{}`: a line is TARGET [CATEGORY [ACTION]]", clip(extra, MAX_QUOTED)));
    }
    Ok(Imported { target, category, action, reason: None })
}

fn parse_target_kind(s: &str) -> Result<TargetKind, String> {
    [TargetKind::Account, TargetKind::Node, TargetKind::Room, TargetKind::Content]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown target kind `{}` (account, node, room or content)", clip(s, MAX_QUOTED)))
}

fn parse_plain_target(s: &str) -> Result<Target, String> {
    if let Some(rest) = s.strip_prefix("hashed:") {
        let (kind, hex) = rest.split_once(':').ok_or("a hashed target is hashed:KIND:HEX")?;
        let kind = parse_target_kind(kind)?;
        if !is_hex64(hex) {
            return Err("the hash of a hashed target must be 64 hex digits".to_owned());
        }
        let hash = Sha256Hash::parse_hex(hex).map_err(|e| e.to_string())?;
        return Ok(Target::Hashed { kind, hash });
    }
    if is_hex64(s) {
        let hash = Sha256Hash::parse_hex(s).map_err(|e| e.to_string())?;
        return Ok(Target::Content { id: ContentHash(hash) });
    }
    if s.starts_with(AccountId::PREFIX) && s[AccountId::PREFIX.len()..].starts_with('1') {
        return s.parse().map(|id| Target::Account { id }).map_err(|e: ParseIdError| e.to_string());
    }
    if s.starts_with(RoomId::PREFIX) && s[RoomId::PREFIX.len()..].starts_with('1') {
        return s.parse().map(|id| Target::Room { id }).map_err(|e: ParseIdError| e.to_string());
    }
    match s.parse::<NodeId>() {
        Ok(id) => Ok(Target::Node { id }),
        Err(e) if s.starts_with("12D3KooW") => Err(e.to_string()),
        Err(_) => Err(format!(
            "`{}` is not a target: expected an account id (acct1…), node id (12D3KooW…), room id (room1…), \
             64 hex digits (content) or hashed:KIND:HEX",
            clip(s, MAX_QUOTED)
        )),
    }
}

fn plain_target(target: &Target) -> String {
    match target {
        Target::Account { id } => id.to_string(),
        Target::Node { id } => id.to_string(),
        Target::Room { id } => id.to_string(),
        Target::Content { id } => id.to_string(),
        Target::Hashed { kind, hash } => format!("hashed:{}:{hash}", kind.as_str()),
    }
}

fn export_plain(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut out = String::new();
    for (target, category, action, _reason) in entries {
        out.push_str(&plain_target(target));
        out.push(' ');
        out.push_str(category.as_str());
        if *action == Action::Quarantine {
            out.push_str(" quarantine");
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// mastodon-csv

/// One CSV record.
struct CsvRecord<'a> {
    /// The line it starts on, from 1.
    line: usize,
    /// Its text, without the line ending.
    raw: &'a str,
    /// Its fields, unquoted.
    fields: Vec<String>,
}

/// A minimal RFC 4180 reader: `,` between fields, `LF` or `CR LF` between
/// records, `"`-quoted fields with `""` for a quote. Lenient where that is
/// harmless: a quote inside an unquoted field is kept, text after a closing
/// quote is appended, blanks before an opening quote are dropped.
struct CsvReader<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> CsvReader<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0, line: 1 }
    }

    fn next_record(&mut self) -> Result<Option<CsvRecord<'a>>, FormatError> {
        let bytes = self.text.as_bytes();
        if self.pos >= bytes.len() {
            return Ok(None);
        }
        let start = self.pos;
        let start_line = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut at_field_start = true;
        let end;
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                end = self.pos;
                fields.push(std::mem::take(&mut field));
                break;
            };
            if at_field_start {
                at_field_start = false;
                let blanks = bytes[self.pos..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
                if bytes.get(self.pos + blanks) == Some(&b'"') {
                    self.pos += blanks + 1;
                    self.read_quoted(&mut field, start_line)?;
                    continue;
                }
            }
            match b {
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                    self.pos += 1;
                }
                b'\n' => {
                    end = self.pos;
                    fields.push(std::mem::take(&mut field));
                    self.pos += 1;
                    self.line += 1;
                    break;
                }
                b'\r' if bytes.get(self.pos + 1) == Some(&b'\n') => {
                    end = self.pos;
                    fields.push(std::mem::take(&mut field));
                    self.pos += 2;
                    self.line += 1;
                    break;
                }
                b'\r' => {
                    field.push('\r');
                    self.pos += 1;
                }
                _ => {
                    // A run up to the next ASCII delimiter: always a whole
                    // number of characters.
                    let run = bytes[self.pos..]
                        .iter()
                        .position(|&c| c == b',' || c == b'\n' || c == b'\r')
                        .unwrap_or(bytes.len() - self.pos);
                    field.push_str(&self.text[self.pos..self.pos + run]);
                    self.pos += run;
                }
            }
        }
        Ok(Some(CsvRecord { line: start_line, raw: &self.text[start..end], fields }))
    }

    /// Reads a quoted field's content after its opening quote, up to and
    /// including the closing quote.
    fn read_quoted(&mut self, field: &mut String, record_line: usize) -> Result<(), FormatError> {
        let bytes = self.text.as_bytes();
        loop {
            let Some(offset) = bytes[self.pos..].iter().position(|&c| c == b'"') else {
                return Err(FormatError::BadCsv(format!(
                    "the quoted field in the record starting at line {record_line} is never closed"
                )));
            };
            let piece = &self.text[self.pos..self.pos + offset];
            self.line += piece.bytes().filter(|&c| c == b'\n').count();
            field.push_str(piece);
            self.pos += offset + 1;
            if bytes.get(self.pos) == Some(&b'"') {
                field.push('"');
                self.pos += 1;
            } else {
                return Ok(());
            }
        }
    }
}

/// Where the columns Accord reads are.
#[derive(Clone, Copy)]
struct MastodonColumns {
    domain: usize,
    severity: Option<usize>,
    public_comment: Option<usize>,
}

impl MastodonColumns {
    /// Mastodon's column order, for files without a header.
    const POSITIONAL: MastodonColumns = MastodonColumns { domain: 0, severity: Some(1), public_comment: Some(4) };

    fn column_name(field: &str) -> String {
        let name = field.trim();
        name.strip_prefix('#').unwrap_or(name).to_ascii_lowercase()
    }

    /// The columns named by `fields`, if they are a header: the first
    /// field is `domain` or `#domain`, or some field is `#domain` (any case).
    fn from_header(fields: &[String]) -> Option<MastodonColumns> {
        let first_is_domain = fields.first().is_some_and(|f| Self::column_name(f) == "domain");
        if !first_is_domain && !fields.iter().any(|f| f.trim().eq_ignore_ascii_case("#domain")) {
            return None;
        }
        let find = |wanted: &str| fields.iter().position(|f| Self::column_name(f) == wanted);
        Some(MastodonColumns {
            domain: find("domain")?,
            severity: find("severity"),
            public_comment: find("public_comment"),
        })
    }
}

fn import_mastodon(text: &str, default_category: Category, out: &mut Collector) -> Result<(), FormatError> {
    let mut reader = CsvReader::new(text);
    let mut columns = None;
    while let Some(record) = reader.next_record()? {
        if record.raw.trim().is_empty() {
            continue;
        }
        let cols = match columns {
            Some(cols) => cols,
            None => {
                let header = MastodonColumns::from_header(&record.fields);
                columns = Some(header.unwrap_or(MastodonColumns::POSITIONAL));
                if header.is_some() {
                    continue;
                }
                MastodonColumns::POSITIONAL
            }
        };
        out.push(record.line, record.raw, mastodon_row(&record.fields, cols, default_category))?;
    }
    Ok(())
}

fn mastodon_row(fields: &[String], cols: MastodonColumns, default_category: Category) -> Result<Imported, String> {
    let raw = |i: Option<usize>| i.and_then(|i| fields.get(i)).map(String::as_str).unwrap_or("");
    let column = |i: Option<usize>| raw(i).trim();
    let domain = column(Some(cols.domain));
    if domain.is_empty() {
        return Err("empty domain".to_owned());
    }
    if MastodonColumns::column_name(domain) == "domain" {
        return Err("repeated header row".to_owned());
    }
    if domain.contains('*') {
        return Err("obfuscated domain (contains `*`): the full name is not known".to_owned());
    }
    let id: NodeId = domain.parse().map_err(|e| not_a_node_why(domain, e))?;
    let action = match column(cols.severity).to_ascii_lowercase().as_str() {
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
    Ok(Imported { target: Target::Node { id }, category: default_category, action, reason })
}

/// A CSV field, quoted when it must be.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) || text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn export_mastodon(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut out = format!("{MASTODON_HEADER}\n");
    for (target, _category, action, reason) in entries {
        let Target::Node { id } = target else { continue };
        let severity = match action {
            Action::Reject => "suspend",
            Action::Quarantine => "silence",
        };
        let comment = reason.as_ref().map(|r| csv_field(r.as_str())).unwrap_or_default();
        out.push_str(&format!("{id},{severity},false,false,{comment},false\n"));
    }
    out
}

// ---------------------------------------------------------------------------
// matrix-policy

/// The kind of entity a Matrix policy rule is about.
#[derive(Clone, Copy)]
enum RuleKind {
    User,
    Server,
    Room,
}

impl RuleKind {
    fn from_type(t: &str) -> Option<RuleKind> {
        let suffix = t
            .strip_prefix("m.policy.rule.")
            .or_else(|| t.strip_prefix("m.room.rule."))
            .or_else(|| t.strip_prefix("org.matrix.mjolnir.rule."))?;
        match suffix {
            "user" => Some(RuleKind::User),
            "server" => Some(RuleKind::Server),
            "room" => Some(RuleKind::Room),
            _ => None,
        }
    }

    fn event_type(self) -> &'static str {
        match self {
            RuleKind::User => "m.policy.rule.user",
            RuleKind::Server => "m.policy.rule.server",
            RuleKind::Room => "m.policy.rule.room",
        }
    }
}

/// Yields the elements of a top-level JSON array as text slices with the
/// line each starts on, without building the whole document in memory.
/// Nesting is counted, not recursed into; each element is then parsed
/// on its own (with serde_json's depth limit).
struct JsonArray<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    started: bool,
    done: bool,
}

fn bad_json(line: usize, what: impl fmt::Display) -> FormatError {
    FormatError::BadJson(format!("line {line}: {what}"))
}

impl<'a> JsonArray<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0, line: 1, started: false, done: false }
    }

    fn skip_whitespace(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(&c) = bytes.get(self.pos) {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    /// After the closing `]`: only whitespace may follow.
    fn finish(&mut self) -> Result<(), FormatError> {
        self.done = true;
        self.skip_whitespace();
        if self.pos < self.text.len() {
            return Err(bad_json(self.line, "text after the array"));
        }
        Ok(())
    }

    fn next_element(&mut self) -> Result<Option<(usize, &'a str)>, FormatError> {
        let bytes = self.text.as_bytes();
        if self.done {
            return Ok(None);
        }
        if !self.started {
            self.started = true;
            self.skip_whitespace();
            if bytes.get(self.pos) != Some(&b'[') {
                return Err(bad_json(self.line, "expected a JSON array of policy rule events"));
            }
            self.pos += 1;
            self.skip_whitespace();
            if bytes.get(self.pos) == Some(&b']') {
                self.pos += 1;
                self.finish()?;
                return Ok(None);
            }
        }
        self.skip_whitespace();
        let start = self.pos;
        let start_line = self.line;
        let mut depth = 0usize;
        let mut in_string = false;
        let end_byte = loop {
            let Some(&c) = bytes.get(self.pos) else {
                return Err(bad_json(start_line, "the array is never closed"));
            };
            if in_string {
                match c {
                    b'\\' => self.pos += 1,
                    b'"' => in_string = false,
                    b'\n' => self.line += 1,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' | b'}' if depth == 0 => break c,
                    b'\n' => self.line += 1,
                    _ => {}
                }
            }
            self.pos += 1;
        };
        // `start` follows ASCII whitespace or `[`/`,`, and `pos` is at an
        // ASCII byte, so both are character boundaries.
        let element = &self.text[start..self.pos];
        self.pos += 1;
        match end_byte {
            b',' => {}
            b']' => self.finish()?,
            _ => return Err(bad_json(self.line, "expected `,` or `]`")),
        }
        Ok(Some((start_line, element)))
    }
}

fn import_matrix(text: &str, default_category: Category, out: &mut Collector) -> Result<(), FormatError> {
    let mut array = JsonArray::new(text);
    while let Some((line, element)) = array.next_element()? {
        let value: Value = serde_json::from_str(element)
            .map_err(|e| bad_json(line, format_args!("in the array element starting here: {e}")))?;
        let row = matrix_row(&value, default_category);
        // A skipped element is shown re-encoded on one line.
        let text = if row.is_err() { serde_json::to_string(&value).unwrap_or_default() } else { String::new() };
        out.push(line, &text, row)?;
    }
    Ok(())
}

fn matrix_row(value: &Value, default_category: Category) -> Result<Imported, String> {
    let Value::Object(event) = value else {
        return Err("not a JSON object".to_owned());
    };
    let Some(event_type) = event.get("type").and_then(Value::as_str) else {
        return Err("no `type` string".to_owned());
    };
    let Some(kind) = RuleKind::from_type(event_type) else {
        return Err(format!("not a policy rule (type `{}`)", clip(event_type, MAX_QUOTED)));
    };
    let Some(content) = event.get("content").and_then(Value::as_object) else {
        return Err("no `content` object".to_owned());
    };
    if content.is_empty() {
        return Err("empty content: the rule was removed".to_owned());
    }
    let Some(entity) = content.get("entity").and_then(Value::as_str) else {
        if content.contains_key("hashes") {
            return Err(MATRIX_HASHES_WHY.to_owned());
        }
        return Err("no `entity` string".to_owned());
    };
    let action = match content.get("recommendation").and_then(Value::as_str) {
        Some("m.ban" | "org.matrix.mjolnir.ban") => Action::Reject,
        Some(QUARANTINE_RECOMMENDATION) => Action::Quarantine,
        Some(other) => {
            return Err(format!(
                "recommendation `{}` has no Accord equivalent (m.ban or {QUARANTINE_RECOMMENDATION})",
                clip(other, MAX_QUOTED)
            ));
        }
        None => return Err("no `recommendation` string".to_owned()),
    };
    let target = matrix_target(kind, entity)?;
    let reason = content.get("reason").and_then(Value::as_str).and_then(to_reason);
    let category = matrix_category(content).unwrap_or(default_category);
    Ok(Imported { target, category, action, reason })
}

fn matrix_category(content: &Map<String, Value>) -> Option<Category> {
    content.get(MATRIX_CATEGORY_KEY).and_then(Value::as_str).and_then(|c| c.parse().ok())
}

fn matrix_target(kind: RuleKind, entity: &str) -> Result<Target, String> {
    let quoted = clip(entity, MAX_QUOTED);
    if entity.contains(['*', '?']) {
        return Err(format!("glob `{quoted}` matches many entities; an Accord entry names one exact target"));
    }
    match kind {
        RuleKind::User => match entity.parse::<AccountId>() {
            Ok(id) => Ok(Target::Account { id }),
            Err(_) if entity.starts_with('@') => {
                Err(format!("`{quoted}` is a Matrix user id; Accord accounts are named by key (acct1…)"))
            }
            Err(e) => Err(format!("not an Accord account id: {e}")),
        },
        RuleKind::Server => match entity.parse::<NodeId>() {
            Ok(id) => Ok(Target::Node { id }),
            Err(e) => Err(not_a_node_why(entity, e)),
        },
        RuleKind::Room => match entity.parse::<RoomId>() {
            Ok(id) => Ok(Target::Room { id }),
            Err(_) if entity.starts_with('!') => {
                Err(format!("`{quoted}` is a Matrix room id; Accord rooms are named by room1… ids"))
            }
            Err(_) if entity.starts_with('#') => {
                Err(format!("`{quoted}` is a Matrix room alias; Accord rooms are named by room1… ids"))
            }
            Err(e) => Err(format!("not an Accord room id: {e}")),
        },
    }
}

#[derive(Serialize)]
struct RuleOut<'a> {
    #[serde(rename = "type")]
    event_type: &'static str,
    content: RuleContentOut<'a>,
}

#[derive(Serialize)]
struct RuleContentOut<'a> {
    entity: String,
    reason: &'a str,
    recommendation: &'static str,
    #[serde(rename = "org.accord.category")]
    category: &'static str,
}

fn export_matrix(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut rules = Vec::new();
    for (target, category, action, reason) in entries {
        let (kind, entity) = match target {
            Target::Account { id } => (RuleKind::User, id.to_string()),
            Target::Node { id } => (RuleKind::Server, id.to_string()),
            Target::Room { id } => (RuleKind::Room, id.to_string()),
            Target::Content { .. } | Target::Hashed { .. } => continue,
        };
        let recommendation = match action {
            Action::Reject => "m.ban",
            Action::Quarantine => QUARANTINE_RECOMMENDATION,
        };
        let rule = RuleOut {
            event_type: kind.event_type(),
            content: RuleContentOut {
                entity,
                reason: reason.as_ref().map(Reason::as_str).unwrap_or(""),
                recommendation,
                category: category.as_str(),
            },
        };
        // Serialising strings into JSON cannot fail.
        if let Ok(json) = serde_json::to_string(&rule) {
            rules.push(json);
        }
    }
    if rules.is_empty() { "[]\n".to_owned() } else { format!("[\n  {}\n]\n", rules.join(",\n  ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    fn node(n: u8) -> NodeId {
        NodeId::from(SecretKey::from_seed([n; 32]).public())
    }
    fn account(n: u8) -> AccountId {
        SecretKey::from_seed([n; 32]).account_id()
    }
    fn room(n: u8) -> RoomId {
        RoomId::from_bytes([n; 32])
    }
    fn reason(s: &str) -> Option<Reason> {
        Some(Reason::new(s).unwrap())
    }
    fn whys(import: &Import) -> Vec<(usize, &str)> {
        import.skipped.iter().map(|s| (s.line, s.why.as_str())).collect()
    }

    // ---- plain

    #[test]
    fn plain_imports_a_sample() {
        let content = ContentHash::of(b"buy pills here");
        let hashed = Target::Account { id: account(5) }.to_hashed();
        let Target::Hashed { hash, .. } = &hashed else { unreachable!() };
        let text = format!(
            "\u{feff}# abuse list, exported 2025-11-24\r\n\
             \r\n\
             {acct}\r\n\
             {node}   spam\n\
             \t{room} grooming quarantine\n\
             {content_upper}\n\
             hashed:account:{hash}   child_sexual_abuse\n\
             \n\
             # a comment\n\
             {acct} bogus\n\
             example.org\n\
             12D3KooWtypo\n\
             acct1qqqq\n\
             {node} spam reject extra\n\
             {node} spam block\n\
             hashed:person:{hash}\n\
             hashed:account:abcd\n",
            acct = account(1),
            node = node(2),
            room = room(3),
            content_upper = content.to_string().to_uppercase(),
        );
        let got = import(Format::Plain, &text, Category::Other).unwrap();
        assert_eq!(
            got.entries,
            vec![
                Imported {
                    target: Target::Account { id: account(1) },
                    category: Category::Other,
                    action: Action::Reject,
                    reason: None
                },
                Imported {
                    target: Target::Node { id: node(2) },
                    category: Category::Spam,
                    action: Action::Reject,
                    reason: None
                },
                Imported {
                    target: Target::Room { id: room(3) },
                    category: Category::Grooming,
                    action: Action::Quarantine,
                    reason: None
                },
                Imported {
                    target: Target::Content { id: content },
                    category: Category::Other,
                    action: Action::Reject,
                    reason: None
                },
                Imported { target: hashed, category: Category::ChildSexualAbuse, action: Action::Reject, reason: None },
            ]
        );
        let skipped: Vec<usize> = got.skipped.iter().map(|s| s.line).collect();
        assert_eq!(skipped, vec![10, 11, 12, 13, 14, 15, 16, 17]);
        assert!(got.skipped[0].why.starts_with("unknown category `bogus`"), "{:?}", got.skipped[0]);
        assert!(got.skipped[0].why.contains("child_sexual_abuse"));
        assert_eq!(got.skipped[0].text, format!("{} bogus", account(1)));
        assert!(got.skipped[1].why.contains("is not a target"), "{:?}", got.skipped[1]);
        assert!(got.skipped[2].why.contains("node"), "{:?}", got.skipped[2]);
        assert!(got.skipped[3].why.contains("account"), "{:?}", got.skipped[3]);
        assert!(got.skipped[4].why.starts_with("unexpected field `extra`"), "{:?}", got.skipped[4]);
        assert!(got.skipped[5].why.starts_with("unknown action `block`"), "{:?}", got.skipped[5]);
        assert!(got.skipped[6].why.starts_with("unknown target kind `person`"), "{:?}", got.skipped[6]);
        assert!(got.skipped[7].why.contains("64 hex digits"), "{:?}", got.skipped[7]);
    }

    fn all_targets() -> Vec<Target> {
        let plain = vec![
            Target::Account { id: account(1) },
            Target::Node { id: node(2) },
            Target::Room { id: room(3) },
            Target::Content { id: ContentHash::of(b"spam spam spam") },
        ];
        let hashed: Vec<Target> = plain.iter().map(Target::to_hashed).collect();
        plain.into_iter().chain(hashed).collect()
    }

    #[test]
    fn plain_round_trips_every_target_kind() {
        let entries: Vec<(Target, Category, Action, Option<Reason>)> = all_targets()
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let action = if i % 3 == 0 { Action::Quarantine } else { Action::Reject };
                (t, Category::ALL[i % Category::ALL.len()], action, None)
            })
            .collect();
        let text = export(Format::Plain, &entries);
        assert_eq!(text.lines().count(), entries.len());
        assert!(text.lines().next().unwrap().ends_with(" child_sexual_abuse quarantine"));
        let got = import(Format::Plain, &text, Category::Other).unwrap();
        assert!(got.skipped.is_empty(), "{:?}", got.skipped);
        let back: Vec<_> = got.entries.into_iter().map(|e| (e.target, e.category, e.action, e.reason)).collect();
        assert_eq!(back, entries);
        // Reasons are not carried by plain lists.
        let with_reason = vec![(Target::Node { id: node(2) }, Category::Spam, Action::Reject, reason("flood"))];
        let got = import(Format::Plain, &export(Format::Plain, &with_reason), Category::Other).unwrap();
        assert_eq!(got.entries[0].reason, None);
    }

    // ---- mastodon-csv

    #[test]
    fn mastodon_imports_an_export_with_header() {
        let (n1, n2, n3, n4) = (node(1), node(2), node(3), node(4));
        let lowered = n4.to_string().to_lowercase();
        let text = format!(
            "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
             spam.example,suspend,true,true,Spam,false\n\
             {n1},suspend,false,false,\"Harassment, doxxing and \"\"raids\"\"\",false\n\
             {n2},silence,false,false,,false\n\
             mastodon.example,silence,false,false,,true\n\
             {n3},noop,true,false,media only,false\n\
             bad*.example,suspend,false,false,,true\n\
             {lowered},suspend,false,false,,false\n\
             \n\
             {n4},SUSPEND,false,false,\"multi\n\
             line, comment\",false\n\
             {n4},nuke,false,false,,false\n\
             ,suspend,false,false,,false\n"
        );
        let got = import(Format::MastodonCsv, &text, Category::Harassment).unwrap();
        assert_eq!(
            got.entries,
            vec![
                Imported {
                    target: Target::Node { id: n1 },
                    category: Category::Harassment,
                    action: Action::Reject,
                    reason: reason("Harassment, doxxing and \"raids\"")
                },
                Imported {
                    target: Target::Node { id: n2 },
                    category: Category::Harassment,
                    action: Action::Quarantine,
                    reason: None
                },
                Imported {
                    target: Target::Node { id: n4 },
                    category: Category::Harassment,
                    action: Action::Reject,
                    reason: reason("multi\nline, comment")
                },
            ]
        );
        let w = whys(&got);
        assert_eq!(w.len(), 7, "{w:?}");
        assert_eq!(w[0], (2, DNS_DOMAIN_WHY));
        assert_eq!(got.skipped[0].text, "spam.example,suspend,true,true,Spam,false");
        assert_eq!(w[1], (5, DNS_DOMAIN_WHY));
        assert_eq!(w[2].0, 6);
        assert!(w[2].1.starts_with("severity noop"));
        assert_eq!(w[3].0, 7);
        assert!(w[3].1.starts_with("obfuscated domain"));
        assert_eq!(w[4].0, 8);
        assert!(w[4].1.contains("lowercased"));
        // The multi-line record starts at line 10 and ends at 11.
        assert_eq!(w[5].0, 12);
        assert!(w[5].1.starts_with("unknown severity `nuke`"));
        assert_eq!(w[6], (13, "empty domain"));
    }

    #[test]
    fn mastodon_imports_without_header_and_with_the_old_header() {
        let (n1, n2) = (node(1), node(2));
        // Positional, Mastodon's column order, CRLF line endings.
        let positional = format!(
            "{n1},suspend,false,false,\"spam, lots\",false\r\n\
             evil.example,suspend,false,false,,false\r\n\
             {n2},silence\r\n"
        );
        let got = import(Format::MastodonCsv, &positional, Category::Spam).unwrap();
        assert_eq!(got.entries.len(), 2);
        assert_eq!(got.entries[0].reason, reason("spam, lots"));
        assert_eq!(got.entries[1].action, Action::Quarantine);
        assert_eq!(whys(&got), vec![(2, DNS_DOMAIN_WHY)]);

        // The header without `#`, columns in another order, an unknown one.
        let old = format!(
            "domain,severity,reject_media,reject_reports,public_comment,obfuscate\n\
             {n1},silence,false,false,public,false\n\
             domain,severity,public_comment\n"
        );
        let got = import(Format::MastodonCsv, &old, Category::Spam).unwrap();
        assert_eq!(got.entries.len(), 1);
        assert_eq!(got.entries[0].target, Target::Node { id: n1 });
        assert_eq!(got.entries[0].action, Action::Quarantine);
        assert_eq!(got.entries[0].reason, reason("public"));
        assert_eq!(whys(&got), vec![(3, "repeated header row")]);
        let reordered = format!(
            "#severity,#domain,#public_comment,#private_comment\n\
             silence,{n2},public,private\n"
        );
        let got = import(Format::MastodonCsv, &reordered, Category::Spam).unwrap();
        let entry = (&got.entries[0].target, got.entries[0].action, got.entries[0].reason.clone());
        assert_eq!(entry, (&Target::Node { id: n2 }, Action::Quarantine, reason("public")));
        // A comment that happens to read "domain" does not make a header.
        let data = format!("{n1},suspend,false,false,Domain,false\n");
        let got = import(Format::MastodonCsv, &data, Category::Spam).unwrap();
        assert_eq!(got.entries[0].reason, reason("Domain"));

        // A bare list of domains (Mastodon's per-user export): suspend.
        let bare = format!("{n1}\nblocked.example\n \"{n2}\" \n");
        let got = import(Format::MastodonCsv, &bare, Category::Spam).unwrap();
        let targets: Vec<_> = got.entries.iter().map(|e| (&e.target, e.action)).collect();
        assert_eq!(
            targets,
            vec![(&Target::Node { id: n1 }, Action::Reject), (&Target::Node { id: n2 }, Action::Reject)]
        );
        assert_eq!(whys(&got), vec![(2, DNS_DOMAIN_WHY)]);
    }

    #[test]
    fn mastodon_unclosed_quote_is_an_error() {
        let text = format!("{MASTODON_HEADER}\n{},suspend,false,false,\"never closed,false\n", node(1));
        let err = import(Format::MastodonCsv, &text, Category::Spam).unwrap_err();
        assert_eq!(err.code(), "bad_csv");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn mastodon_round_trips_node_targets() {
        let entries = vec![
            (Target::Node { id: node(1) }, Category::Spam, Action::Reject, reason("spam, \"lots\"\nof it")),
            (Target::Account { id: account(2) }, Category::Spam, Action::Reject, None),
            (Target::Node { id: node(3) }, Category::Spam, Action::Quarantine, None),
            (Target::Node { id: node(4) }.to_hashed(), Category::Spam, Action::Reject, None),
            (Target::Node { id: node(5) }, Category::Spam, Action::Reject, reason(" padded ")),
            (Target::Room { id: room(6) }, Category::Spam, Action::Reject, None),
        ];
        let text = export(Format::MastodonCsv, &entries);
        assert!(text.starts_with(&format!("{MASTODON_HEADER}\n{},suspend,false,false,\"spam, ", node(1))));
        let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
        assert!(got.skipped.is_empty(), "{:?}", got.skipped);
        let back: Vec<_> = got.entries.into_iter().map(|e| (e.target, e.category, e.action, e.reason)).collect();
        let nodes: Vec<_> = entries.into_iter().filter(|(t, ..)| matches!(t, Target::Node { .. })).collect();
        assert_eq!(back, nodes);
    }

    #[test]
    fn long_reasons_are_cut_to_the_limit() {
        let comment = "é".repeat(2000);
        let text = format!("{},suspend,false,false,{comment},false\n", node(1));
        let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
        let r = got.entries[0].reason.as_ref().unwrap().as_str();
        assert!(r.len() <= MAX_REASON && r.len() > MAX_REASON - 8, "{}", r.len());
        assert!(r.ends_with('…'));
        // Control characters become spaces; blank comments are absent.
        let text = format!("{n},suspend,,,\"a\u{7}b\r\nc\",\n{n},suspend,,,\"  \",\n", n = node(1));
        let got = import(Format::MastodonCsv, &text, Category::Spam).unwrap();
        assert_eq!(got.entries[0].reason, reason("a b\nc"));
        assert_eq!(got.entries[1].reason, None);
    }

    // ---- matrix-policy

    #[test]
    fn matrix_imports_policy_rules() {
        let (a, n, r) = (account(1), node(2), room(3));
        let text = format!(
            r##"[
  {{
    "type": "m.policy.rule.user",
    "state_key": "rule:{a}",
    "sender": "@mod:example.org",
    "event_id": "$abc",
    "origin_server_ts": 1764000000000,
    "room_id": "!policies:example.org",
    "content": {{"entity": "{a}", "reason": "spam bot", "recommendation": "m.ban"}}
  }},
  {{"type": "m.policy.rule.server", "content": {{"entity": "{n}", "reason": "", "recommendation": "m.ban", "org.accord.category": "drugs"}}}},
  {{"type": "m.room.rule.room", "content": {{"entity": "{r}", "reason": "grooming ring", "recommendation": "org.accord.quarantine"}}}},
  {{"type": "m.policy.rule.user", "content": {{"entity": "@*:evil.example", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.user", "content": {{"entity": "@spammer:example.org", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.server", "content": {{"entity": "evil.example", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.server", "content": {{"entity": "*.evil.example", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.room", "content": {{"entity": "!abc:example.org", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.room", "content": {{"entity": "#lobby:example.org", "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.user", "content": {{"hashes": {{"sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}}, "reason": "", "recommendation": "m.ban"}}}},
  {{"type": "m.policy.rule.user", "content": {{"entity": "{a}", "reason": "", "recommendation": "org.matrix.msc4204.takedown"}}}},
  {{"type": "m.policy.rule.user", "content": {{}}}},
  {{"type": "m.room.member", "content": {{"membership": "join"}}}},
  {{"type": "org.matrix.mjolnir.rule.server", "content": {{"entity": "{n}", "reason": "old", "recommendation": "org.matrix.mjolnir.ban", "org.accord.category": "nonsense"}}}},
  {{"type": "m.policy.rule.server", "content": {{"entity": "{a}", "reason": "", "recommendation": "m.ban"}}}},
  "a string",
  {{"content": {{}}}}
]"##
        );
        let got = import(Format::MatrixPolicy, &text, Category::Spam).unwrap();
        assert_eq!(
            got.entries,
            vec![
                Imported {
                    target: Target::Account { id: a },
                    category: Category::Spam,
                    action: Action::Reject,
                    reason: reason("spam bot")
                },
                Imported {
                    target: Target::Node { id: n },
                    category: Category::Drugs,
                    action: Action::Reject,
                    reason: None
                },
                Imported {
                    target: Target::Room { id: r },
                    category: Category::Spam,
                    action: Action::Quarantine,
                    reason: reason("grooming ring")
                },
                Imported {
                    target: Target::Node { id: n },
                    category: Category::Spam,
                    action: Action::Reject,
                    reason: reason("old")
                },
            ]
        );
        let w = whys(&got);
        let lines: Vec<usize> = w.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, (13..=22).chain([24, 25, 26]).collect::<Vec<_>>());
        assert!(w[0].1.starts_with("glob `@*:evil.example`"), "{w:?}");
        assert!(w[1].1.contains("is a Matrix user id"));
        assert_eq!(w[2].1, DNS_DOMAIN_WHY);
        assert!(w[3].1.starts_with("glob"));
        assert!(w[4].1.contains("Matrix room id"));
        assert!(w[5].1.contains("Matrix room alias"));
        assert_eq!(w[6].1, MATRIX_HASHES_WHY);
        assert!(w[7].1.starts_with("recommendation `org.matrix.msc4204.takedown`"));
        assert!(w[8].1.contains("removed"));
        assert!(w[9].1.starts_with("not a policy rule (type `m.room.member`)"));
        assert!(w[10].1.starts_with("not an Accord node id"), "{w:?}");
        assert_eq!(w[11].1, "not a JSON object");
        assert_eq!(w[12].1, "no `type` string");
        assert_eq!(got.skipped[11].text, "\"a string\"");
        assert!(!got.skipped[0].text.contains('\n'));
    }

    #[test]
    fn matrix_unreadable_documents_are_errors() {
        for (text, needle) in [
            ("", "expected a JSON array"),
            ("{\"type\": \"m.policy.rule.user\"}", "expected a JSON array"),
            ("[{\"a\": 1}", "never closed"),
            ("[{\"a\": 1},]", "line 1"),
            ("[\n{\"a\": 1},\n{\"a\": tru}\n]", "line 3"),
            ("[{\"a\": 1}] x", "text after the array"),
            ("[1}", "expected `,` or `]`"),
            ("[\"\\\"]", "never closed"),
        ] {
            let err = import(Format::MatrixPolicy, text, Category::Spam).unwrap_err();
            assert_eq!(err.code(), "bad_json", "{text}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
        let empty = import(Format::MatrixPolicy, " [ ] \n", Category::Spam).unwrap();
        assert_eq!(empty, Import::default());
        // Deep nesting is refused by serde_json's depth limit, not a crash.
        let deep = format!("[{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(import(Format::MatrixPolicy, &deep, Category::Spam).unwrap_err().code(), "bad_json");
    }

    #[test]
    fn matrix_round_trips_accounts_nodes_and_rooms() {
        let entries = vec![
            (Target::Account { id: account(1) }, Category::Grooming, Action::Reject, reason("groomer \"quoted\"")),
            (Target::Node { id: node(2) }, Category::Spam, Action::Quarantine, None),
            (Target::Room { id: room(3) }, Category::Drugs, Action::Reject, reason("market\nroom")),
            (Target::Content { id: ContentHash::of(b"x") }, Category::Spam, Action::Reject, None),
            (Target::Account { id: account(4) }.to_hashed(), Category::Spam, Action::Reject, None),
        ];
        let text = export(Format::MatrixPolicy, &entries);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 3);
        assert_eq!(parsed[0]["type"], "m.policy.rule.user");
        assert_eq!(parsed[0]["content"]["recommendation"], "m.ban");
        assert_eq!(parsed[1]["type"], "m.policy.rule.server");
        assert_eq!(parsed[1]["content"]["reason"], "");
        assert_eq!(parsed[1]["content"]["recommendation"], QUARANTINE_RECOMMENDATION);
        assert_eq!(parsed[2]["type"], "m.policy.rule.room");
        let got = import(Format::MatrixPolicy, &text, Category::Other).unwrap();
        assert!(got.skipped.is_empty(), "{:?}", got.skipped);
        let back: Vec<_> = got.entries.into_iter().map(|e| (e.target, e.category, e.action, e.reason)).collect();
        assert_eq!(back, entries[..3].to_vec());
        assert_eq!(export(Format::MatrixPolicy, &[]), "[]\n");
    }

    // ---- shared

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
        }
        assert_eq!("csv".parse::<Format>().unwrap_err().code(), "unknown_format");
    }

    #[test]
    fn limits_are_enforced() {
        let err = import_limited(Format::Plain, "0123456789", Category::Spam, 9, 10).unwrap_err();
        assert_eq!(err, FormatError::TooLarge { len: 10, max: 9 });
        assert_eq!(err.code(), "too_large");
        let lines = format!("{}\n", node(1)).repeat(4);
        // Comments and blank lines are not rows.
        let padded = format!("# c\n\n{lines}");
        assert_eq!(import_limited(Format::Plain, &padded, Category::Spam, 1000, 4).unwrap().entries.len(), 4);
        let err = import_limited(Format::Plain, &lines, Category::Spam, 1000, 3).unwrap_err();
        assert_eq!(err.code(), "too_many_rows");
        let rows = format!("{},suspend\n", node(1)).repeat(4);
        let csv = format!("{MASTODON_HEADER}\n{rows}");
        assert_eq!(
            import_limited(Format::MastodonCsv, &csv, Category::Spam, 1000, 3).unwrap_err().code(),
            "too_many_rows"
        );
        assert_eq!(
            import_limited(Format::MatrixPolicy, "[1,2,3,4]", Category::Spam, 1000, 3).unwrap_err().code(),
            "too_many_rows"
        );
        let big = " ".repeat(MAX_IMPORT_BYTES + 1);
        for f in Format::ALL {
            assert_eq!(import(f, &big, Category::Spam).unwrap_err().code(), "too_large");
        }
    }

    /// xorshift64*: a small deterministic generator for the fuzz test.
    struct XorShift(u64);
    impl XorShift {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }

    #[test]
    fn random_input_never_panics() {
        let samples = [
            export(
                Format::Plain,
                &all_targets().into_iter().map(|t| (t, Category::Spam, Action::Quarantine, None)).collect::<Vec<_>>(),
            ),
            export(
                Format::MastodonCsv,
                &[(Target::Node { id: node(1) }, Category::Spam, Action::Reject, reason("a, \"b\"\nc"))],
            ),
            export(
                Format::MatrixPolicy,
                &all_targets()
                    .into_iter()
                    .map(|t| (t, Category::Spam, Action::Reject, reason("r\"é")))
                    .collect::<Vec<_>>(),
            ),
        ];
        let alphabet: &[u8] = b"[]{},:\"\\\n\r\t #*?.@!1aAz09e-\xc3\xa9\xe2\x80\xa6\xff\x00";
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut imported = 0usize;
        for round in 0..4000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                // Random bytes, half of them from the syntax alphabet.
                let len = rng.below(300);
                (0..len)
                    .map(|_| if rng.below(2) == 0 { alphabet[rng.below(alphabet.len())] } else { rng.next_u64() as u8 })
                    .collect()
            } else {
                // A valid document with a few bytes changed, inserted or cut.
                let mut b = samples[rng.below(samples.len())].clone().into_bytes();
                for _ in 0..1 + rng.below(6) {
                    let at = rng.below(b.len() + 1);
                    match rng.below(3) {
                        0 if at < b.len() => b[at] = alphabet[rng.below(alphabet.len())],
                        1 => b.insert(at, alphabet[rng.below(alphabet.len())]),
                        _ => b.truncate(at),
                    }
                }
                b
            };
            let text = String::from_utf8_lossy(&bytes);
            for format in Format::ALL {
                if let Ok(got) = import(format, &text, Category::Other) {
                    imported += got.entries.len();
                    for s in &got.skipped {
                        assert!(s.line >= 1 && s.text.len() <= MAX_SKIPPED_TEXT + 3);
                    }
                }
            }
        }
        // The mutated documents reach the row mappers, not only the readers.
        assert!(imported > 1000, "{imported}");
    }
}
