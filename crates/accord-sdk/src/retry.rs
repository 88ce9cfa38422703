//! Retrying requests the node refused with `rate_limited` (client API
//! §1.1): the node refuses such a request before acting on it and says
//! how long to wait (`retry_after_ms`), so a request that is safe to repeat
//! is sent again after that delay, a bounded number of times.

use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::room::{HistoryQuery, SendReceipt};
use accord_proto::event::EventBody;
use accord_proto::{EventId, RoomId, Verified};
use std::time::Duration;

/// The shortest wait before a retry: a node that rounds a sub-millisecond
/// delay down to `0` is not asked again at once.
const MIN_WAIT: Duration = Duration::from_millis(5);
/// How many history pages (of 100) are searched for an event a repeated
/// submission found already stored.
const RECEIPT_SEARCH_PAGES: usize = 5;

/// How a [`Client`](crate::Client) retries requests refused with
/// `rate_limited`.
///
/// A refused request that is safe to repeat (reads, logins, event
/// submissions) is sent again after the delay the node names, up to
/// `max_retries` times. A delay longer than `max_wait` is not waited for:
/// the `rate_limited` error is returned at once. Other requests (reports,
/// moderators' actions, registration) are never repeated by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub max_retries: u32,
    /// The longest delay the client waits before one retry.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// A policy with the given retry count and longest delay.
    pub fn new(max_retries: u32, max_wait: Duration) -> Self {
        Self { max_retries, max_wait }
    }

    /// Never retry: every `rate_limited` refusal is returned to the caller.
    pub fn never() -> Self {
        Self { max_retries: 0, max_wait: Duration::ZERO }
    }

    /// How long to wait before retry number `retried + 1` after `err`, or
    /// `None` if the request is not to be retried.
    pub(crate) fn wait(&self, err: &SdkError, retried: u32) -> Option<Duration> {
        if retried >= self.max_retries {
            return None;
        }
        match err {
            SdkError::Api { code, retry_after_ms: Some(ms), .. } if code == "rate_limited" => {
                Some(Duration::from_millis(*ms)).filter(|wait| *wait <= self.max_wait).map(|wait| wait.max(MIN_WAIT))
            }
            _ => None,
        }
    }
}

impl Default for RetryPolicy {
    /// Five retries, each waiting at most five seconds.
    fn default() -> Self {
        Self::new(5, Duration::from_secs(5))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, retry_after_ms: Option<u64>) -> SdkError {
        SdkError::Api { status: 429, code: code.into(), message: String::new(), retry_after_ms, provenance: None }
    }

    #[test]
    fn rate_limits_are_retried_after_the_node_s_delay() {
        let policy = RetryPolicy::new(2, Duration::from_secs(1));
        assert_eq!(policy.wait(&api("rate_limited", Some(40)), 0), Some(Duration::from_millis(40)));
        assert_eq!(policy.wait(&api("rate_limited", Some(40)), 1), Some(Duration::from_millis(40)));
        assert_eq!(policy.wait(&api("rate_limited", Some(40)), 2), None, "the retry budget is spent");
        assert_eq!(policy.wait(&api("rate_limited", Some(0)), 0), Some(MIN_WAIT));
    }

    #[test]
    fn other_errors_and_long_delays_are_not_retried() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait(&api("rate_limited", Some(60_000)), 0), None);
        assert_eq!(policy.wait(&api("rate_limited", None), 0), None);
        assert_eq!(policy.wait(&api("not_member", Some(10)), 0), None);
        assert_eq!(policy.wait(&SdkError::Transport { message: "x".into() }, 0), None);
        assert_eq!(RetryPolicy::never().wait(&api("rate_limited", Some(1)), 0), None);
    }
}
