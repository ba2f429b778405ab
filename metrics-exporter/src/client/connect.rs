//! Name resolution and TCP connect: addresses of the preferred IP protocol first, each tried
//! with its own connect timeout until one accepts.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::response::HttpErrorKind;

/// An IP protocol: which address family of a name to connect to first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpProtocol {
    /// IPv4 (`ip4`).
    Ip4,
    /// IPv6 (`ip6`), the blackbox exporter's default.
    #[default]
    Ip6,
}

impl IpProtocol {
    /// `ip4` or `ip6`, as in the target file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip4 => "ip4",
            Self::Ip6 => "ip6",
        }
    }

    fn matches(self, addr: &SocketAddr) -> bool {
        match self {
            Self::Ip4 => addr.is_ipv4(),
            Self::Ip6 => addr.is_ipv6(),
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An IP protocol that is neither `ip4` nor `ip6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpProtocolError(String);

impl fmt::Display for IpProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not an IP protocol: use ip4 or ip6", self.0)
    }
}

impl std::error::Error for IpProtocolError {}

impl FromStr for IpProtocol {
    type Err = IpProtocolError;

    /// `ip4` or `ip6` (ASCII case ignored).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ip4" => Ok(Self::Ip4),
            "ip6" => Ok(Self::Ip6),
            _ => Err(IpProtocolError(text.to_owned())),
        }
    }
}

/// Which addresses to try, in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddressChoice {
    pub(crate) preferred: IpProtocol,
    /// Also try the other protocol's addresses, after the preferred ones.
    pub(crate) fallback: bool,
    /// Time allowed per address; `None` shares what is left of the deadline between the
    /// addresses not yet tried.
    pub(crate) connect_timeout: Option<Duration>,
}

impl Default for AddressChoice {
    fn default() -> Self {
        Self {
            preferred: IpProtocol::Ip6,
            fallback: true,
            connect_timeout: None,
        }
    }
}

/// Resolves `host`. Names under `.invalid` never resolve (RFC 6761): they fail here, without
/// a query.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    choice: AddressChoice,
) -> Result<Vec<SocketAddr>, (HttpErrorKind, String)> {
    let lower = host.trim_end_matches('.').to_ascii_lowercase();
    if lower == "invalid" || lower.ends_with(".invalid") {
        return Err((
            HttpErrorKind::Dns,
            format!("{host}: names under .invalid never resolve"),
        ));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| (HttpErrorKind::Dns, format!("resolving {host}: {e}")))?
        .collect();
    let ordered = order(addrs, choice);
    if ordered.is_empty() {
        let only = if choice.fallback {
            String::new()
        } else {
            format!(" ({} only)", choice.preferred)
        };
        return Err((HttpErrorKind::Dns, format!("{host} has no address{only}")));
    }
    Ok(ordered)
}

/// The preferred protocol's addresses first (in resolver order), then the others if falling
/// back is allowed.
fn order(addrs: Vec<SocketAddr>, choice: AddressChoice) -> Vec<SocketAddr> {
    let (mut preferred, others): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| choice.preferred.matches(a));
    if choice.fallback {
        preferred.extend(others);
    }
    preferred
}

/// Connects to the first address that accepts within its connect timeout; the error carries
/// the last address tried.
pub(crate) async fn connect(
    addrs: &[SocketAddr],
    choice: AddressChoice,
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr), (HttpErrorKind, String, Option<SocketAddr>)> {
    let mut last = (HttpErrorKind::Other, "no address".to_owned(), None);
    for (index, addr) in addrs.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let untried = u32::try_from(addrs.len() - index).unwrap_or(u32::MAX);
        let allowed = choice
            .connect_timeout
            .unwrap_or(left / untried.max(1))
            .min(left);
        match tokio::time::timeout(allowed, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, *addr)),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = (
                    HttpErrorKind::Refused,
                    format!("connecting to {addr}: {e}"),
                    Some(*addr),
                );
            }
            Ok(Err(e)) => {
                last = (
                    HttpErrorKind::Other,
                    format!("connecting to {addr}: {e}"),
                    Some(*addr),
                );
            }
            Err(_) => {
                last = (
                    HttpErrorKind::Timeout,
                    format!("connecting to {addr}: no answer within {allowed:?}"),
                    Some(*addr),
                );
            }
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_addresses_come_first_and_others_only_with_fallback() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let choice = |preferred, fallback| AddressChoice {
            preferred,
            fallback,
            connect_timeout: None,
        };
        assert_eq!(order(vec![v4, v6], choice(IpProtocol::Ip6, true)), [v6, v4]);
        assert_eq!(order(vec![v6, v4], choice(IpProtocol::Ip4, true)), [v4, v6]);
        assert_eq!(order(vec![v4, v6], choice(IpProtocol::Ip6, false)), [v6]);
        assert!(order(vec![v4], choice(IpProtocol::Ip6, false)).is_empty());
        assert_eq!("IP4".parse(), Ok(IpProtocol::Ip4));
        assert_eq!(
            "ipx".parse::<IpProtocol>().unwrap_err().to_string(),
            "\"ipx\" is not an IP protocol: use ip4 or ip6"
        );
    }
}
