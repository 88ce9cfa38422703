//! `matrix-policy` ([`Format::MatrixPolicy`](crate::Format::MatrixPolicy)):
//! Matrix policy rules.
//!
//! A JSON array (read with `serde_json`, one element at a time) of Matrix
//! policy rule events (as in a room state dump: extra fields such as
//! `state_key`, `sender` and `event_id` are ignored) or of bare
//! `{"type": …, "content": …}` objects. A document that is not a JSON
//! array, or not valid JSON (including nesting deeper than 128 levels), is
//! unreadable (`bad_json`, the message names the line).
//!
//! | `type` | `content.entity` must be | target |
//! |---|---|---|
//! | `m.policy.rule.user`, `m.room.rule.user`, `org.matrix.mjolnir.rule.user` | an Accord account id | account |
//! | `m.policy.rule.server`, `m.room.rule.server`, `org.matrix.mjolnir.rule.server` | an Accord node id, a DNS name `x` or a glob `*.x` | node; `domain` `x` or `*.x` |
//! | `m.policy.rule.room`, `m.room.rule.room`, `org.matrix.mjolnir.rule.room` | an Accord room id | room |
//!
//! `content.recommendation` `m.ban` (or the older `org.matrix.mjolnir.ban`)
//! → `reject`, [`QUARANTINE_RECOMMENDATION`] → `quarantine`; any other is
//! skipped. `content.reason` → reason. `content[`[`MATRIX_CATEGORY_KEY`]`]`,
//! when it is a category wire name, is the category; otherwise the default
//! applies. Skipped: elements that are not objects, other event types, empty
//! content (a removed rule), entities with glob characters `*` or `?`
//! (except a server rule's leading `*.`), Matrix user ids (`@user:server`),
//! room ids (`!id:server`) and aliases (`#alias:server`), server names with
//! a port, and hashed rules
//! (`content.hashes` without `entity`: Matrix hashes the entity text, Accord
//! hashes `kind:id`, so they cannot be converted). Export writes
//! `{"type": "m.policy.rule.user|server|room", "content": {"entity": ID,
//! "reason": REASON or "", "recommendation": "m.ban" or
//! "org.accord.quarantine", "org.accord.category": CATEGORY}}` per account,
//! node, domain and room target; content and hashed targets have no Matrix
//! rule and are left out.

use crate::imported::Rows;
use crate::text::{DomainRule, Lines, MAX_QUOTED, clip, server_target, to_reason};
use crate::{FormatError, Imported};
use accord_proto::blocklist::{Action, Category, Target};
use accord_proto::text::Reason;
use accord_proto::{AccountId, RoomId};
use serde::Serialize;
use serde::de::{self, Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;

/// Why a hashed Matrix policy rule is skipped.
pub const MATRIX_HASHES_WHY: &str = "Matrix hashes the entity text, Accord hashes kind:id; not convertible";
/// The Matrix recommendation Accord writes (and reads) for quarantine.
pub const QUARANTINE_RECOMMENDATION: &str = "org.accord.quarantine";
/// The Matrix rule content key Accord writes (and reads) the category in.
pub const MATRIX_CATEGORY_KEY: &str = "org.accord.category";

/// What JSON counts as whitespace.
const JSON_WHITESPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// Reads the elements of the array `text` into `rows`.
pub(crate) fn import(text: &str, default_category: Category, rows: &mut Rows) -> Result<(), FormatError> {
    let mut lines = Lines::new(text);
    let body = text.trim_start_matches(JSON_WHITESPACE);
    if !body.starts_with('[') {
        let line = lines.at(text.len() - body.len());
        return Err(bad_json(line, "expected a JSON array of policy rule events"));
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    let mut elements = Elements { text, default_category, rows, lines, stopped: None };
    if let Err(e) = (&mut reader).deserialize_seq(&mut elements) {
        return Err(match elements.stopped.take() {
            Some(stopped) => stopped,
            None if e.is_eof() => bad_json(e.line(), "the array is never closed"),
            None => FormatError::BadJson(e.to_string()),
        });
    }
    reader.end().map_err(|e| bad_json(e.line(), "text after the array"))
}

/// Writes a JSON array, one rule per line.
pub(crate) fn export(entries: &[(Target, Category, Action, Option<Reason>)]) -> String {
    let mut rules = Vec::new();
    for (target, category, action, reason) in entries {
        let (kind, entity) = match target {
            Target::Account { id } => (RuleKind::User, id.to_string()),
            Target::Node { id } => (RuleKind::Server, id.to_string()),
            Target::Domain { name } => (RuleKind::Server, name.to_string()),
            Target::Room { id } => (RuleKind::Room, id.to_string()),
            Target::Content { .. } | Target::Pdq { .. } | Target::Hashed { .. } => continue,
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

fn bad_json(line: usize, what: impl fmt::Display) -> FormatError {
    FormatError::BadJson(format!("line {line}: {what}"))
}

/// Maps the array's elements to rows as `serde_json` reads them, each kept
/// as its text until then, so the document is never held as one value.
struct Elements<'t, 'r> {
    text: &'t str,
    default_category: Category,
    rows: &'r mut Rows,
    lines: Lines<'t>,
    /// Why reading stopped, when it was not the JSON (the row limit).
    stopped: Option<FormatError>,
}

impl Elements<'_, '_> {
    fn element(&mut self, element: &str) -> Result<(), FormatError> {
        let offset = (element.as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let line = self.lines.at(offset);
        let value: Value = serde_json::from_str(element)
            .map_err(|e| bad_json(line, format_args!("in the array element starting here: {e}")))?;
        let row = row(&value, self.default_category);
        // A skipped element is shown re-encoded on one line.
        let text = if row.is_err() { serde_json::to_string(&value).unwrap_or_default() } else { String::new() };
        self.rows.push(line, &text, row)
    }
}

impl<'de> Visitor<'de> for &mut Elements<'de, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of policy rule events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<&'de RawValue>()? {
            if let Err(e) = self.element(element.get()) {
                self.stopped = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

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

fn row(value: &Value, default_category: Category) -> Result<Imported, String> {
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
    let target = target(kind, entity)?;
    let reason = content.get("reason").and_then(Value::as_str).and_then(to_reason);
    let category = category(content).unwrap_or(default_category);
    Ok(Imported { target, category, action, reason })
}

fn category(content: &Map<String, Value>) -> Option<Category> {
    content.get(MATRIX_CATEGORY_KEY).and_then(Value::as_str).and_then(|c| c.parse().ok())
}

fn target(kind: RuleKind, entity: &str) -> Result<Target, String> {
    let quoted = clip(entity, MAX_QUOTED);
    if let RuleKind::Server = kind {
        return server_target(entity, DomainRule::Matrix);
    }
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
        RuleKind::Server => server_target(entity, DomainRule::Matrix),
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
