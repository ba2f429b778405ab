//! One timed GET request.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::credentials::{basic_authorization, has_invalid_port, redact_credentials};
#[cfg(feature = "prober")]
use super::tls::earliest_expiry;
use super::tls::{client_config, TlsError};

/// Time spent in each phase of a request; phases not reached stay zero.
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

/// An answered request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// Time per phase.
    pub timings: Timings,
    /// Bytes of body received.
    pub body_bytes: u64,
    /// For `https`: the earliest `notAfter` of the certificates the server sent, in seconds
    /// since the Unix epoch. Read for the prober only: parsing certificates takes x509-parser.
    #[cfg(feature = "prober")]
    #[cfg_attr(docsrs, doc(cfg(feature = "prober")))]
    pub earliest_cert_expiry: Option<i64>,
}

/// Why a request got no response: a bounded set, fit for a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The connection was refused.
    Refused,
    /// The timeout passed first.
    Timeout,
    /// The TLS handshake failed (untrusted or expired certificate, wrong name, protocol).
    Tls,
    /// Anything else: reset connection, malformed response, unreachable network.
    Other,
}

impl HttpErrorKind {
    /// The label value: `dns`, `refused`, `timeout`, `tls` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Other => "other",
        }
    }
}

/// A request that got no response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    /// Why, as a bounded kind.
    pub kind: HttpErrorKind,
    /// What happened, for people.
    pub message: String,
    /// The phases completed before the failure.
    pub timings: Timings,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for HttpError {}

/// A URL that cannot be requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

impl From<TlsError> for UrlError {
    fn from(error: TlsError) -> Self {
        Self(error.0)
    }
}

/// A GET request to one `http` or `https` URL, timed by phase, over a new connection each
/// time (so connect and TLS are measured on every request). HTTP/1.1 only.
///
/// Credentials in the URL (`https://user:password@host/`, percent-encoded) are sent as
/// `Authorization: Basic`, and `Host` carries only `host[:port]`. They are kept out of
/// [`uri`](Self::uri), `Debug` and error messages.
#[derive(Debug, Clone)]
pub struct HttpGet {
    /// Without the userinfo.
    uri: Uri,
    host: String,
    port: u16,
    /// `host[:port]`, as written in the URL.
    host_header: HeaderValue,
    /// From the URL's userinfo; marked sensitive, so `Debug` hides it.
    authorization: Option<HeaderValue>,
    tls: Option<Arc<ClientConfig>>,
}

impl HttpGet {
    /// A request to `url` (`http://` or `https://`, with a host). For `https`, the Mozilla
    /// roots are trusted.
    pub fn new(url: &str) -> Result<Self, UrlError> {
        Self::build(url, None)
    }

    /// Like [`new`](Self::new), also trusting the PEM certificates in `ca_pem` (e.g. a private
    /// CA, or a self-signed certificate).
    pub fn with_ca_pem(url: &str, ca_pem: &[u8]) -> Result<Self, UrlError> {
        Self::build(url, Some(ca_pem))
    }

    fn build(url: &str, ca_pem: Option<&[u8]>) -> Result<Self, UrlError> {
        let shown = redact_credentials(url);
        let uri: Uri = url
            .parse()
            .map_err(|e| UrlError(format!("{shown:?} is not a URL: {e}")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(UrlError(format!(
                    "{shown:?}: the scheme must be http or https"
                )))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| UrlError(format!("{shown:?} has no host")))?;
        // IPv6 literals come bracketed in URLs; resolution and SNI want them bare.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let authority = uri
            .authority()
            .map_or_else(String::new, |a| a.as_str().to_owned());
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, h)| h);
        // `Uri` reads no port from "x" or "99999" after the host's ':': that would silently probe
        // the default port.
        if has_invalid_port(&uri) {
            return Err(UrlError(format!(
                "{shown:?}: the port must be a number from 0 to 65535"
            )));
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authorization =
            basic_authorization(&authority).map_err(|e| UrlError(format!("{shown:?}: {e}")))?;
        let host_header = HeaderValue::from_str(host_port)
            .map_err(|e| UrlError(format!("{shown:?}: host: {e}")))?;
        let uri = if authorization.is_some() {
            let mut parts = uri.into_parts();
            parts.authority = Some(
                host_port
                    .parse()
                    .map_err(|e| UrlError(format!("{shown:?}: host: {e}")))?,
            );
            Uri::from_parts(parts).map_err(|e| UrlError(format!("{shown:?}: {e}")))?
        } else {
            uri
        };
        let tls = if https {
            Some(client_config(ca_pem)?)
        } else {
            None
        };
        Ok(Self {
            uri,
            host,
            port,
            host_header,
            authorization,
            tls,
        })
    }

    /// The URL requested, without its credentials.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Sends the request and reads the whole body, all within `timeout`.
    pub async fn send(&self, timeout: Duration) -> Result<HttpResponse, HttpError> {
        let mut timings = Timings::default();
        let outcome = tokio::time::timeout(timeout, self.exchange(&mut timings)).await;
        match outcome {
            Ok(Ok(mut response)) => {
                response.timings = timings;
                Ok(response)
            }
            Ok(Err((kind, message))) => Err(HttpError {
                kind,
                message,
                timings,
            }),
            Err(_) => Err(HttpError {
                kind: HttpErrorKind::Timeout,
                message: format!("no complete response within {timeout:?}"),
                timings,
            }),
        }
    }

    async fn exchange(
        &self,
        timings: &mut Timings,
    ) -> Result<HttpResponse, (HttpErrorKind, String)> {
        let started = Instant::now();
        let addrs = resolve(&self.host, self.port).await?;
        timings.resolve = started.elapsed();

        let started = Instant::now();
        let stream = connect(&addrs).await?;
        timings.connect = started.elapsed();

        match &self.tls {
            None => self.request(TokioIo::new(stream), timings).await,
            Some(config) => {
                let started = Instant::now();
                let name = ServerName::try_from(self.host.clone())
                    .map_err(|e| (HttpErrorKind::Tls, format!("server name: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                    .connect(name, stream)
                    .await
                    .map_err(|e| (HttpErrorKind::Tls, format!("TLS handshake: {e}")))?;
                timings.tls = started.elapsed();
                #[cfg(feature = "prober")]
                let expiry = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(earliest_expiry);
                #[cfg_attr(not(feature = "prober"), allow(unused_mut))]
                let mut response = self.request(TokioIo::new(tls), timings).await?;
                #[cfg(feature = "prober")]
                {
                    response.earliest_cert_expiry = expiry;
                }
                Ok(response)
            }
        }
    }

    async fn request<S>(
        &self,
        io: TokioIo<S>,
        timings: &mut Timings,
    ) -> Result<HttpResponse, (HttpErrorKind, String)>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let other = |e: hyper::Error| (HttpErrorKind::Other, format!("HTTP: {e}"));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(other)?;
        // The connection task ends with the exchange (or when the timeout drops the sender).
        tokio::spawn(connection);
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut request = Request::get(path)
            .header(header::HOST, self.host_header.clone())
            .header(header::USER_AGENT, "metrics-exporter-prober");
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| (HttpErrorKind::Other, format!("request: {e}")))?;

        let started = Instant::now();
        let response = sender.send_request(request).await.map_err(other)?;
        timings.processing = started.elapsed();

        let started = Instant::now();
        let status = response.status();
        let mut body = response.into_body();
        let mut body_bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(other)?;
            if let Some(data) = frame.data_ref() {
                body_bytes += data.len() as u64;
            }
        }
        timings.transfer = started.elapsed();
        Ok(HttpResponse {
            status,
            timings: Timings::default(),
            body_bytes,
            #[cfg(feature = "prober")]
            earliest_cert_expiry: None,
        })
    }
}

/// Resolves `host`. Names under `.invalid` never resolve (RFC 6761): they fail here, without
/// a query.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
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
    if addrs.is_empty() {
        return Err((HttpErrorKind::Dns, format!("{host} has no address")));
    }
    Ok(addrs)
}

/// Connects to the first address that accepts.
pub(crate) async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, (HttpErrorKind, String)> {
    let mut last = (HttpErrorKind::Other, "no address".to_owned());
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = (HttpErrorKind::Refused, format!("connecting to {addr}: {e}"));
            }
            Err(e) => last = (HttpErrorKind::Other, format!("connecting to {addr}: {e}")),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_urls_it_cannot_request() {
        for bad in [
            "",
            "ftp://x/",
            "/just/a/path",
            "http://",
            "not a url",
            "http://x:port/",
            "http://x:99999/",
            "http://[::1]:x/",
        ] {
            assert!(HttpGet::new(bad).is_err(), "{bad:?}");
        }
        let empty_port = HttpGet::new("https://x:/").unwrap();
        assert_eq!(empty_port.port, 443);
        let with_credentials = HttpGet::new("http://u:p@[::1]:81/a").unwrap();
        assert_eq!(with_credentials.uri().to_string(), "http://[::1]:81/a");
        assert_eq!(with_credentials.host_header, "[::1]:81");
        assert!(with_credentials.authorization.is_some());
        let ok = HttpGet::new("http://[::1]:8080/a?b=c").unwrap();
        assert_eq!((ok.host.as_str(), ok.port), ("::1", 8080));
        assert_eq!(HttpGet::new("https://example.com").unwrap().port, 443);
        assert!(HttpGet::with_ca_pem("https://x/", b"not pem").is_err());
    }

    #[tokio::test]
    async fn invalid_names_fail_as_dns_without_a_query() {
        let get = HttpGet::new("http://service.invalid/").unwrap();
        let error = get.send(Duration::from_secs(5)).await.unwrap_err();
        assert_eq!(error.kind, HttpErrorKind::Dns);
    }
}
