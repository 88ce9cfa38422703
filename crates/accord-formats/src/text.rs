//! Text helpers the formats share: quoting input in messages, reasons,
//! categories, why a name is not a node, and line numbers.

use accord_proto::blocklist::Category;
use accord_proto::limits::MAX_REASON;
use accord_proto::text::Reason;
use std::fmt;

/// Why a Mastodon row or Matrix server rule naming a DNS name is skipped.
pub const DNS_DOMAIN_WHY: &str = "DNS domains have no Accord node id; block the node by id";

/// Longest piece of input quoted in a skipped row's why, in bytes.
pub(crate) const MAX_QUOTED: usize = 80;

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
pub(crate) fn clip(s: &str, max: usize) -> String {
    let cut = floor_boundary(s, max);
    if cut.len() == s.len() { s.to_owned() } else { format!("{cut}…") }
}

/// A reason from free text: `CR LF` → `LF`, other control characters except
/// tab → space, cut to the limit with a trailing `…`; `None` when blank.
pub(crate) fn to_reason(text: &str) -> Option<Reason> {
    fit_reason(clean(text))
}

/// A reason from a field whose surrounding whitespace its format does not
/// keep (`pdq-hex`, `threatexchange-csv`): as [`to_reason`], then without
/// surrounding whitespace, so that a control character at an end, turned
/// into a space, does not make a reason that export cannot write back.
pub(crate) fn to_field_reason(text: &str) -> Option<Reason> {
    fit_reason(clean(text).trim().to_owned())
}

/// `CR LF` → `LF`, other control characters except tab → space.
fn clean(text: &str) -> String {
    text.replace("\r\n", "\n").chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { ' ' } else { c }).collect()
}

/// A cleaned reason, cut to the limit with a trailing `…`; `None` when
/// blank.
fn fit_reason(cleaned: String) -> Option<Reason> {
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

/// Whether `s` is 64 hex digits (either case).
pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A category wire name, or why not.
pub(crate) fn parse_category(s: &str) -> Result<Category, String> {
    s.parse().map_err(|_| {
        let names = Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
        format!("unknown category `{}` (one of {names})", clip(s, MAX_QUOTED))
    })
}

/// Why `name` (from a Mastodon domain or a Matrix server rule) is not a node.
pub(crate) fn not_a_node_why(name: &str, err: impl fmt::Display) -> String {
    if name.contains('.') || name.contains(':') {
        DNS_DOMAIN_WHY.to_owned()
    } else if name.starts_with("12d3koow") {
        "node id was lowercased (Mastodon lowercases domains); node ids are case-sensitive and it cannot be recovered"
            .to_owned()
    } else {
        format!("not an Accord node id: {err}")
    }
}

/// Line numbers (from 1) of byte offsets in a text, for offsets asked in
/// increasing order.
pub(crate) struct Lines<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    /// At the start of `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        Lines { text, offset: 0, line: 1 }
    }

    /// The line `offset` is on (offsets before the last one asked count as
    /// that one; past the end, as the end).
    pub(crate) fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset > self.offset {
            self.line += self.text.as_bytes()[self.offset..offset].iter().filter(|&&b| b == b'\n').count();
            self.offset = offset;
        }
        self.line
    }
}
