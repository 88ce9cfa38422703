//! Rate limits per account and per client address (spec/client-api.md §8),
//! on registrations per client address (an IPv6 address counts by its
//! /64), and per peer node (spec/federation.md §4), with `governor`'s
//! keyed GCRA limiters.

use accord_proto::{AccountId, NodeId};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// The network an address's registrations count against: an IPv4 address
/// itself (an IPv4-mapped IPv6 address as IPv4), an IPv6 address's /64,
/// which one subscriber commonly holds whole.
pub fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

/// The limiters of one configuration.
struct Limiters {
    events: DefaultKeyedRateLimiter<AccountId>,
    requests: DefaultKeyedRateLimiter<IpAddr>,
    registrations: DefaultKeyedRateLimiter<IpAddr>,
    peer_events: DefaultKeyedRateLimiter<NodeId>,
    peer_requests: DefaultKeyedRateLimiter<NodeId>,
    reports: DefaultKeyedRateLimiter<AccountId>,
    peer_reports: DefaultKeyedRateLimiter<NodeId>,
    clock: DefaultClock,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl Limiters {
    // What each does: see the same methods of `Limits`.
    fn new(
        config: &crate::config::LimitsSection,
        registration: &crate::config::RegistrationSection,
        reports: &crate::config::ReportsSection,
    ) -> Self {
        let per_hour = NonZeroU32::new(reports.per_reporter_per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
        let per_minute = NonZeroU32::new(reports.peer_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(reports.per_reporter_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let registrations = NonZeroU32::new(registration.per_address_per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
        let registration_burst = NonZeroU32::new(registration.per_address_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            reports: RateLimiter::keyed(Quota::per_hour(per_hour).allow_burst(burst)),
            peer_reports: RateLimiter::keyed(Quota::per_minute(per_minute)),
            events: RateLimiter::keyed(quota(config.events_per_second, config.burst)),
            requests: RateLimiter::keyed(quota(config.requests_per_second_per_ip, config.ip_burst)),
            registrations: RateLimiter::keyed(Quota::per_hour(registrations).allow_burst(registration_burst)),
            peer_events: RateLimiter::keyed(quota(config.peer_events_per_second, config.peer_burst)),
            peer_requests: RateLimiter::keyed(quota(config.peer_requests_per_second, config.peer_request_burst)),
            clock: DefaultClock::default(),
        }
    }

    fn event(&self, account: &AccountId) -> Result<(), u64> {
        self.events
            .check_key(account)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as u64)
    }

    fn request(&self, ip: IpAddr) -> Result<(), u64> {
        self.requests.check_key(&ip).map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as u64)
    }

    fn registration(&self, ip: IpAddr) -> Result<(), u64> {
        self.registrations
            .check_key(&network_of(ip))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as u64)
    }

    fn peer_events(&self, peer: &NodeId, n: usize) -> bool {
        let Some(n) = NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)) else { return true };
        matches!(self.peer_events.check_key_n(peer, n), Ok(Ok(())))
    }

    fn peer_request(&self, peer: &NodeId) -> bool {
        self.peer_requests.check_key(peer).is_ok()
    }

    fn report(&self, reporter: &AccountId) -> Result<(), u64> {
        self.reports
            .check_key(reporter)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_millis() as u64)
    }

    fn peer_report(&self, peer: &NodeId) -> bool {
        self.peer_reports.check_key(peer).is_ok()
    }

    fn prune(&self) {
        self.events.retain_recent();
        self.requests.retain_recent();
        self.registrations.retain_recent();
        self.peer_events.retain_recent();
        self.peer_requests.retain_recent();
        self.reports.retain_recent();
        self.peer_reports.retain_recent();
    }
}

/// The node's rate limiters. A configuration reload (`SIGHUP`) replaces
/// them with limiters of the new rates; every allowance starts afresh.
pub struct Limits {
    current: std::sync::RwLock<std::sync::Arc<Limiters>>,
}

impl Limits {
    /// Limiters from the configured rates.
    pub fn new(
        config: &crate::config::LimitsSection,
        registration: &crate::config::RegistrationSection,
        reports: &crate::config::ReportsSection,
    ) -> Self {
        Self { current: std::sync::RwLock::new(std::sync::Arc::new(Limiters::new(config, registration, reports))) }
    }

    /// Replaces the limiters with ones of the rates configured now.
    pub fn reload(
        &self,
        config: &crate::config::LimitsSection,
        registration: &crate::config::RegistrationSection,
        reports: &crate::config::ReportsSection,
    ) {
        let fresh = std::sync::Arc::new(Limiters::new(config, registration, reports));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    fn now(&self) -> std::sync::Arc<Limiters> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes one event from `account`'s allowance; `Err(ms)` says when to retry.
    pub fn event(&self, account: &AccountId) -> Result<(), u64> {
        self.now().event(account)
    }

    /// Takes one request from `ip`'s allowance; `Err(ms)` says when to retry.
    pub fn request(&self, ip: IpAddr) -> Result<(), u64> {
        self.now().request(ip)
    }

    /// Takes one registration attempt from the allowance of `ip`'s
    /// network (the address itself, or its /64 for IPv6); `Err(ms)` says
    /// when to retry.
    pub fn registration(&self, ip: IpAddr) -> Result<(), u64> {
        self.now().registration(ip)
    }

    /// Takes `n` pushed events from a peer node's allowance; false when it
    /// has none left now (the peer retries later).
    pub fn peer_events(&self, peer: &NodeId, n: usize) -> bool {
        self.now().peer_events(peer, n)
    }

    /// Takes one federation request from a peer's allowance; false when it
    /// has none left now.
    pub fn peer_request(&self, peer: &NodeId) -> bool {
        self.now().peer_request(peer)
    }

    /// Takes one report from `reporter`'s allowance; `Err(ms)` says when to
    /// retry.
    pub fn report(&self, reporter: &AccountId) -> Result<(), u64> {
        self.now().report(reporter)
    }

    /// Takes one forwarded report from a peer's allowance.
    pub fn peer_report(&self, peer: &NodeId) -> bool {
        self.now().peer_report(peer)
    }

    /// Forgets idle keys so the maps stay bounded.
    pub fn prune(&self) {
        self.now().prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_address_counts_by_its_64_and_ipv4_by_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network_of(a), network_of(b));
        assert_ne!(network_of(a), network_of(other));
        assert_eq!(network_of("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_ne!(network_of("192.0.2.7".parse().unwrap()), network_of("192.0.2.8".parse().unwrap()));
    }

    #[test]
    fn registrations_are_limited_per_64_with_a_retry_time() {
        let registration =
            crate::config::RegistrationSection { per_address_per_hour: 1, per_address_burst: 2, ..Default::default() };
        let limits = Limits::new(&Default::default(), &registration, &Default::default());
        let (a, b) = ("2001:db8::1".parse().unwrap(), "2001:db8::2".parse().unwrap());
        assert!(limits.registration(a).is_ok());
        assert!(limits.registration(b).is_ok(), "the burst is shared by the /64");
        let retry = limits.registration(a).unwrap_err();
        assert!(retry > 3_000_000 && retry <= 3_600_000, "one an hour: retry in about an hour ({retry} ms)");
        assert!(limits.registration("2001:db8:0:1::1".parse().unwrap()).is_ok(), "another /64 is not limited");
    }
}
