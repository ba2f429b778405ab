//! [`Limits`]: how much a caller can make the exporter do.

use std::time::Duration;

/// Bounds on the exporter's work, so a hostile or broken scraper causes no more than extra
/// load: concurrent scrapes, encoding time, request header size.
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::security::Limits;
///
/// let limits = Limits::default()
///     .max_concurrent_scrapes(2)
///     .scrape_timeout(Duration::from_secs(5))
///     .max_header_bytes(16 * 1024);
/// assert_eq!(limits.concurrent_scrapes(), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    concurrent_scrapes: usize,
    timeout: Duration,
    header_bytes: usize,
}

/// Default [`Limits::max_concurrent_scrapes`].
pub const DEFAULT_MAX_CONCURRENT_SCRAPES: usize = 10;
/// Default [`Limits::scrape_timeout`].
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`Limits::max_header_bytes`].
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// The smallest header bound the server accepts (hyper's smallest read buffer).
pub const MIN_HEADER_BYTES: usize = 8 * 1024;

/// The largest header bound accepted (larger requests heads are not a scrape).
pub const MAX_HEADER_BYTES: usize = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrent_scrapes: DEFAULT_MAX_CONCURRENT_SCRAPES,
            timeout: DEFAULT_SCRAPE_TIMEOUT,
            header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl Limits {
    /// At most `n` scrapes of `/metrics` are encoded at once (at least 1; default 10); the
    /// others are answered 503 with `Retry-After` at once.
    pub fn max_concurrent_scrapes(mut self, n: usize) -> Self {
        // tokio's semaphore has a maximum; more would panic when the exporter is built.
        self.concurrent_scrapes = n.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// A scrape whose encoding takes longer is answered 503 (default 10 s). Its encoding
    /// still holds a scrape slot until it ends, so slow encodings cannot pile up.
    pub fn scrape_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requests whose request line and headers exceed `bytes` are answered 431 (default
    /// 16 KiB; at least [`MIN_HEADER_BYTES`], at most 1 MiB). When the exporter serves its own port the bound
    /// also sizes hyper's read buffer (the bound plus 8 KiB), so a longer head is never held in
    /// memory.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.header_bytes = bytes.clamp(MIN_HEADER_BYTES, MAX_HEADER_BYTES);
        self
    }

    /// The concurrent-scrape bound.
    pub fn concurrent_scrapes(&self) -> usize {
        self.concurrent_scrapes
    }

    /// The encoding timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The header-size bound.
    pub fn header_bytes(&self) -> usize {
        self.header_bytes
    }
}
