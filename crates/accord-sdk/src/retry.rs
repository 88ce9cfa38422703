//! Retrying requests the node refused with `rate_limited` (client API
//! §1.1): the node refuses such a request before acting on it and says
//! how long to wait (`retry_after_ms`), so a request that is safe to repeat
//! is sent again after that delay, a bounded number of times.

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::timeline::{HistoryQuery, SendReceipt};
use accord_proto::event::EventBody;
use accord_proto::{EventId, RoomId, Verified};

/// How many history pages (of 100) are searched for an event a repeated
/// submission found already stored.
const RECEIPT_SEARCH_PAGES: usize = 5;

impl Client {
    /// The receipt of `sent`, which the node says it already stores
    /// (`duplicate_event`, the refusal `err`): an earlier attempt of the
    /// same submission got through. The event is looked up among the room's
    /// latest events (for a `create`, the room's first); if it cannot be
    /// found there, `err` is returned.
    pub(crate) async fn stored_receipt(&self, sent: &Verified<EventBody>, err: SdkError) -> Result<SendReceipt> {
        let id = EventId(sent.body_hash());
        let room_id = sent.room.unwrap_or(RoomId::from(id));
        let room = self.room(room_id);
        let mut query = Some(if sent.room.is_none() {
            HistoryQuery::after(0).limit(1)
        } else {
            HistoryQuery::before(u64::MAX).limit(100)
        });
        for _ in 0..RECEIPT_SEARCH_PAGES {
            let Some(q) = query.take() else { break };
            let Ok(page) = room.history(q).await else { break };
            // History items are verified like receipts; the id binds the
            // author body signed here.
            if let Some(item) = page.items.into_iter().flatten().find(|item| item.id() == id) {
                tracing::debug!(event = %id, cursor = item.cursor, "a repeated submission was already stored");
                return Ok(SendReceipt { event_id: id, room: room_id, cursor: item.cursor, event: item.event });
            }
            query = page.next;
        }
        Err(err)
    }
}
