//! Policies of the client: how it retries requests the node refused with
//! `rate_limited`, and how a live stream reconnects. Plain values, below
//! everything that uses them.

use crate::error::SdkError;
use std::time::Duration;

/// The shortest wait before a retry: a node that rounds a sub-millisecond
/// delay down to `0` is not asked again at once.
pub(crate) const MIN_WAIT: Duration = Duration::from_millis(5);

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

/// How a [`Subscription`](crate::Subscription) reconnects after its connection fails.
///
/// The delay starts at `initial_delay` and doubles on each consecutive
/// failure up to `max_delay` (a node's `retry_after_ms` is honoured when
/// longer). After `max_attempts` consecutive failures the stream yields
/// [`SdkError::ReconnectFailed`] and ends. A connection that delivers
/// anything resets the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Delay before the first reconnection attempt.
    pub initial_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// Consecutive failed attempts before giving up.
    pub max_attempts: u32,
}

impl ReconnectPolicy {
    /// A policy with the given delays and attempt count.
    pub fn new(initial_delay: Duration, max_delay: Duration, max_attempts: u32) -> Self {
        Self { initial_delay, max_delay: max_delay.max(initial_delay), max_attempts }
    }

    /// The delay before attempt `attempt` (1-based).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
        self.initial_delay.saturating_mul(factor).min(self.max_delay)
    }
}

impl Default for ReconnectPolicy {
    /// 250 ms, doubling to 30 s, giving up after 20 attempts in a row
    /// (about eight minutes without a working connection).
    fn default() -> Self {
        Self::new(Duration::from_millis(250), Duration::from_secs(30), 20)
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
