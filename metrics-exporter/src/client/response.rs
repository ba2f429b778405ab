//! What a request gives back: the answer, or why there was none, with what was seen on the way
//! (phase timings, the address used, redirects).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Version};

#[cfg(feature = "prober")]
use super::tls::TlsInfo;

/// Time spent in each phase of a request, summed over the redirects followed; phases not
/// reached stay zero.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Name resolution.
    pub resolve: Duration,
    /// TCP connect.
    pub connect: Duration,
    /// TLS handshake (zero for `http`).
    pub tls: Duration,
    /// From the request written to the response head received.
    pub processing: Duration,
    /// Reading the response body.
    pub transfer: Duration,
}

/// What was seen on the way, answered or not.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Trace {
    /// Time per phase, summed over redirects.
    pub timings: Timings,
    /// Resolving the URL's own host (the first request), once it was done.
    pub dns_lookup: Option<Duration>,
    /// The address of the URL's own host last connected to or tried.
    pub addr: Option<SocketAddr>,
    /// Redirect responses received (followed, or the one that went over the limit or was not
    /// followed), as the blackbox exporter counts them.
    pub redirects: u32,
    /// The last response head received, also when the request then failed (one redirect
    /// over the limit, a body over the size limit).
    pub last_head: Option<ResponseHead>,
}

/// What a response head showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHead {
    /// The status code.
    pub status: StatusCode,
    /// The HTTP version spoken.
    pub version: Version,
    /// The `Content-Length` header, if any.
    pub content_length: Option<u64>,
}

/// An answered request (the last one, after redirects).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The HTTP version spoken: 1.1, or 2 when the server chose `h2` in ALPN.
    pub version: Version,
    /// The `Content-Length` header, if any.
    pub content_length: Option<u64>,
    /// Bytes of body received.
    pub body_bytes: u64,
    /// The body, when the request was asked to keep it.
    pub body: Option<Bytes>,
    /// Whether the last request went over TLS.
    pub https: bool,
    /// Timings, address and redirects.
    pub trace: Trace,
    /// The `Last-Modified` header, seconds since the Unix epoch, when present and valid.
    #[cfg(feature = "prober")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prober")))]
    pub last_modified: Option<i64>,
    /// For `https`: the TLS version, cipher and certificates of the last connection. Read for
    /// the prober only: parsing certificates takes x509-parser.
    #[cfg(feature = "prober")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prober")))]
    pub tls: Option<TlsInfo>,
}

/// Why a request got no response: a bounded set, fit for a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The host name did not resolve (or had no address of the protocol required).
    Dns,
    /// The connection was refused.
    Refused,
    /// The timeout passed first.
    Timeout,
    /// The TLS handshake failed (untrusted or expired certificate, wrong name, protocol).
    Tls,
    /// More redirects than allowed, or a redirect to a URL that cannot be requested.
    Redirects,
    /// The body was longer than the size limit.
    BodySize,
    /// Anything else: reset connection, malformed response, unreachable network.
    Other,
}

impl HttpErrorKind {
    /// The label value: `dns`, `refused`, `timeout`, `tls`, `redirects`, `body_size` or
    /// `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Redirects => "redirects",
            Self::BodySize => "body_size",
            Self::Other => "other",
        }
    }
}

/// A request that got no response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HttpError {
    /// Why, as a bounded kind.
    pub kind: HttpErrorKind,
    /// What happened, for people.
    pub message: String,
    /// What was seen before the failure.
    pub trace: Trace,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for HttpError {}

/// Characters of an error message kept (a server's `Location` may be kilobytes long).
pub(crate) const DETAIL_LIMIT: usize = 256;

/// `message` cut to [`DETAIL_LIMIT`] characters (on a character boundary), `…` marking the cut.
pub(crate) fn truncate_detail(mut message: String) -> String {
    if let Some((cut, _)) = message.char_indices().nth(DETAIL_LIMIT) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// A URL (or request setting) that cannot be requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub(crate) String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_cut_on_a_character_boundary() {
        assert_eq!(truncate_detail("short".to_owned()), "short");
        let exact = "a".repeat(DETAIL_LIMIT);
        assert_eq!(truncate_detail(exact.clone()), exact);
        // Two-byte characters: a byte count would cut one in half.
        let long = format!("x{}", "é".repeat(1000));
        let cut = truncate_detail(long);
        assert_eq!(cut.chars().count(), DETAIL_LIMIT + 1);
        assert!(cut.starts_with("xé") && cut.ends_with("é…"), "{cut}");
    }
}
