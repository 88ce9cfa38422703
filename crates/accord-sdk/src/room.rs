//! Room handles: sending signed events, reading state and history,
//! subscribing to the live timeline.

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::timeline::{HiddenItem, HistoryQuery, SendReceipt, TimelineItem};
use accord_api::rooms::{HistoryResponse, JoinStatus, RoomState as RoomStateView};
use accord_proto::event::{EventContent, JoinRule, MessageText, Reason, Role, RoomName};
use accord_proto::media::Attachment;
use accord_proto::{AccountId, EventId, RoomId};
use reqwest::Method;

/// One page of a room's history.
///
/// The node's page is split in two: the visible items, verified, in
/// `items`, and the items a blocklist entry hides in `hidden`. Hidden items
/// take up cursors like visible ones, so the cursors of `items` may skip
/// the ones in `hidden`; together they cover the page without gaps. A
/// page's limit counts both.
#[derive(Debug)]
#[non_exhaustive]
pub struct HistoryPage {
    /// The visible items, in the query's order. An item that fails
    /// verification is an [`SdkError::Verification`] in its place; the
    /// others are usable.
    pub items: Vec<Result<TimelineItem, SdkError>>,
    /// The hidden items, in the query's order, each with the blocklist
    /// entry that hides it.
    pub hidden: Vec<HiddenItem>,
    /// Whether the node has more in this direction.
    pub more: bool,
    /// The query for the next page in the same direction, if there is one.
    pub next: Option<HistoryQuery>,
}

/// A handle on one room, for one client. Cheap to clone; holds no state
/// of its own beyond the room id.
#[derive(Debug, Clone)]
pub struct Room {
    client: Client,
    id: RoomId,
}

impl Client {
    /// Creates a room with the account as owner and returns its handle.
    pub async fn create_room(&self, name: &str, join_rule: JoinRule) -> Result<Room> {
        let name = RoomName::non_empty(name).map_err(|e| SdkError::InvalidInput(format!("room name: {e}")))?;
        let receipt = self.send_event(None, EventContent::Create { name, join_rule }).await?;
        Ok(self.room(receipt.room))
    }

    /// A handle on a room. Nothing is sent until a method of it is called.
    pub fn room(&self, room: RoomId) -> Room {
        Room::new(self.clone(), room)
    }
}

impl Room {
    pub(crate) fn new(client: Client, id: RoomId) -> Self {
        Self { client, id }
    }

    /// The room id.
    pub fn id(&self) -> RoomId {
        self.id
    }

    /// The client this handle belongs to.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Signs `content` as an event of this room and sends it. The other
    /// sending methods are shorthands for this one.
    pub async fn send(&self, content: EventContent) -> Result<SendReceipt> {
        if matches!(content, EventContent::Create { .. }) {
            return Err(SdkError::InvalidInput("a create event makes a new room: use Client::create_room".into()));
        }
        self.client.send_event(Some(self.id), content).await
    }

    /// Joins the room (public rooms, or with a pending invite). If the home
    /// node does not hold the room, it looks up the nodes that announce it
    /// in the DHT and fetches it from one of them; `no_provider` when none
    /// does (invite-only rooms are never announced: use [`Room::join_via`]).
    pub async fn join(&self) -> Result<SendReceipt> {
        self.send(EventContent::Join {}).await
    }

    /// Joins a room that the home node may not hold yet (it lives on other
    /// nodes): `via` names nodes that hold it, by node id or by p2p address
    /// ending in `/p2p/NODE_ID`. The home node fetches the room from them,
    /// verifies it, and then sends the join.
    ///
    /// A long history outlasts the node's wait (`join_in_progress`): this
    /// then follows the fetch ([`Room::join_status`]) until the node holds
    /// the room and returns the join's receipt. The fetch and the join run
    /// at the node: dropping this future, or a timeout, cancels neither.
    pub async fn join_via(&self, via: &[String]) -> Result<SendReceipt> {
        self.client.send_event_via(Some(self.id), EventContent::Join {}, via).await
    }

    /// Where the account's join of this room stands (`GET
    /// /v1/rooms/{room}/join`): the node's fetch of the room's history
    /// (events fetched so far), `held` once it holds the room, or why the
    /// fetch failed. `unknown_room` when the account never asked to join
    /// the room and is neither a member nor invited.
    pub async fn join_status(&self) -> Result<JoinStatus> {
        self.client.join_status(self.id).await
    }

    /// Leaves the room.
    pub async fn leave(&self) -> Result<SendReceipt> {
        self.send(EventContent::Leave {}).await
    }

    /// Invites `account`.
    pub async fn invite(&self, account: AccountId) -> Result<SendReceipt> {
        self.send(EventContent::Invite { target: account }).await
    }

    /// Removes `account` from the room; it may join again.
    pub async fn kick(&self, account: AccountId, reason: Option<&str>) -> Result<SendReceipt> {
        self.send(EventContent::Kick { target: account, reason: reason_text(reason)? }).await
    }

    /// Removes `account` and keeps it out until unbanned.
    pub async fn ban(&self, account: AccountId, reason: Option<&str>) -> Result<SendReceipt> {
        self.send(EventContent::Ban { target: account, reason: reason_text(reason)? }).await
    }

    /// Lifts a ban.
    pub async fn unban(&self, account: AccountId) -> Result<SendReceipt> {
        self.send(EventContent::Unban { target: account }).await
    }

    /// Gives a member a role.
    pub async fn set_role(&self, account: AccountId, role: Role) -> Result<SendReceipt> {
        self.send(EventContent::SetRole { target: account, role }).await
    }

    /// Hides the content of an event.
    pub async fn redact(&self, event: EventId, reason: Option<&str>) -> Result<SendReceipt> {
        self.send(EventContent::Redact { target: event, reason: reason_text(reason)? }).await
    }

    /// Sends a text message.
    pub async fn send_text(&self, text: &str) -> Result<SendReceipt> {
        self.send(EventContent::Message { text: message_text(text)?, reply_to: None, attachments: vec![] }).await
    }

    /// Sends a message carrying files uploaded with
    /// [`Client::upload_media`]; `text` may be empty when there is at least
    /// one attachment.
    pub async fn send_with_attachments(&self, text: &str, attachments: Vec<Attachment>) -> Result<SendReceipt> {
        if attachments.is_empty() {
            return self.send_text(text).await;
        }
        let text = MessageText::new(text).map_err(|e| SdkError::InvalidInput(format!("message text: {e}")))?;
        self.send(EventContent::Message { text, reply_to: None, attachments }).await
    }

    /// Sends a text message answering `reply_to`.
    pub async fn send_reply(&self, text: &str, reply_to: EventId) -> Result<SendReceipt> {
        self.send(EventContent::Message { text: message_text(text)?, reply_to: Some(reply_to), attachments: vec![] })
            .await
    }

    /// The room's current state as the node reports it (`GET
    /// /v1/rooms/{room}`). Not recomputed locally from the room's events.
    pub async fn state(&self) -> Result<RoomStateView> {
        let url = self.client.inner.http.url(&["v1", "rooms", &self.id.to_string()]);
        let state: RoomStateView = self.client.authed::<(), _>(Method::GET, url, None).await?;
        if state.room != self.id {
            return Err(SdkError::Protocol(format!("asked for room {}, the node described {}", self.id, state.room)));
        }
        Ok(state)
    }

    /// A page of the room's history, every visible event verified, the
    /// hidden items apart (see [`HistoryPage`]).
    pub async fn history(&self, query: HistoryQuery) -> Result<HistoryPage> {
        let resp = self.fetch_history(query).await?;
        let more = resp.more;
        // The next page starts after the page's last cursor, hidden or not.
        let next = resp.events.last().filter(|_| more).map(|last| query.continue_from(last.cursor));
        let (items, hidden) = self.client.verify_items(self.id, resp.events).await?;
        Ok(HistoryPage { items, hidden, more, next })
    }

    /// A page of history, checked for order but not verified.
    pub(crate) async fn fetch_history(&self, query: HistoryQuery) -> Result<HistoryResponse> {
        let mut url = self.client.inner.http.url(&["v1", "rooms", &self.id.to_string(), "events"]);
        url.query_pairs_mut().extend_pairs(query.params()?);
        let resp: HistoryResponse = self.client.authed::<(), _>(Method::GET, url, None).await?;
        query.check_order(resp.events.iter().map(|item| item.cursor))?;
        Ok(resp)
    }
}

fn message_text(text: &str) -> Result<MessageText> {
    MessageText::non_empty(text).map_err(|e| SdkError::InvalidInput(format!("message text: {e}")))
}

fn reason_text(reason: Option<&str>) -> Result<Option<Reason>> {
    reason.map(|r| Reason::new(r).map_err(|e| SdkError::InvalidInput(format!("reason: {e}")))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::offline_client;
    use accord_proto::SecretKey;

    #[test]
    fn history_params() {
        assert_eq!(HistoryQuery::default().params().expect("ok"), vec![("after", "0".to_string())]);
        assert_eq!(
            HistoryQuery::before(40).limit(10).params().expect("ok"),
            vec![("before", "40".to_string()), ("limit", "10".to_string())]
        );
        assert!(HistoryQuery::after(0).limit(0).params().is_err());
        assert!(HistoryQuery::after(0).limit(501).params().is_err());
        assert!(HistoryQuery::after(0).limit(500).params().is_ok());
    }

    #[test]
    fn history_order_is_checked() {
        assert!(HistoryQuery::after(3).check_order([4, 5, 9].into_iter()).is_ok());
        assert!(HistoryQuery::after(3).check_order([3].into_iter()).is_err());
        assert!(HistoryQuery::after(3).check_order([5, 4].into_iter()).is_err());
        assert!(HistoryQuery::after(3).check_order([5, 5].into_iter()).is_err());
        assert!(HistoryQuery::before(10).check_order([9, 7, 1].into_iter()).is_ok());
        assert!(HistoryQuery::before(10).check_order([10].into_iter()).is_err());
        assert!(HistoryQuery::before(10).check_order([7, 8].into_iter()).is_err());
        assert!(HistoryQuery::before(10).check_order([0].into_iter()).is_err());
    }

    #[test]
    fn next_page_keeps_direction_and_limit() {
        assert_eq!(HistoryQuery::after(0).limit(5).continue_from(5), HistoryQuery::after(5).limit(5));
        assert_eq!(HistoryQuery::before(50).continue_from(41), HistoryQuery::before(41));
    }

    #[tokio::test]
    async fn bad_input_is_refused_locally() {
        let client = offline_client(SecretKey::from_seed([1; 32]));
        let room = client.room(RoomId::from_bytes([1; 32]));
        assert!(matches!(room.send_text("").await, Err(SdkError::InvalidInput(_))));
        assert!(matches!(room.send_text("bell\u{7}").await, Err(SdkError::InvalidInput(_))));
        assert!(matches!(room.send_text(&"x".repeat(17 * 1024)).await, Err(SdkError::InvalidInput(_))));
        let target = SecretKey::from_seed([2; 32]).account_id();
        assert!(matches!(room.kick(target, Some(&"r".repeat(2000))).await, Err(SdkError::InvalidInput(_))));
        let name = "n".to_string().try_into().expect("name");
        let create = EventContent::Create { name, join_rule: accord_proto::event::JoinRule::Public };
        assert!(matches!(room.send(create).await, Err(SdkError::InvalidInput(_))));
        assert!(matches!(room.history(HistoryQuery::after(0).limit(0)).await, Err(SdkError::InvalidInput(_))));
    }
}
