//! Ready-made checks: TCP connect and HTTP GET.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use super::check::HealthCheck;
use crate::net::{HttpGet, UrlError};

/// The check's own timeout (set with [`HealthCheck::timeout`]) bounds each run; this only
/// keeps the inner request finite.
const REQUEST_LIMIT: Duration = Duration::from_secs(24 * 3600);

impl HealthCheck {
    /// Passes when a TCP connection to `address` (`host:port`) opens.
    ///
    /// ```
    /// use metrics_toolkit::health::HealthCheck;
    ///
    /// let redis = HealthCheck::tcp("redis", "127.0.0.1:6379");
    /// ```
    pub fn tcp(name: impl Into<String>, address: impl Into<String>) -> Self {
        let address: Arc<str> = Arc::from(address.into());
        Self::new(name, move || {
            let address = Arc::clone(&address);
            async move {
                tokio::net::TcpStream::connect(&*address)
                    .await
                    .map(drop)
                    .map_err(|e| format!("connecting to {address}: {e}").into())
            }
        })
    }

    /// Passes when a GET of `url` (`http` or `https`) answers `expected`.
    ///
    /// ```
    /// use http::StatusCode;
    /// use metrics_toolkit::health::HealthCheck;
    ///
    /// let search = HealthCheck::http_get("search", "http://127.0.0.1:9200/_cluster/health", StatusCode::OK)
    ///     .expect("a valid URL");
    /// assert!(HealthCheck::http_get("bad", "ftp://x/", StatusCode::OK).is_err());
    /// ```
    pub fn http_get(
        name: impl Into<String>,
        url: &str,
        expected: StatusCode,
    ) -> Result<Self, UrlError> {
        let get = Arc::new(HttpGet::new(url)?);
        Ok(Self::new(name, move || {
            let get = Arc::clone(&get);
            async move {
                let response = get.send(REQUEST_LIMIT).await.map_err(|e| e.to_string())?;
                if response.status == expected {
                    Ok(())
                } else {
                    Err(format!(
                        "GET {} answered {}, expected {}",
                        get.uri(),
                        response.status.as_u16(),
                        expected.as_u16()
                    )
                    .into())
                }
            }
        }))
    }
}
