//! Rate limits per account and per client address (spec/client-api.md §8),
//! with `governor`'s keyed GCRA limiters.

use accord_proto::AccountId;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// The node's rate limiters.
pub struct Limits {
    events: DefaultKeyedRateLimiter<AccountId>,
    requests: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl Limits {
    /// Limiters from the configured rates.
    pub fn new(config: &crate::config::LimitsSection) -> Self {
        Self {
            events: RateLimiter::keyed(quota(config.events_per_second, config.burst)),
            requests: RateLimiter::keyed(quota(config.requests_per_second_per_ip, config.ip_burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one event from `account`'s allowance; `Err(ms)` says when to retry.
    pub fn event(&self, account: &AccountId) -> Result<(), u64> {
        self.events
            .check_key(account)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as u64)
    }

    /// Takes one request from `ip`'s allowance; `Err(ms)` says when to retry.
    pub fn request(&self, ip: IpAddr) -> Result<(), u64> {
        self.requests.check_key(&ip).map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as u64)
    }

    /// Forgets idle keys so the maps stay bounded.
    pub fn prune(&self) {
        self.events.retain_recent();
        self.requests.retain_recent();
    }
}
