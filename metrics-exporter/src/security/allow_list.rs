//! [`AllowList`]: which client addresses may reach the protected routes.

use std::net::IpAddr;
use std::str::FromStr;

use http::HeaderMap;
use ipnet::{IpNet, Ipv4Net};

use super::SecurityError;

/// Client IP ranges (CIDR, IPv4 and IPv6) allowed to reach the exporter, and the proxies whose
/// `X-Forwarded-For` is believed.
///
/// The client is the TCP peer, unless the peer is a trusted proxy: then the client is the
/// right-most `X-Forwarded-For` address that is not itself a trusted proxy. A header sent by
/// any other peer is ignored, so a client cannot claim an allowed address by writing it.
///
/// IPv4 clients are compared as IPv4 even when a dual-stack socket shows them IPv4-mapped
/// (`::ffff:10.1.2.3`), and so are configured IPv4-mapped ranges: `::ffff:10.0.0.0/104` is
/// `10.0.0.0/8`, in both the allowed ranges and the trusted proxies. An IPv6 range shorter
/// than /96 stays IPv6 and matches IPv6 clients only.
///
/// ```
/// use metrics_exporter::security::AllowList;
///
/// let list = AllowList::new()
///     .allow("10.0.0.0/8").unwrap()
///     .allow("fd00::/8").unwrap()
///     .trust_forwarded_for_from("192.168.1.10/32").unwrap();
/// assert!(list.allows("10.1.2.3".parse().unwrap()));
/// assert!(!list.allows("8.8.8.8".parse().unwrap()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    allowed: Vec<IpNet>,
    trusted_proxies: Vec<IpNet>,
}

/// Parses a CIDR range; a bare address is its own /32 or /128, and an IPv4-mapped range is
/// the IPv4 range it maps.
fn parse_net(text: &str, field: &'static str) -> Result<IpNet, SecurityError> {
    let text = text.trim();
    IpNet::from_str(text)
        .or_else(|_| IpAddr::from_str(text).map(IpNet::from))
        .map(|net| canonical_net(net.trunc()))
        .map_err(|_| {
            SecurityError::malformed(
                field,
                format!("{text:?} is not a CIDR range: use ADDRESS/PREFIX, such as 10.0.0.0/8 or fd00::/8"),
            )
        })
}

/// Maps IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, from dual-stack sockets) to IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Maps a range of IPv4-mapped addresses (`::ffff:10.0.0.0/104`, prefix 96 or more) to the IPv4
/// range (`10.0.0.0/8`), as [`canonical`] maps the client addresses it is compared with.
fn canonical_net(net: IpNet) -> IpNet {
    let IpNet::V6(v6) = net else {
        return net;
    };
    match (
        v6.network().to_ipv4_mapped(),
        v6.prefix_len().checked_sub(96),
    ) {
        (Some(v4), Some(prefix)) => Ipv4Net::new(v4, prefix).map_or(net, IpNet::V4),
        _ => net,
    }
}

impl AllowList {
    /// An empty list; with no range allowed, [`allows`](Self::allows) is false for everyone, but
    /// an exporter only checks a list that has at least one range.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows a CIDR range (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
    pub fn allow(mut self, cidr: &str) -> Result<Self, SecurityError> {
        self.allowed.push(parse_net(cidr, "allow")?);
        Ok(self)
    }

    /// Believes `X-Forwarded-For` from peers in this range (your reverse proxies). Without any,
    /// the header is never read.
    pub fn trust_forwarded_for_from(mut self, cidr: &str) -> Result<Self, SecurityError> {
        self.trusted_proxies
            .push(parse_net(cidr, "trust_forwarded_for_from")?);
        Ok(self)
    }

    /// Whether any range is allowed (an empty list is not checked).
    pub(crate) fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Whether `ip` is in an allowed range.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowed.iter().any(|net| net.contains(&ip))
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer`: the peer itself unless it is a trusted
    /// proxy, else the right-most untrusted `X-Forwarded-For` entry. `None` when a trusted proxy
    /// sent an entry that is not an address (the request is then refused).
    pub(crate) fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = canonical(peer);
        if !self.trusted(client) {
            return Some(client);
        }
        // Right to left: each hop appended the address it received the request from, and only
        // the entries added by our own proxies can be believed.
        for value in headers.get_all("x-forwarded-for").iter().rev() {
            let text = value.to_str().ok()?;
            for entry in text.rsplit(',') {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                client = canonical(IpAddr::from_str(entry).ok()?);
                if !self.trusted(client) {
                    return Some(client);
                }
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn matches_ipv4_ipv6_and_mapped_addresses() {
        let list = AllowList::new()
            .allow("10.0.0.0/8")
            .unwrap()
            .allow("2001:db8::/32")
            .unwrap()
            .allow("127.0.0.1")
            .unwrap();
        assert!(list.allows(ip("10.255.0.1")));
        assert!(list.allows(ip("::ffff:10.0.0.1")));
        assert!(list.allows(ip("2001:db8::1")));
        assert!(list.allows(ip("127.0.0.1")));
        assert!(!list.allows(ip("127.0.0.2")));
        assert!(!list.allows(ip("2001:db9::1")));
        assert!(!list.allows(ip("11.0.0.1")));
    }

    #[test]
    fn ipv4_mapped_ranges_are_their_ipv4_ranges() {
        let list = AllowList::new()
            .allow("::ffff:127.0.0.0/104")
            .unwrap()
            .allow("::ffff:10.1.2.3")
            .unwrap()
            .allow("::ffff:0:0/95")
            .unwrap()
            .trust_forwarded_for_from("::ffff:192.168.0.0/112")
            .unwrap();
        assert!(list.allows(ip("127.0.0.1")));
        assert!(list.allows(ip("::ffff:127.9.9.9")));
        assert!(list.allows(ip("10.1.2.3")));
        assert!(!list.allows(ip("10.1.2.4")));
        assert!(!list.allows(ip("128.0.0.1")));
        // Shorter than /96: an IPv6 range.
        assert!(list.allows(ip("::fffe:0:1")));
        assert_eq!(
            list.client_ip(ip("192.168.3.4"), &forwarded(&["10.1.2.3"])),
            Some(ip("10.1.2.3"))
        );
    }

    #[test]
    fn rejects_malformed_ranges_naming_the_form() {
        for bad in ["10.0.0.0/33", "ten", "", "10.0.0.0/8/8", "::/129"] {
            let error = AllowList::new().allow(bad).unwrap_err();
            assert!(error.to_string().contains("CIDR"), "{bad}: {error}");
        }
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let list = AllowList::new()
            .allow("10.0.0.0/8")
            .unwrap()
            .trust_forwarded_for_from("192.168.0.0/24")
            .unwrap();
        let spoofed = forwarded(&["10.0.0.1"]);
        // An untrusted peer's header is ignored.
        assert_eq!(list.client_ip(ip("8.8.8.8"), &spoofed), Some(ip("8.8.8.8")));
        // A trusted proxy's is believed, right to left, skipping trusted hops.
        assert_eq!(
            list.client_ip(
                ip("192.168.0.5"),
                &forwarded(&["1.2.3.4, 10.0.0.7, 192.168.0.9"])
            ),
            Some(ip("10.0.0.7"))
        );
        // The client cannot prepend an allowed address before the proxy's own entry.
        assert_eq!(
            list.client_ip(ip("192.168.0.5"), &forwarded(&["10.0.0.1", "8.8.8.8"])),
            Some(ip("8.8.8.8"))
        );
        assert_eq!(
            list.client_ip(ip("192.168.0.5"), &forwarded(&["junk"])),
            None
        );
        // No header: the proxy itself is the client.
        assert_eq!(
            list.client_ip(ip("192.168.0.5"), &HeaderMap::new()),
            Some(ip("192.168.0.5"))
        );
    }
}
