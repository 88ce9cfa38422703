//! The client's address behind trusted reverse proxies (`api.trusted_proxies`,
//! spec/client-api.md §8): only a connection from a trusted proxy has its
//! forwarding header read, and the client is the right-most address in it
//! that is not itself a trusted proxy. Addresses left of that one were
//! written by the client or by hops nobody vouches for, so a client cannot
//! choose the address its limits count against.

use crate::config::{ProxyHeader, TrustedProxy};
use axum::http::HeaderMap;
use axum::http::header::{FORWARDED, HeaderName};
use std::net::{IpAddr, SocketAddr};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Who may name the client, and in which header.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    trusted: Vec<TrustedProxy>,
    header: Option<ProxyHeader>,
}

impl Proxies {
    /// Proxies `trusted`, writing the client's address in `header`.
    pub fn new(trusted: Vec<TrustedProxy>, header: ProxyHeader) -> Self {
        Self { trusted, header: Some(header) }
    }

    /// No trusted proxy: every client is its TCP peer.
    pub fn none() -> Self {
        Self::default()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|proxy| proxy.contains(ip))
    }

    /// The client of a request that came from `peer` with `headers`: the
    /// peer itself unless it is a trusted proxy; else the right-most
    /// forwarded address that is not a trusted proxy (the left-most if all
    /// are). An address that does not parse ends the walk at the hop that
    /// wrote it, the last one trusted. A forwarded client has port 0.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        let Some(header) = self.header else { return peer };
        if !self.trusts(peer.ip()) {
            return peer;
        }
        let hops = match header {
            ProxyHeader::XForwardedFor => listed(headers, &X_FORWARDED_FOR, Some),
            ProxyHeader::Forwarded => listed(headers, &FORWARDED, forwarded_for),
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop.and_then(address) else { break };
            client = SocketAddr::new(ip, 0);
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The comma-separated items of every `name` header, in order, each
/// mapped by `pick` (`None`: an item naming no address).
fn listed<'h>(headers: &'h HeaderMap, name: &HeaderName, pick: fn(&'h str) -> Option<&'h str>) -> Vec<Option<&'h str>> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(|item| pick(item.trim())).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` parameter of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        key.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
    })
}

/// The address of a forwarded node: `192.0.2.7`, `192.0.2.7:4711`,
/// `2001:db8::1`, `[2001:db8::1]:4711`; `None` for anything else
/// (`unknown`, an obfuscated `_name`).
fn address(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let ip = node.parse::<IpAddr>().or_else(|_| node.parse::<SocketAddr>().map(|a| a.ip())).ok()?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(header: ProxyHeader) -> Proxies {
        Proxies::new(vec!["10.0.0.0/8".parse().unwrap(), "192.0.2.1".parse().unwrap()], header)
    }

    fn headers(name: HeaderName, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_trusted_proxy_names_the_right_most_untrusted_address() {
        let proxies = proxies(ProxyHeader::XForwardedFor);
        let peer = SocketAddr::from(([10, 1, 2, 3], 5000));
        let client = |values: &[&str]| proxies.client(peer, &headers(X_FORWARDED_FOR, values)).ip();
        assert_eq!(client(&["198.51.100.7"]), ip("198.51.100.7"));
        // Whatever the client wrote on the left is passed over.
        assert_eq!(client(&["6.6.6.6, 198.51.100.7"]), ip("198.51.100.7"));
        // Trusted hops on the right are walked through, over several headers.
        assert_eq!(client(&["6.6.6.6, 198.51.100.7", "10.9.9.9, 192.0.2.1"]), ip("198.51.100.7"));
        assert_eq!(client(&["[2001:db8::5]:4711"]), ip("2001:db8::5"));
        assert_eq!(client(&["198.51.100.7:80"]), ip("198.51.100.7"));
        // Only trusted hops: the left-most; none: the proxy itself.
        assert_eq!(client(&["10.0.0.9, 192.0.2.1"]), ip("10.0.0.9"));
        assert_eq!(client(&[]), ip("10.1.2.3"));
        // Garbage ends the walk at the last trusted hop.
        assert_eq!(client(&["198.51.100.7, garbage"]), ip("10.1.2.3"));
        assert_eq!(client(&["198.51.100.7, garbage, 10.0.0.4"]), ip("10.0.0.4"));
        // The other header is not read.
        assert_eq!(proxies.client(peer, &headers(FORWARDED, &["for=198.51.100.7"])).ip(), ip("10.1.2.3"));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let peer = SocketAddr::from(([203, 0, 113, 5], 5000));
        for proxies in [proxies(ProxyHeader::XForwardedFor), Proxies::none()] {
            assert_eq!(proxies.client(peer, &headers(X_FORWARDED_FOR, &["198.51.100.7"])), peer);
        }
        let loopback = SocketAddr::from(([127, 0, 0, 1], 5000));
        assert_eq!(Proxies::none().client(loopback, &headers(X_FORWARDED_FOR, &["198.51.100.7"])), loopback);
        // A mapped IPv4 peer counts as its IPv4 address.
        let mapped = SocketAddr::new(ip("::ffff:10.1.2.3"), 1);
        let proxies = proxies(ProxyHeader::XForwardedFor);
        assert_eq!(proxies.client(mapped, &headers(X_FORWARDED_FOR, &["198.51.100.7"])).ip(), ip("198.51.100.7"));
    }

    #[test]
    fn the_forwarded_header_is_read_by_its_for_parameters() {
        let proxies = proxies(ProxyHeader::Forwarded);
        let peer = SocketAddr::from(([10, 1, 2, 3], 5000));
        let client = |values: &[&str]| proxies.client(peer, &headers(FORWARDED, values)).ip();
        assert_eq!(client(&["for=192.0.2.60;proto=http;by=203.0.113.43"]), ip("192.0.2.60"));
        assert_eq!(client(&["For=\"[2001:db8:cafe::17]:4711\""]), ip("2001:db8:cafe::17"));
        assert_eq!(client(&["for=6.6.6.6, for=198.51.100.7;proto=https", "for=10.0.0.2"]), ip("198.51.100.7"));
        assert_eq!(client(&["for=unknown"]), ip("10.1.2.3"));
        assert_eq!(client(&["for=_hidden, for=198.51.100.7"]), ip("198.51.100.7"));
        assert_eq!(proxies.client(peer, &headers(X_FORWARDED_FOR, &["198.51.100.7"])).ip(), ip("10.1.2.3"));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let range: TrustedProxy = "10.0.0.0/8".parse().unwrap();
        assert!(range.contains(ip("10.255.0.1")) && !range.contains(ip("11.0.0.1")));
        let one: TrustedProxy = "::1".parse().unwrap();
        assert!(one.contains(ip("::1")) && !one.contains(ip("::2")));
        assert!("proxy.example".parse::<TrustedProxy>().is_err());
        assert_eq!(String::from("10.1.2.3/8".parse::<TrustedProxy>().unwrap()), "10.0.0.0/8");
    }
}
