//! Text helpers the formats share: quoting input in messages, reasons,
//! categories, node and domain targets of server names, and line numbers.

use accord_proto::NodeId;
use accord_proto::blocklist::{Category, Target};
use accord_proto::limits::MAX_REASON;
use accord_proto::names::{DomainName, DomainPattern};
use accord_proto::text::Reason;

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

/// How a server name that is not a node id becomes a `domain` target.
#[derive(Clone, Copy)]
pub(crate) enum DomainRule {
    /// Mastodon: a domain block covers the domain and every name under it,
    /// so `x` becomes `*.x`; `*` marks an obfuscated name.
    Mastodon,
    /// Matrix: `x` is that name only, `*.x` every name under `x`; any other
    /// glob cannot be expressed.
    Matrix,
}

/// The target of a Mastodon domain or a Matrix server rule: a node id, or
/// a `domain` target (spec/blocklists.md §9.2, §9.3), or why neither.
pub(crate) fn server_target(name: &str, rule: DomainRule) -> Result<Target, String> {
    if let Ok(id) = name.parse::<NodeId>() {
        return Ok(Target::Node { id });
    }
    if name.starts_with("12d3koow") && !name.contains('.') {
        return Err(
            "node id was lowercased (Mastodon lowercases domains); node ids are case-sensitive and it cannot be recovered"
                .to_owned(),
        );
    }
    let quoted = clip(name, MAX_QUOTED);
    if name.contains(':') {
        return Err(format!("`{quoted}` has a port or is an address; a domain entry names a DNS name"));
    }
    // DNS names are case-insensitive; a trailing dot is the root.
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    let pattern = match rule {
        DomainRule::Mastodon => lower.parse::<DomainName>().map(DomainPattern::Wildcard),
        DomainRule::Matrix => {
            let glob = |s: &str| s.contains(['*', '?']);
            let leading_wildcard_only = lower.strip_prefix("*.").is_some_and(|rest| !glob(rest));
            if glob(lower) && !leading_wildcard_only {
                return Err(format!(
                    "glob `{quoted}`: only a leading `*.` label (every name under a domain) has an Accord equivalent"
                ));
            }
            lower.parse::<DomainPattern>()
        }
    };
    pattern.map(|name| Target::Domain { name }).map_err(|e| format!("not an Accord node id or a DNS name: {e}"))
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
