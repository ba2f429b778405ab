//! Ready-made health checks that need the exporter's HTTP client: the HTTP GET check. (The TCP
//! check, which needs no client, is [`HealthCheck::tcp`].)

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use metrics_toolkit::health::HealthCheck;

pub use crate::client::UrlError;
use crate::client::{redact_credentials, HttpRequest, RequestOptions};

/// The check's own timeout (set with [`HealthCheck::timeout`]) bounds each run; this only
/// keeps the inner request finite.
const REQUEST_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// A check named `name` that passes when a GET of `url` (`http` or `https`) answers
/// `expected`. Shorthand for [`HttpCheck`] with its defaults: no redirect followed (a
/// redirect is the answer checked), HTTP/2 when an `https` server offers it.
///
/// ```
/// use http::StatusCode;
/// use metrics_exporter::checks;
///
/// let search = checks::http_get("search", "http://127.0.0.1:9200/_cluster/health", StatusCode::OK)
///     .expect("a valid URL");
/// assert!(checks::http_get("bad", "ftp://x/", StatusCode::OK).is_err());
/// ```
pub fn http_get(
    name: impl Into<String>,
    url: &str,
    expected: StatusCode,
) -> Result<HealthCheck, UrlError> {
    Ok(HttpCheck::new(url)?.expected_status(expected).check(name))
}

/// A health check that GETs a URL, with the prober's HTTP client: HTTP/2 over TLS when the
/// server chooses `h2` in ALPN, HTTP/1.1 otherwise, a new connection each time.
///
/// ```
/// use http::StatusCode;
/// use metrics_exporter::checks::HttpCheck;
///
/// let check = HttpCheck::new("https://auth.internal/healthz")?
///     .expected_status(StatusCode::NO_CONTENT)
///     .follow_redirects(3)
///     .check("auth");
/// # Ok::<(), metrics_exporter::checks::UrlError>(())
/// ```
///
/// Its `Debug` output shows the URL without credentials and the CA certificates by size.
#[derive(Clone)]
pub struct HttpCheck {
    /// Built once: the URL parsed, the TLS configuration made.
    request: HttpRequest,
    /// Bytes of PEM given to [`ca_pem`](Self::ca_pem), for `Debug`.
    ca_pem_bytes: Option<usize>,
    expected: StatusCode,
}

impl fmt::Debug for HttpCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpCheck")
            .field("url", &redact_credentials(&self.request.uri().to_string()))
            .field("ca_pem_bytes", &self.ca_pem_bytes)
            .field("expected", &self.expected)
            .field("max_redirects", &self.request.options().max_redirects)
            .finish()
    }
}

impl HttpCheck {
    /// A GET of `url` (`http` or `https`) expecting 200 and following no redirect; the URL is
    /// checked here.
    pub fn new(url: &str) -> Result<Self, UrlError> {
        Ok(Self {
            request: HttpRequest::new(url, None, RequestOptions::default())?,
            ca_pem_bytes: None,
            expected: StatusCode::OK,
        })
    }

    /// The status that passes (default 200).
    pub fn expected_status(mut self, status: StatusCode) -> Self {
        self.expected = status;
        self
    }

    /// Follows up to `max` redirects, checking the status of the last answer (default: none
    /// followed, so a 301 is what is checked).
    pub fn follow_redirects(mut self, max: u32) -> Self {
        self.request.options_mut().max_redirects = Some(max);
        self
    }

    /// Also trusts the PEM certificates in `ca_pem` (a private CA, a self-signed certificate).
    pub fn ca_pem(mut self, ca_pem: &[u8]) -> Result<Self, UrlError> {
        self.request = self.request.with_ca_pem(ca_pem)?;
        self.ca_pem_bytes = Some(ca_pem.len());
        Ok(self)
    }

    /// The health check, named `name`.
    pub fn check(self, name: impl Into<String>) -> HealthCheck {
        let expected = self.expected;
        let request = Arc::new(self.request);
        HealthCheck::new(name, move || {
            let request = Arc::clone(&request);
            async move {
                let response = request
                    .send(REQUEST_LIMIT)
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status == expected {
                    Ok(())
                } else {
                    Err(format!(
                        "GET {} answered {}, expected {}",
                        request.uri(),
                        response.status.as_u16(),
                        expected.as_u16()
                    )
                    .into())
                }
            }
        })
    }
}
