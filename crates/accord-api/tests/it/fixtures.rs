//! Ids, signed objects and JSON helpers shared by the tests.

use accord_proto::event::{Event, EventBody, EventContent, JoinRule};
use accord_proto::{AccountId, IssuerId, ListId, NodeId, SecretKey, Timestamp, Verified};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

pub(crate) fn account(seed: u8) -> AccountId {
    key(seed).account_id()
}

pub(crate) fn node(seed: u8) -> NodeId {
    NodeId::from(key(seed).public())
}

pub(crate) fn list() -> ListId {
    ListId { issuer: IssuerId::from(key(7).public()), name: "spam".parse().expect("list name") }
}

/// A room's create event, signed by account 1 and stamped by node 200.
pub(crate) fn create() -> Event {
    let name = "general".to_string().try_into().expect("room name");
    let body = EventBody {
        room: None,
        author: account(1),
        ts: Timestamp::from_millis(1_764_000_000_000),
        content: EventContent::Create { name, join_rule: JoinRule::Public },
    };
    let body = Verified::sign(body, &key(1)).expect("sign");
    Event::stamp(body, &key(200), 1, vec![], 0, Timestamp::from_millis(1_764_000_000_500)).expect("stamp")
}

/// The text of a spec example, its placeholders replaced by real values.
pub(crate) fn concrete(example: &str) -> String {
    let room = create().room();
    example
        .replace("iss1…/spam", &list().to_string())
        .replace("acct1…", &account(1).to_string())
        .replace("room1…", &room.to_string())
        .replace("\"64 hex\"", &format!("\"{}\"", "ab".repeat(32)))
}

/// JSON text without the whitespace between tokens, key order kept.
pub(crate) fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Reads `text` as a `T` and writes it again: exactly the same bytes
/// (minified), fields in the same order.
pub(crate) fn round_trips_exactly<T: Serialize + DeserializeOwned>(text: &str) -> T {
    let value: T = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text} does not parse: {e}"));
    assert_eq!(serde_json::to_string(&value).expect("encodes"), minify(text));
    value
}

/// Reads what the node sends (`node`, built as the node builds it) as a
/// `T`; `T` written back through `serde_json::Value`, as the node writes
/// its answers, gives the node's bytes.
pub(crate) fn reads_the_node<T: Serialize + DeserializeOwned>(node: serde_json::Value) -> T {
    let typed: T = serde_json::from_value(node.clone()).unwrap_or_else(|e| panic!("{node} does not parse: {e}"));
    let again = serde_json::to_value(&typed).expect("encodes");
    assert_eq!(again, node, "the type drops, adds or renames a field");
    assert_eq!(again.to_string(), node.to_string());
    typed
}

/// The spec file `name` of this repository, read at run time.
pub(crate) fn spec(name: &str) -> String {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let path = std::path::Path::new(&root).join("../../spec").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
