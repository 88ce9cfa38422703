//! Builders for test keys, events and rooms.

use accord_proto::event::{Event, EventBody, EventContent, JoinRule};
use accord_proto::{EventId, RoomId, SecretKey, Timestamp, Verified};

/// A deterministic key from one seed byte.
pub(crate) fn key(byte: u8) -> SecretKey {
    SecretKey::from_seed([byte; 32])
}

/// The node key used by the fixtures.
pub(crate) fn node() -> SecretKey {
    key(200)
}

/// Signs `content` by `author` in `room` and stamps it with the fixture node.
pub(crate) fn event(
    author: &SecretKey,
    room: Option<RoomId>,
    content: EventContent,
    seq: u64,
    prev: Vec<EventId>,
    depth: u64,
) -> Event {
    let body = EventBody { room, author: author.account_id(), ts: Timestamp::from_millis(1_000 + seq), content };
    let signed = Verified::sign(body, author).expect("sign body");
    Event::stamp(signed, &node(), seq, prev, depth, Timestamp::from_millis(2_000 + seq)).expect("stamp")
}

/// A public room created by `owner`.
pub(crate) fn create(owner: &SecretKey) -> Event {
    event(
        owner,
        None,
        EventContent::Create { name: "room".to_string().try_into().expect("name"), join_rule: JoinRule::Public },
        1,
        vec![],
        0,
    )
}

/// A message with `text`.
pub(crate) fn message(text: &str) -> EventContent {
    EventContent::Message { text: text.to_string().try_into().expect("text"), reply_to: None, attachments: vec![] }
}
