//! One timed request (GET by default), following redirects if asked, over HTTP/2 when the
//! server chooses `h2` in ALPN and HTTP/1.1 otherwise.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncWrite};

use super::body::BodySink;
use super::connect::{connect, resolve, AddressChoice};
use super::credentials::redact_credentials;
use super::endpoint::Endpoint;
use super::response::{
    truncate_detail, HttpError, HttpErrorKind, HttpResponse, ResponseHead, Trace, UrlError,
};
use super::tls::client_config;
#[cfg(feature = "prober")]
use super::tls::TlsInfo;

/// How to make the request; the default is a GET without a body, no redirect followed, IPv6
/// addresses first then IPv4, no body size limit.
#[derive(Clone, Default)]
pub(crate) struct RequestOptions {
    pub(crate) method: Method,
    /// Added to (and replacing) the defaults: `Host`, `User-Agent`, `Authorization` from the
    /// URL's credentials.
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Redirects to follow at most; `None` returns the redirect response itself.
    pub(crate) max_redirects: Option<u32>,
    pub(crate) address: AddressChoice,
    /// A longer body fails the request.
    pub(crate) body_size_limit: Option<u64>,
    /// Keep the last body in [`HttpResponse::body`] (for regular expressions on it).
    pub(crate) keep_body: bool,
    /// Ask for gzip (unless `headers` name an `Accept-Encoding`) and decode the body as gzip,
    /// as the blackbox exporter's `compression: gzip`.
    pub(crate) gzip: bool,
}

impl fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values and bodies may carry tokens: names and sizes only.
        f.debug_struct("RequestOptions")
            .field("method", &self.method)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .field("max_redirects", &self.max_redirects)
            .field("address", &self.address)
            .field("body_size_limit", &self.body_size_limit)
            .field("keep_body", &self.keep_body)
            .field("gzip", &self.gzip)
            .finish()
    }
}

/// A request to one `http` or `https` URL, timed by phase, over a new connection each time
/// (so connect and TLS are measured on every request).
///
/// Credentials in the URL (`https://user:password@host/`, percent-encoded) are sent as
/// `Authorization: Basic`, and `Host` carries only `host[:port]`. They are kept out of
/// [`uri`](Self::uri), `Debug` and error messages.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    endpoint: Endpoint,
    /// Built for `http` URLs too: a redirect may lead to `https`.
    tls: Arc<ClientConfig>,
    options: RequestOptions,
}

/// A response head received, its body not yet read.
struct Hop {
    response: Response<Incoming>,
    /// Kept until the body is read: the connection ends when its sender is dropped.
    _sender: Sender,
    https: bool,
    #[cfg(feature = "prober")]
    tls: Option<TlsInfo>,
}

/// The sending half of an HTTP/1.1 or HTTP/2 connection.
// Held for its lifetime only: never read.
#[allow(dead_code)]
enum Sender {
    Http1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    Http2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

type Failure = (HttpErrorKind, String);

/// Headers not sent on after a redirect to another scheme, host or port, as Go's client.
const SENSITIVE_ON_REDIRECT: [header::HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::WWW_AUTHENTICATE,
    header::HOST,
];

/// Whether a response with `status` and a `Location` is a redirect to follow: 301, 302, 303,
/// 307 and 308, as Go's client; 300, 304 and 305 are answers.
fn follows(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The `Content-Length` header's value, if it has a valid one.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

impl HttpRequest {
    /// A request to `url` (`http://` or `https://`, with a host), trusting the Mozilla roots
    /// and the PEM certificates in `ca_pem`, if any (a private CA, a self-signed certificate).
    pub(crate) fn new(
        url: &str,
        ca_pem: Option<&[u8]>,
        options: RequestOptions,
    ) -> Result<Self, UrlError> {
        let endpoint = Endpoint::parse(url).map_err(UrlError)?;
        let tls = client_config(ca_pem).map_err(|e| UrlError(e.0))?;
        Ok(Self {
            endpoint,
            tls,
            options,
        })
    }

    /// The same request, trusting the PEM certificates in `ca_pem` besides the Mozilla roots.
    pub(crate) fn with_ca_pem(mut self, ca_pem: &[u8]) -> Result<Self, UrlError> {
        self.tls = client_config(Some(ca_pem)).map_err(|e| UrlError(e.0))?;
        Ok(self)
    }

    /// Its options.
    pub(crate) fn options(&self) -> &RequestOptions {
        &self.options
    }

    /// Its options, to change.
    pub(crate) fn options_mut(&mut self) -> &mut RequestOptions {
        &mut self.options
    }

    /// The URL requested, without its credentials.
    pub(crate) fn uri(&self) -> &Uri {
        &self.endpoint.uri
    }

    /// Sends the request (and those its redirects lead to) and reads the whole last body, all
    /// within `timeout`.
    pub(crate) async fn send(&self, timeout: Duration) -> Result<HttpResponse, HttpError> {
        let mut trace = Trace::default();
        let deadline = Instant::now() + timeout;
        let outcome = tokio::time::timeout(timeout, self.exchange(deadline, &mut trace)).await;
        match outcome {
            Ok(Ok(mut response)) => {
                response.trace = trace;
                Ok(response)
            }
            Ok(Err((kind, message))) => Err(HttpError {
                kind,
                // A message may quote what the server sent (a `Location`): bounded for logs.
                message: truncate_detail(message),
                trace,
            }),
            Err(_) => Err(HttpError {
                kind: HttpErrorKind::Timeout,
                message: format!("no complete response within {timeout:?}"),
                trace,
            }),
        }
    }

    async fn exchange(
        &self,
        deadline: Instant,
        trace: &mut Trace,
    ) -> Result<HttpResponse, Failure> {
        let mut endpoint = self.endpoint.clone();
        let mut method = self.options.method.clone();
        let mut body = self.options.body.clone();
        // The configured headers, less the sensitive ones once a redirect left the origin.
        let mut headers = std::borrow::Cow::Borrowed(&self.options.headers);
        loop {
            let first = trace.redirects == 0;
            let hop = self
                .hop(&endpoint, &method, &body, &headers, deadline, trace, first)
                .await?;
            let status = hop.response.status();
            trace.last_head = Some(ResponseHead {
                status,
                version: hop.response.version(),
                content_length: content_length(hop.response.headers()),
            });
            let location = hop
                .response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .filter(|_| follows(status));
            if let Some(location) = location {
                trace.redirects += 1;
                if let Some(max) = self.options.max_redirects {
                    if trace.redirects > max {
                        return Err((
                            HttpErrorKind::Redirects,
                            format!(
                                "more than {max} redirects (the last to {})",
                                redact_credentials(location)
                            ),
                        ));
                    }
                    let next = endpoint
                        .follow(location)
                        .map_err(|e| (HttpErrorKind::Redirects, format!("redirect: {e}")))?;
                    // As Go's client: credentials and cookies go to the origin they were
                    // given for, not to wherever a redirect points (`follow` drops the URL's
                    // credentials the same way); once dropped, they stay dropped.
                    if !endpoint.same_origin(&next) {
                        let mut kept = headers.into_owned();
                        for name in SENSITIVE_ON_REDIRECT {
                            kept.remove(name);
                        }
                        headers = std::borrow::Cow::Owned(kept);
                    }
                    endpoint = next;
                    // As browsers do: 301, 302 and 303 become a GET without body; 307 and 308
                    // repeat the request.
                    if matches!(
                        status,
                        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER
                    ) && method != Method::HEAD
                    {
                        method = Method::GET;
                        body = Bytes::new();
                    }
                    continue;
                }
            }
            return self.read_body(hop, trace).await;
        }
    }

    /// Connects to `endpoint`, sends the request (with `headers` added) and waits for the
    /// response head.
    // The parts of one hop; a struct for them would only be unpacked again.
    #[allow(clippy::too_many_arguments)]
    async fn hop(
        &self,
        endpoint: &Endpoint,
        method: &Method,
        body: &Bytes,
        headers: &HeaderMap,
        deadline: Instant,
        trace: &mut Trace,
        first: bool,
    ) -> Result<Hop, Failure> {
        let choice = self.options.address;
        let started = Instant::now();
        let addrs = resolve(&endpoint.host, endpoint.port, choice).await;
        let took = started.elapsed();
        trace.timings.resolve += took;
        if first {
            trace.dns_lookup = Some(took);
        }
        let addrs = addrs?;

        let started = Instant::now();
        let connected = connect(&addrs, choice, deadline).await;
        trace.timings.connect += started.elapsed();
        let stream = match connected {
            Ok((stream, addr)) => {
                if first {
                    trace.addr = Some(addr);
                }
                stream
            }
            Err((kind, message, addr)) => {
                if first {
                    trace.addr = addr;
                }
                return Err((kind, message));
            }
        };

        if !endpoint.https {
            let (response, sender) = self
                .request(
                    TokioIo::new(stream),
                    false,
                    endpoint,
                    (method, body, headers),
                    trace,
                )
                .await?;
            return Ok(Hop {
                response,
                _sender: sender,
                https: false,
                #[cfg(feature = "prober")]
                tls: None,
            });
        }
        let started = Instant::now();
        let name = ServerName::try_from(endpoint.host.clone())
            .map_err(|e| (HttpErrorKind::Tls, format!("server name: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
            .connect(name, stream)
            .await
            .map_err(|e| (HttpErrorKind::Tls, format!("TLS handshake: {e}")))?;
        trace.timings.tls += started.elapsed();
        let connection = tls.get_ref().1;
        let h2 = connection.alpn_protocol() == Some(b"h2");
        #[cfg(feature = "prober")]
        let info = TlsInfo::of(connection);
        let (response, sender) = self
            .request(
                TokioIo::new(tls),
                h2,
                endpoint,
                (method, body, headers),
                trace,
            )
            .await?;
        Ok(Hop {
            response,
            _sender: sender,
            https: true,
            #[cfg(feature = "prober")]
            tls: Some(info),
        })
    }

    async fn request<S>(
        &self,
        io: TokioIo<S>,
        h2: bool,
        endpoint: &Endpoint,
        (method, body, headers): (&Method, &Bytes, &HeaderMap),
        trace: &mut Trace,
    ) -> Result<(Response<Incoming>, Sender), Failure>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let other = |e: hyper::Error| (HttpErrorKind::Other, format!("HTTP: {e}"));
        // HTTP/2 carries the authority in the URI (`:authority`), HTTP/1.1 in `Host`; a
        // configured `Host` is either.
        let host = headers
            .get(header::HOST)
            .unwrap_or(&endpoint.host_header)
            .clone();
        let mut request = Request::builder().method(method.clone());
        request = if h2 {
            let mut parts = endpoint.uri.clone().into_parts();
            parts.authority = Some(
                http::uri::Authority::try_from(host.as_bytes())
                    .map_err(|e| (HttpErrorKind::Other, format!("Host header: {e}")))?,
            );
            let uri = Uri::from_parts(parts)
                .map_err(|e| (HttpErrorKind::Other, format!("Host header: {e}")))?;
            request.uri(uri)
        } else {
            request.uri(endpoint.path()).header(header::HOST, host)
        };
        request = request.header(
            header::USER_AGENT,
            HeaderValue::from_static("metrics-exporter-prober"),
        );
        if let Some(authorization) = &endpoint.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        if self.options.gzip {
            request = request.header(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let mut request = request
            .body(Full::new(body.clone()))
            .map_err(|e| (HttpErrorKind::Other, format!("request: {e}")))?;
        let out = request.headers_mut();
        for name in headers.keys() {
            if name != header::HOST {
                out.remove(name);
            }
        }
        for (name, value) in headers {
            if name != header::HOST {
                out.append(name, value.clone());
            }
        }

        let started = Instant::now();
        let response = if h2 {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(other)?;
            // The connection task ends with the exchange (or when the timeout drops the sender).
            tokio::spawn(connection);
            let response = sender.send_request(request).await.map_err(other)?;
            (response, Sender::Http2(sender))
        } else {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(other)?;
            tokio::spawn(connection);
            let response = sender.send_request(request).await.map_err(other)?;
            (response, Sender::Http1(sender))
        };
        trace.timings.processing += started.elapsed();
        Ok(response)
    }

    /// Reads the body of the last response, within the size limit.
    async fn read_body(&self, hop: Hop, trace: &mut Trace) -> Result<HttpResponse, Failure> {
        let other = |e: hyper::Error| (HttpErrorKind::Other, format!("HTTP: {e}"));
        let started = Instant::now();
        let (head, mut body) = hop.response.into_parts();
        let mut sink = BodySink::new(
            self.options.body_size_limit,
            self.options.keep_body,
            self.options.gzip,
        );
        let read = async {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(other)?;
                if let Some(data) = frame.data_ref() {
                    sink.take(data)?;
                }
            }
            sink.finish()
        }
        .await;
        trace.timings.transfer += started.elapsed();
        let (body_bytes, kept) = read?;
        let content_length = content_length(&head.headers);
        Ok(HttpResponse {
            status: head.status,
            version: head.version,
            content_length,
            body_bytes,
            body: kept,
            https: hop.https,
            trace: Trace::default(),
            #[cfg(feature = "prober")]
            last_modified: head
                .headers
                .get(header::LAST_MODIFIED)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok()),
            #[cfg(feature = "prober")]
            tls: hop.tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> Result<HttpRequest, UrlError> {
        HttpRequest::new(url, None, RequestOptions::default())
    }

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
            assert!(get(bad).is_err(), "{bad:?}");
        }
        let empty_port = get("https://x:/").unwrap();
        assert_eq!(empty_port.endpoint.port, 443);
        let with_credentials = get("http://u:p@[::1]:81/a").unwrap();
        assert_eq!(with_credentials.uri().to_string(), "http://[::1]:81/a");
        assert_eq!(with_credentials.endpoint.host_header, "[::1]:81");
        assert!(with_credentials.endpoint.authorization.is_some());
        let ok = get("http://[::1]:8080/a?b=c").unwrap();
        assert_eq!((ok.endpoint.host.as_str(), ok.endpoint.port), ("::1", 8080));
        assert_eq!(get("https://example.com").unwrap().endpoint.port, 443);
        assert!(
            HttpRequest::new("https://x/", Some(b"not pem"), RequestOptions::default()).is_err()
        );
    }

    #[tokio::test]
    async fn invalid_names_fail_as_dns_without_a_query() {
        let error = get("http://service.invalid/")
            .unwrap()
            .send(Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(error.kind, HttpErrorKind::Dns);
        assert!(error.trace.dns_lookup.is_some());
        assert_eq!(error.trace.addr, None);
    }
}
