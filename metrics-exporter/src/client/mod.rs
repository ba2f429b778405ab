//! A small HTTP client that times each phase of a request, shared by the HTTP health check
//! ([`checks::http_get`](crate::checks::http_get)) and the prober: name resolution (addresses
//! of the preferred IP protocol first), TCP connect (a timeout per address), TLS handshake
//! (rustls, the Mozilla roots, `h2` and `http/1.1` offered in ALPN), server processing (request
//! sent to response head) and transfer (the body), summed over the redirects it follows.

mod body;
mod connect;
mod credentials;
mod endpoint;
mod request;
mod response;
mod tls;

pub(crate) use connect::AddressChoice;
pub use connect::{IpProtocol, IpProtocolError};
pub(crate) use credentials::{redact_credentials, url_without_credentials};
pub(crate) use request::{HttpRequest, RequestOptions};
pub(crate) use response::HttpResponse;
// Public where they appear in the API: `checks::UrlError`, `prober::HttpErrorKind`, the
// fields of `prober::ProbeOutcome`.
pub use response::{HttpErrorKind, Timings, Trace, UrlError};
#[cfg(feature = "prober")]
pub use tls::{LeafCertificate, TlsInfo};
