//! Retrying requests the node refused with `rate_limited` (client API
//! §1.1): the node refuses such a request before acting on it and says
//! how long to wait (`retry_after_ms`), so a request that is safe to repeat
//! is sent again after that delay, a bounded number of times. Also the
//! receipts of repeated submissions, and the wait for a join's fetch that
//! outlasted its request (`join_in_progress`, client API §4.1).

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::timeline::{HistoryQuery, SendReceipt};
use accord_api::rooms::{JoinState, JoinStatus};
use accord_proto::event::EventBody;
use accord_proto::{EventId, RoomId, Verified};
use reqwest::Method;
use std::time::{Duration, Instant};

/// How often a join's fetch is asked about while it runs.
const JOIN_POLL: Duration = Duration::from_millis(250);
/// How long a join's fetch may go without storing an event before the
/// wait for it gives up (the fetch itself carries on at the node).
const JOIN_STALL: Duration = Duration::from_secs(300);

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

    /// Where the account's join of `room` stands (`GET
    /// /v1/rooms/{room}/join`, client API §4.1).
    pub(crate) async fn join_status(&self, room: RoomId) -> Result<JoinStatus> {
        let url = self.inner.http.url(&["v1", "rooms", &room.to_string(), "join"]);
        let status: JoinStatus = self.authed::<(), _>(Method::GET, url, None).await?;
        if status.room != room {
            return Err(SdkError::Protocol(format!(
                "asked about the join of {room}, the node answered about {}",
                status.room
            )));
        }
        Ok(status)
    }

    /// Waits until the node's fetch of `room` for a join is over: `Ok` once
    /// it holds the room, the join's refusal if the fetch failed, and
    /// `pending` (the `join_in_progress` answer) if the fetch stores
    /// nothing for [`JOIN_STALL`]. The fetch carries on at the node
    /// whatever happens here.
    pub(crate) async fn wait_for_join(&self, room: RoomId, pending: SdkError) -> Result<()> {
        let mut last = (0, Instant::now());
        loop {
            let status = self.join_status(room).await?;
            match status.state {
                JoinState::Fetching => {}
                JoinState::Failed => {
                    return Err(match status.error {
                        Some(detail) => SdkError::api(None, *detail),
                        None => pending,
                    });
                }
                _ => return Ok(()),
            }
            if status.events_fetched != last.0 {
                last = (status.events_fetched, Instant::now());
            } else if last.1.elapsed() > JOIN_STALL {
                return Err(pending);
            }
            tokio::time::sleep(JOIN_POLL).await;
        }
    }
}
