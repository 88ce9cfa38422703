//! The answers sent for every message, written straight to JSON in the
//! node's form (keys in sorted order, compact, as `serde_json::Value`
//! writes them) instead of being built as a `Value` first: send receipts
//! (`POST /v1/events` and `sent` frames) and the live stream's `event`
//! frames of visible items. The bytes are the same as through a `Value`
//! (tests below); every other answer still goes through one.

use accord_api::events::SendEventResponse;
use accord_api::rooms::{ItemContent, TimelineItem};
use accord_api::stream::ServerFrame;
use accord_proto::event::UnverifiedEvent;
use accord_proto::{EventId, PublicKey, RoomId, Signature, SignedBytes};
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use serde::{Serialize, Serializer};

/// A signed envelope's fields in sorted order.
#[derive(Serialize)]
struct Envelope<'a> {
    body: Body<'a>,
    sig: &'a Signature,
    signer: &'a PublicKey,
}

impl<'a> Envelope<'a> {
    fn of(raw: &'a SignedBytes) -> Self {
        Envelope { body: Body(&raw.body), sig: &raw.sig, signer: &raw.signer }
    }
}

/// Signed bytes as standard, padded base64, written without an
/// intermediate string.
struct Body<'a>(&'a [u8]);

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Base64Display::new(self.0, &STANDARD))
    }
}

/// An event's two envelopes.
#[derive(Serialize)]
struct Event<'a> {
    author: Envelope<'a>,
    origin: Envelope<'a>,
}

impl<'a> Event<'a> {
    fn of(event: &'a UnverifiedEvent) -> Self {
        Event { author: Envelope::of(event.author.raw()), origin: Envelope::of(event.origin.raw()) }
    }
}

/// A send receipt.
#[derive(Serialize)]
struct Receipt<'a> {
    cursor: u64,
    event: Event<'a>,
    event_id: &'a EventId,
    room: &'a RoomId,
}

impl<'a> Receipt<'a> {
    fn of(r: &'a SendEventResponse) -> Self {
        Receipt { cursor: r.cursor, event: Event::of(&r.event), event_id: &r.event_id, room: &r.room }
    }
}

/// A visible timeline item.
#[derive(Serialize)]
struct Item<'a> {
    accepted: bool,
    cursor: u64,
    event: Event<'a>,
    redacted: bool,
}

/// A `sent` frame.
#[derive(Serialize)]
struct Sent<'a> {
    id: u64,
    receipt: Receipt<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// An `event` frame of a visible item.
#[derive(Serialize)]
struct EventFrame<'a> {
    item: Item<'a>,
    room: &'a RoomId,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// A send receipt's JSON.
pub fn receipt(r: &SendEventResponse) -> Vec<u8> {
    serde_json::to_vec(&Receipt::of(r)).unwrap_or_default()
}

/// A frame of the live stream as text.
pub fn frame(frame: &ServerFrame) -> String {
    let written = match frame {
        ServerFrame::Sent { id, receipt } => {
            serde_json::to_string(&Sent { id: *id, receipt: Receipt::of(receipt), kind: "sent" })
        }
        ServerFrame::Event { room, item } => match item.as_ref() {
            TimelineItem { cursor, content: ItemContent::Event(event), accepted, redacted } => {
                let item = Item { accepted: *accepted, cursor: *cursor, event: Event::of(event), redacted: *redacted };
                serde_json::to_string(&EventFrame { item, room, kind: "event" })
            }
            _ => return through_value(frame),
        },
        _ => return through_value(frame),
    };
    written.unwrap_or_default()
}

/// Any frame, through a `Value`.
fn through_value(frame: &ServerFrame) -> String {
    serde_json::to_value(frame).map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_proto::event::{Event as Stamped, EventBody, EventContent};
    use accord_proto::{SecretKey, Timestamp, Verified};

    /// A stamped message whose text needs escaping.
    fn event() -> UnverifiedEvent {
        let author = SecretKey::generate().expect("key");
        let node = SecretKey::generate().expect("key");
        let room = RoomId::from_bytes([7; 32]);
        let body = EventBody {
            room: Some(room),
            author: author.account_id(),
            ts: Timestamp::from_millis(1_700_000_000_000),
            content: EventContent::Message {
                text: "a \"quoted\" line\nand a tab\t, é ✓".to_string().try_into().expect("text"),
                reply_to: None,
                attachments: vec![],
            },
        };
        let signed = Verified::sign(body, &author).expect("sign");
        let prev = vec![EventId::from_bytes([9; 32])];
        Stamped::stamp(signed, &node, 3, prev, 5, Timestamp::from_millis(1_700_000_000_123))
            .expect("stamp")
            .to_unverified()
    }

    fn receipt_of(event: UnverifiedEvent) -> SendEventResponse {
        SendEventResponse { event_id: event.claimed_id(), room: RoomId::from_bytes([7; 32]), cursor: 42, event }
    }

    #[test]
    fn receipts_are_written_as_through_a_value() {
        let r = receipt_of(event());
        let value = serde_json::to_value(&r).expect("value").to_string();
        assert_eq!(String::from_utf8(receipt(&r)).expect("utf-8"), value);
    }

    #[test]
    fn sent_and_event_frames_are_written_as_through_a_value() {
        let sent = ServerFrame::Sent { id: 17, receipt: Box::new(receipt_of(event())) };
        assert_eq!(frame(&sent), through_value(&sent));
        for (accepted, redacted) in [(true, false), (false, true)] {
            let item = TimelineItem { cursor: 8, content: ItemContent::Event(Box::new(event())), accepted, redacted };
            let live = ServerFrame::Event { room: RoomId::from_bytes([7; 32]), item: Box::new(item) };
            assert_eq!(frame(&live), through_value(&live));
        }
    }

    #[test]
    fn other_frames_are_written_with_sorted_keys() {
        let room = RoomId::from_bytes([1; 32]);
        let lagged = ServerFrame::Lagged { room, resume_from: 4 };
        assert_eq!(frame(&lagged), format!(r#"{{"resume_from":4,"room":"{room}","type":"lagged"}}"#));
    }
}
