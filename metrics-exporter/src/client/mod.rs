//! A small HTTP/1.1 GET client that times each phase of a request, shared by the HTTP health
//! check ([`checks::http_get`](crate::checks::http_get)) and the prober: name resolution, TCP
//! connect, TLS handshake (rustls, the Mozilla roots), server processing (request sent to
//! response head) and transfer (the body).

mod credentials;
mod http_get;
mod tls;

pub(crate) use credentials::{redact_credentials, url_without_credentials};
// Public where they appear in the API: `checks::UrlError`, `prober::HttpErrorKind`.
pub use http_get::{HttpErrorKind, UrlError};
pub(crate) use http_get::{HttpGet, Timings};
