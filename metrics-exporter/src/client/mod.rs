//! A small HTTP/1.1 GET client that times each phase of a request, shared by the HTTP health
//! check ([`checks::http_get`](crate::checks::http_get)) and the prober: name resolution, TCP
//! connect, TLS handshake (rustls, the Mozilla roots), server processing (request sent to
//! response head) and transfer (the body).

mod credentials;
mod http_get;
mod tls;

pub use credentials::{redact_credentials, url_without_credentials};
pub use http_get::{HttpError, HttpErrorKind, HttpGet, HttpResponse, Timings, UrlError};
pub use tls::TlsError;
