//! `plain` ([`Format::Plain`](crate::Format::Plain)): one entry per line.
//!
//! `TARGET [CATEGORY [ACTION]]`, fields separated by whitespace. Blank lines
//! and lines whose first non-blank character is `#` are ignored; a trailing
//! `CR` is ignored.
//!
//! | `TARGET` | target |
//! |---|---|
//! | `acct1…` | account |
//! | `12D3KooW…` (libp2p PeerId text) | node |
//! | `room1…` | room |
//! | 64 hex digits (either case) | content |
//! | `pdq:HEX` (64 hex digits, either case) | PDQ hash of an image |
//! | `domain:NAME` (`example.org` or `*.example.org`, lowercase) | nodes by verified name |
//! | `hashed:KIND:HEX` (`KIND` = `account`, `node`, `room`, `content`, `domain`; 64 hex digits, either case) | hashed target |
//!
//! `CATEGORY` is a category wire name (spec §1.2); absent, the caller's
//! default category applies. `ACTION` is `reject` (the default) or
//! `quarantine`. Reasons are not carried. Export writes `TARGET CATEGORY`
//! for a reject entry and `TARGET CATEGORY quarantine` for a quarantine
//! entry, hex in lowercase, so export → import gives back every entry
//! except its reason.

use crate::imported::Rows;
use crate::text::{MAX_QUOTED, clip, is_hex64, parse_category};
use crate::{FormatError, Imported};
use accord_proto::blocklist::{Action, Category, Target, TargetKind};
use accord_proto::text::Reason;
use accord_proto::{AccountId, ContentHash, NodeId, ParseIdError, PdqHash, RoomId, Sha256Hash};

/// Reads the lines of `text` into `rows`.
pub(crate) fn import(text: &str, default_category: Category, rows: &mut Rows) -> Result<(), FormatError> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        rows.push(i + 1, line, row(trimmed, default_category))?;
    }
    Ok(())
}

/// Writes one line per entry.
pub(crate) fn export(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut out = String::new();
    for (target, category, action, _reason) in entries {
        out.push_str(&target_text(target));
        out.push(' ');
        out.push_str(category.as_str());
        if *action == Action::Quarantine {
            out.push_str(" quarantine");
        }
        out.push('\n');
    }
    out
}

fn row(line: &str, default_category: Category) -> Result<Imported, String> {
    let mut fields = line.split_whitespace();
    let target = parse_target(fields.next().unwrap_or_default())?;
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
    [TargetKind::Account, TargetKind::Node, TargetKind::Room, TargetKind::Content, TargetKind::Domain]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            format!("unknown target kind `{}` (account, node, room, content or domain)", clip(s, MAX_QUOTED))
        })
}

fn parse_target(s: &str) -> Result<Target, String> {
    if let Some(rest) = s.strip_prefix("hashed:") {
        let (kind, hex) = rest.split_once(':').ok_or("a hashed target is hashed:KIND:HEX")?;
        let kind = parse_target_kind(kind)?;
        if !is_hex64(hex) {
            return Err("the hash of a hashed target must be 64 hex digits".to_owned());
        }
        let hash = Sha256Hash::parse_hex(hex).map_err(|e| e.to_string())?;
        return Ok(Target::Hashed { kind, hash });
    }
    if let Some(hex) = s.strip_prefix("pdq:") {
        if !is_hex64(hex) {
            return Err("a pdq target is pdq:HEX with 64 hex digits".to_owned());
        }
        let hash = PdqHash::parse_hex(hex).map_err(|e| e.to_string())?;
        return Ok(Target::Pdq { hash });
    }
    if let Some(name) = s.strip_prefix("domain:") {
        return name.parse().map(|name| Target::Domain { name }).map_err(|e| format!("a domain target: {e}"));
    }
    if is_hex64(s) {
        let hash = Sha256Hash::parse_hex(s).map_err(|e| e.to_string())?;
        return Ok(Target::Content { id: ContentHash(hash) });
    }
    if s.strip_prefix(AccountId::PREFIX).is_some_and(|rest| rest.starts_with('1')) {
        return s.parse().map(|id| Target::Account { id }).map_err(|e: ParseIdError| e.to_string());
    }
    if s.strip_prefix(RoomId::PREFIX).is_some_and(|rest| rest.starts_with('1')) {
        return s.parse().map(|id| Target::Room { id }).map_err(|e: ParseIdError| e.to_string());
    }
    match s.parse::<NodeId>() {
        Ok(id) => Ok(Target::Node { id }),
        Err(e) if s.starts_with("12D3KooW") => Err(e.to_string()),
        Err(_) => Err(format!(
            "`{}` is not a target: expected an account id (acct1…), node id (12D3KooW…), room id (room1…), \
             64 hex digits (content), pdq:HEX, domain:NAME or hashed:KIND:HEX",
            clip(s, MAX_QUOTED)
        )),
    }
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Account { id } => id.to_string(),
        Target::Node { id } => id.to_string(),
        Target::Room { id } => id.to_string(),
        Target::Content { id } => id.to_string(),
        Target::Pdq { hash } => format!("pdq:{hash}"),
        Target::Domain { name } => format!("domain:{name}"),
        Target::Hashed { kind, hash } => format!("hashed:{}:{hash}", kind.as_str()),
    }
}
