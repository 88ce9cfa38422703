//! Local verification of everything the node hands over: both signatures
//! of each event, then that its origin is its author's home node.

// `VerificationError` holds typed account and node ids (about 200 bytes
// each) and is returned only on failures, next to signature checks that
// cost far more than moving it; `SdkError` boxes it.
#![allow(clippy::result_large_err)]

use crate::client::Client;
use crate::error::{Result, SdkError, VerificationError};
use crate::timeline::{HiddenItem, SendReceipt, TimelineEntry, TimelineItem};
use accord_api::ErrorCode;
use accord_api::events::SendEventResponse;
use accord_api::rooms::{ItemContent as RawItemBody, TimelineItem as RawTimelineItem};
use accord_proto::event::{Event, EventBody, UnverifiedEvent};
use accord_proto::{AccountId, EventId, NodeId, RoomId, Verified};

impl Client {
    /// Verifies an event received from anywhere: both signatures and the
    /// event's structure ([`UnverifiedEvent::verify`]), then that the node
    /// that stamped it is the author's home node, from the author's
    /// verified identity ([`Client::identity`]).
    ///
    /// A failed check is [`SdkError::Verification`]; other errors (the
    /// identity lookup could not be made) are returned as they are.
    pub async fn verify_event(&self, event: &UnverifiedEvent) -> Result<Event> {
        self.verify_event_in(event, None, None).await
    }

    async fn verify_event_in(&self, raw: &UnverifiedEvent, room: Option<RoomId>, cursor: Option<u64>) -> Result<Event> {
        let event = raw
            .verify()
            .map_err(|e| SdkError::verification(cursor, Some(raw.claimed_id()), VerificationError::Event(e)))?;
        self.check_event(&event, room, cursor).await?;
        Ok(event)
    }

    /// The checks after the signatures: the room, and origin = home.
    async fn check_event(&self, event: &Event, room: Option<RoomId>, cursor: Option<u64>) -> Result<()> {
        let fail = |reason| SdkError::verification(cursor, Some(event.id()), reason);
        if let Some(expected) = room
            && event.room() != expected
        {
            return Err(fail(VerificationError::WrongRoom { expected, found: event.room() }));
        }
        let author = event.author();
        let origin = event.origin();
        let home = self.author_home(&author).await.map_err(|e| attach(e, cursor, event.id()))?;
        if home == origin { Ok(()) } else { Err(fail(VerificationError::WrongOrigin { author, origin, home })) }
    }

    /// The author's home node from its verified identity. An identity the
    /// node does not have, or one that does not verify, is a verification
    /// failure of the event.
    async fn author_home(&self, author: &AccountId) -> Result<NodeId> {
        if let Some(home) = self.inner.deleted.lock().unwrap_or_else(|p| p.into_inner()).get(author) {
            return Ok(*home);
        }
        match self.identity(author).await {
            Ok(identity) => Ok(identity.home()),
            // A deleted account's events still verify: its signed
            // deletion names its home node.
            Err(SdkError::Api { code: ErrorCode::AccountDeleted, .. }) => self.deleted_home(author).await,
            // The node has no identity for the author, or refuses to hand
            // it out because a blocklist entry covers it: either way the
            // home node is unknown, which fails this event, not the page.
            Err(SdkError::Api { status, code, .. }) if status == 404 || code == ErrorCode::Blocked => {
                let code = code.to_string();
                Err(SdkError::verification(None, None, VerificationError::UnknownAuthor { author: *author, code }))
            }
            Err(SdkError::Verification { reason, .. }) => {
                Err(SdkError::verification(None, None, VerificationError::AuthorIdentity { author: *author, reason }))
            }
            Err(other) => Err(other),
        }
    }

    /// Verifies one timeline item of `room`. A hidden item has no event
    /// to verify and is passed on as it is.
    pub(crate) async fn verify_entry(&self, room: RoomId, raw: RawTimelineItem) -> Result<TimelineEntry> {
        let RawTimelineItem { cursor, content: body, accepted, redacted } = raw;
        match body {
            RawItemBody::Hidden(provenance) => {
                Ok(TimelineEntry::Hidden(HiddenItem { cursor, provenance: *provenance }))
            }
            RawItemBody::Event(raw) => {
                let event = self.verify_event_in(&raw, Some(room), Some(cursor)).await?;
                Ok(TimelineEntry::Item(TimelineItem { cursor, event, accepted, redacted }))
            }
        }
    }

    /// Verifies a page of timeline items, and sets the hidden ones apart
    /// (both in the page's order). Each item that fails verification
    /// becomes an error item; an error that is not about an item (the node
    /// could not be asked for an identity) fails the whole page.
    pub(crate) async fn verify_items(
        &self,
        room: RoomId,
        raws: Vec<RawTimelineItem>,
    ) -> Result<(Vec<Result<TimelineItem>>, Vec<HiddenItem>)> {
        let mut items = Vec::with_capacity(raws.len());
        let mut hidden = Vec::new();
        for raw in raws {
            let RawTimelineItem { cursor, content: body, accepted, redacted } = raw;
            let raw = match body {
                RawItemBody::Hidden(provenance) => {
                    hidden.push(HiddenItem { cursor, provenance: *provenance });
                    continue;
                }
                RawItemBody::Event(raw) => raw,
            };
            // One by one, not batched: the node composes the page, and batch
            // verification must not be used on sets one party composes
            // (spec/encoding.md §2.5, §8.1).
            let item = match raw.verify() {
                Err(e) => {
                    Err(SdkError::verification(Some(cursor), Some(raw.claimed_id()), VerificationError::Event(e)))
                }
                Ok(event) => match self.check_event(&event, Some(room), Some(cursor)).await {
                    Ok(()) => Ok(TimelineItem { cursor, event, accepted, redacted }),
                    Err(e @ SdkError::Verification { .. }) => Err(e),
                    Err(e) => return Err(e),
                },
            };
            items.push(item);
        }
        Ok((items, hidden))
    }

    /// Checks the node's answer to a sent event: it must hold exactly the
    /// bytes that were signed, under the right id and room, stamped by the
    /// account's home node.
    pub(crate) async fn verify_receipt(
        &self,
        sent: &Verified<EventBody>,
        resp: SendEventResponse,
    ) -> Result<SendReceipt> {
        let id = EventId(sent.body_hash());
        let room = sent.room.unwrap_or(RoomId::from(id));
        check_receipt_fields(sent, &resp)
            .map_err(|reason| SdkError::verification(Some(resp.cursor), Some(id), reason))?;
        if resp.cursor == 0 {
            return Err(SdkError::Protocol("the node returned cursor 0 (cursors start at 1)".into()));
        }
        // The author envelope is the one signed here (checked above): only
        // the stamp needs its signature checked.
        let event = resp
            .event
            .verify_stamp_of(sent)
            .map_err(|e| SdkError::verification(Some(resp.cursor), Some(id), VerificationError::Event(e)))?;
        self.check_event(&event, Some(room), Some(resp.cursor)).await?;
        Ok(SendReceipt { event_id: id, room, cursor: resp.cursor, event })
    }
}

/// The parts of a receipt that need no lookup.
fn check_receipt_fields(sent: &Verified<EventBody>, resp: &SendEventResponse) -> Result<(), VerificationError> {
    let id = EventId(sent.body_hash());
    let room = sent.room.unwrap_or(RoomId::from(id));
    if resp.event.author.raw() != sent.raw() {
        return Err(VerificationError::ReceiptMismatch("the returned event holds another author body".into()));
    }
    if resp.event_id != id {
        return Err(VerificationError::ReceiptMismatch(format!("the node names it {}, its id is {id}", resp.event_id)));
    }
    if resp.room != room {
        return Err(VerificationError::ReceiptMismatch(format!("the node puts it in room {}, not {room}", resp.room)));
    }
    Ok(())
}

/// Puts the item's cursor and event id on a verification error that was
/// made without them.
fn attach(err: SdkError, cursor: Option<u64>, id: EventId) -> SdkError {
    match err {
        SdkError::Verification { reason, .. } => SdkError::Verification { cursor, event: Some(id), reason },
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::client::tests::offline_client;
    use crate::identity::tests::identity;
    use accord_proto::event::EventContent;
    use accord_proto::event::JoinRule;
    use accord_proto::{SecretKey, Timestamp};

    pub(crate) fn key(byte: u8) -> SecretKey {
        SecretKey::from_seed([byte; 32])
    }

    /// Signs `content` by `author` and stamps it with `node`.
    pub(crate) fn event(
        author: &SecretKey,
        node: &SecretKey,
        room: Option<RoomId>,
        content: EventContent,
        seq: u64,
        prev: Vec<EventId>,
        depth: u64,
    ) -> Event {
        let body = EventBody { room, author: author.account_id(), ts: Timestamp::from_millis(1_000 + seq), content };
        let signed = Verified::sign(body, author).expect("sign body");
        Event::stamp(signed, node, seq, prev, depth, Timestamp::from_millis(2_000 + seq)).expect("stamp")
    }

    pub(crate) fn create(owner: &SecretKey, node: &SecretKey) -> Event {
        let name = "general".to_string().try_into().expect("name");
        event(owner, node, None, EventContent::Create { name, join_rule: JoinRule::Public }, 1, vec![], 0)
    }

    pub(crate) fn message(author: &SecretKey, node: &SecretKey, create: &Event, seq: u64, text: &str) -> Event {
        let content = EventContent::Message {
            text: text.to_string().try_into().expect("text"),
            reply_to: None,
            attachments: vec![],
        };
        event(author, node, Some(create.room()), content, seq, vec![create.id()], seq)
    }

    /// The JSON a node would send for a timeline item, decoded as the SDK decodes it.
    pub(crate) fn raw_item(cursor: u64, event: &Event) -> RawTimelineItem {
        let json = serde_json::json!({"cursor": cursor, "event": event, "accepted": true, "redacted": false});
        serde_json::from_value(json).expect("timeline item decodes")
    }

    impl Client {
        /// Verifies a visible timeline item; a hidden one is a test failure.
        pub(crate) async fn verify_item(&self, room: RoomId, raw: RawTimelineItem) -> Result<TimelineItem> {
            match self.verify_entry(room, raw).await? {
                TimelineEntry::Item(item) => Ok(item),
                TimelineEntry::Hidden(hidden) => panic!("unexpected hidden item {hidden:?}"),
            }
        }
    }

    /// The JSON a node would send for a hidden timeline item.
    fn hidden_item_json(cursor: u64) -> serde_json::Value {
        let list = crate::timeline::tests::list();
        serde_json::json!({
            "cursor": cursor, "accepted": true, "redacted": false,
            "hidden": {"list": list, "entry": 3, "category": "spam", "action": "reject", "reason": "bulk ads"},
        })
    }

    /// A hidden timeline item, decoded as the SDK decodes it.
    fn hidden_item(cursor: u64) -> RawTimelineItem {
        serde_json::from_value(hidden_item_json(cursor)).expect("hidden item decodes")
    }

    /// A client for `me` that knows the identities of `known`, all homed on `node`.
    pub(crate) fn client_knowing(me: &SecretKey, node: &SecretKey, known: &[&SecretKey]) -> Client {
        let client = offline_client(me.clone());
        for k in known {
            client.cache_identity(identity(k, node, "someone@example.org"));
        }
        client
    }

    #[tokio::test]
    async fn a_good_event_verifies() {
        let (alice, node) = (key(1), key(200));
        let client = client_knowing(&alice, &node, &[&alice]);
        let create = create(&alice, &node);
        let msg = message(&alice, &node, &create, 2, "hello");
        let item = client.verify_item(create.room(), raw_item(2, &msg)).await.expect("verifies");
        assert_eq!(item.id(), msg.id());
        assert_eq!(item.text(), Some("hello"));
        assert_eq!(item.author(), alice.account_id());
        assert_eq!(item.cursor, 2);
        let verified = client.verify_event(&msg.to_unverified()).await.expect("verifies");
        assert_eq!(verified.id(), msg.id());
    }

    #[tokio::test]
    async fn a_bad_signature_is_a_verification_error() {
        let (alice, node) = (key(1), key(200));
        let client = client_knowing(&alice, &node, &[&alice]);
        let create = create(&alice, &node);
        let msg = message(&alice, &node, &create, 2, "hello");
        let mut json = serde_json::to_value(&msg).expect("encode");
        // Swap the author signature for the stamp's: well-formed, but wrong.
        json["author"]["sig"] = json["origin"]["sig"].clone();
        let item: RawTimelineItem = serde_json::from_value(
            serde_json::json!({"cursor": 5, "event": json, "accepted": true, "redacted": false}),
        )
        .expect("decodes");
        match client.verify_item(create.room(), item).await {
            Err(SdkError::Verification { cursor: Some(5), event: Some(id), reason }) => {
                assert_eq!(id, msg.id());
                assert!(matches!(*reason, VerificationError::Event(_)), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_event_stamped_by_another_node_is_refused() {
        let (alice, home, rogue) = (key(1), key(200), key(201));
        let client = client_knowing(&alice, &home, &[&alice]);
        let create = create(&alice, &home);
        let msg = message(&alice, &rogue, &create, 2, "forged origin");
        match client.verify_item(create.room(), raw_item(2, &msg)).await {
            Err(SdkError::Verification { cursor: Some(2), reason, .. }) => match *reason {
                VerificationError::WrongOrigin { author, origin, home } => {
                    assert_eq!(author, alice.account_id());
                    assert_eq!(origin, NodeId::from(rogue.public()));
                    assert_eq!(home, NodeId::from(key(200).public()));
                }
                other => panic!("unexpected {other:?}"),
            },
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_event_of_another_room_is_refused() {
        let (alice, node) = (key(1), key(200));
        let client = client_knowing(&alice, &node, &[&alice]);
        let create = create(&alice, &node);
        let msg = message(&alice, &node, &create, 2, "hello");
        let other_room = RoomId::from_bytes([42; 32]);
        let err = client.verify_item(other_room, raw_item(2, &msg)).await.unwrap_err();
        match err {
            SdkError::Verification { reason, cursor: Some(2), .. } => {
                assert!(matches!(*reason, VerificationError::WrongRoom { .. }), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_page_keeps_good_items_and_flags_bad_ones() {
        let (alice, bob, node) = (key(1), key(2), key(200));
        let client = client_knowing(&alice, &node, &[&alice, &bob]);
        let create = create(&alice, &node);
        let one = message(&alice, &node, &create, 2, "one");
        let two = message(&bob, &node, &create, 3, "two");
        let mut bad = serde_json::to_value(&two).expect("encode");
        bad["origin"]["sig"] = bad["author"]["sig"].clone();
        let bad: RawTimelineItem =
            serde_json::from_value(serde_json::json!({"cursor": 3, "event": bad, "accepted": true, "redacted": false}))
                .expect("decodes");
        let (items, hidden) = client
            .verify_items(create.room(), vec![raw_item(1, &create), raw_item(2, &one), bad])
            .await
            .expect("page verifies");
        assert_eq!(items.len(), 3);
        assert!(hidden.is_empty());
        assert!(items[0].is_ok());
        assert_eq!(items[1].as_ref().expect("ok").text(), Some("one"));
        assert!(matches!(items[2], Err(SdkError::Verification { cursor: Some(3), .. })));
    }

    #[tokio::test]
    async fn hidden_items_are_set_apart_unverified() {
        let (alice, node) = (key(1), key(200));
        let client = client_knowing(&alice, &node, &[&alice]);
        let create = create(&alice, &node);
        let one = message(&alice, &node, &create, 2, "one");
        let (items, hidden) = client
            .verify_items(create.room(), vec![raw_item(1, &create), hidden_item(2), raw_item(3, &one), hidden_item(4)])
            .await
            .expect("page verifies");
        let cursors: Vec<u64> = items.iter().map(|i| i.as_ref().expect("ok").cursor).collect();
        assert_eq!(cursors, vec![1, 3]);
        assert_eq!(hidden.iter().map(|h| h.cursor).collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(hidden[0].provenance.entry, 3);
        assert_eq!(hidden[0].provenance.reason.as_deref(), Some("bulk ads"));

        match client.verify_entry(create.room(), hidden_item(9)).await.expect("entry") {
            TimelineEntry::Hidden(h) => assert_eq!(h.cursor, 9),
            other => panic!("unexpected {other:?}"),
        }

        // An item that is hidden and still carries its event stays hidden.
        let mut both = hidden_item_json(5);
        both["event"] = serde_json::to_value(&one).expect("event");
        let both: RawTimelineItem = serde_json::from_value(both).expect("decodes");
        match client.verify_entry(create.room(), both).await.expect("entry") {
            TimelineEntry::Hidden(h) => assert_eq!(h.cursor, 5),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn receipts_must_match_what_was_sent() {
        let (alice, node) = (key(1), key(200));
        let create = create(&alice, &node);
        let sent = message(&alice, &node, &create, 2, "mine");
        let other = message(&alice, &node, &create, 3, "not mine");
        let receipt = |event: &Event, event_id: EventId, room: RoomId| -> SendEventResponse {
            serde_json::from_value(serde_json::json!({
                "event_id": event_id, "room": room, "cursor": 7, "event": event,
            }))
            .expect("decodes")
        };
        let body = sent.body();
        assert!(check_receipt_fields(body, &receipt(&sent, sent.id(), create.room())).is_ok());
        assert!(check_receipt_fields(body, &receipt(&other, other.id(), create.room())).is_err());
        assert!(check_receipt_fields(body, &receipt(&sent, other.id(), create.room())).is_err());
        assert!(check_receipt_fields(body, &receipt(&sent, sent.id(), RoomId::from_bytes([1; 32]))).is_err());
        // For a create event, the room is the event's own id.
        assert!(check_receipt_fields(create.body(), &receipt(&create, create.id(), create.room())).is_ok());
    }

    #[tokio::test]
    async fn receipts_verify_end_to_end() {
        let (alice, node) = (key(1), key(200));
        let client = client_knowing(&alice, &node, &[&alice]);
        let create = create(&alice, &node);
        let sent = message(&alice, &node, &create, 2, "mine");
        let resp: SendEventResponse = serde_json::from_value(serde_json::json!({
            "event_id": sent.id(), "room": create.room(), "cursor": 2, "event": &sent,
        }))
        .expect("decodes");
        let receipt = client.verify_receipt(sent.body(), resp).await.expect("receipt verifies");
        assert_eq!(receipt.event_id, sent.id());
        assert_eq!(receipt.cursor, 2);
        assert_eq!(receipt.room, create.room());
    }

    #[test]
    fn text_is_hidden_when_redacted_or_refused() {
        let (alice, node) = (key(1), key(200));
        let create = create(&alice, &node);
        let msg = message(&alice, &node, &create, 2, "secret");
        let mut item = TimelineItem { cursor: 2, event: msg, accepted: true, redacted: false };
        assert_eq!(item.text(), Some("secret"));
        item.redacted = true;
        assert_eq!(item.text(), None);
        item.redacted = false;
        item.accepted = false;
        assert_eq!(item.text(), None);
    }
}
