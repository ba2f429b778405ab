//! Ready-made health checks that need the exporter's HTTP client: the HTTP GET check. (The TCP
//! check, which needs no client, is [`HealthCheck::tcp`].)

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use metrics_toolkit::health::HealthCheck;

use crate::client::HttpGet;
pub use crate::client::UrlError;

/// The check's own timeout (set with [`HealthCheck::timeout`]) bounds each run; this only
/// keeps the inner request finite.
const REQUEST_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// A check named `name` that passes when a GET of `url` (`http` or `https`) answers
/// `expected`.
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
    let get = Arc::new(HttpGet::new(url)?);
    Ok(HealthCheck::new(name, move || {
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
