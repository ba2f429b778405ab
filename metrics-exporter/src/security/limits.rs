//! [`Limits`]: how much a caller can make the exporter do.

use std::time::Duration;

/// Bounds on the exporter's work, so a hostile or broken scraper causes no more than extra
/// load: concurrent scrapes, encoding time, request header size; and, on
/// [`Exporter::serve`](crate::Exporter::serve), open connections and how long a connection may
/// wait for its first request or sit idle.
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::security::Limits;
///
/// let limits = Limits::default()
///     .max_concurrent_scrapes(2)
///     .scrape_timeout(Duration::from_secs(5))
///     .max_header_bytes(16 * 1024)
///     .max_connections(64)
///     .idle_timeout(Duration::from_secs(120));
/// assert_ne!(limits, Limits::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    concurrent_scrapes: usize,
    timeout: Duration,
    header_bytes: usize,
    connections: usize,
    first_request: Duration,
    idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrent_scrapes: Self::DEFAULT_MAX_CONCURRENT_SCRAPES,
            timeout: Self::DEFAULT_SCRAPE_TIMEOUT,
            header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            connections: Self::DEFAULT_MAX_CONNECTIONS,
            first_request: Self::DEFAULT_FIRST_REQUEST_TIMEOUT,
            idle: Self::DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl Limits {
    /// Default [`max_concurrent_scrapes`](Self::max_concurrent_scrapes).
    pub const DEFAULT_MAX_CONCURRENT_SCRAPES: usize = 10;
    /// Default [`scrape_timeout`](Self::scrape_timeout).
    pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default [`max_header_bytes`](Self::max_header_bytes).
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
    /// The smallest header bound accepted (hyper's smallest read buffer).
    pub const MIN_HEADER_BYTES: usize = 8 * 1024;
    /// The largest header bound accepted (larger request heads are not a scrape).
    pub const MAX_HEADER_BYTES: usize = 1024 * 1024;
    /// Default [`max_connections`](Self::max_connections): far more than the few scrapers and
    /// probes an exporter serves, and well under the common 1024 file-descriptor limit.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
    /// Default [`first_request_timeout`](Self::first_request_timeout).
    pub const DEFAULT_FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default [`idle_timeout`](Self::idle_timeout): above Prometheus' default 1 min scrape
    /// interval, so a scraper keeps its connection between scrapes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

    /// At most `n` scrapes of `/metrics` are encoded at once (at least 1; default 10); the
    /// others are answered 503 with `Retry-After` at once.
    pub fn max_concurrent_scrapes(mut self, n: usize) -> Self {
        // tokio's semaphore has a maximum; more would panic when the exporter is built.
        self.concurrent_scrapes = n.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// A scrape whose encoding takes longer is answered 503 (default 10 s). Its encoding
    /// still counts against [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) until it
    /// ends, so slow encodings cannot pile up.
    pub fn scrape_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requests whose request line and headers exceed `bytes` are answered 431 (default 16 KiB; at
    /// least [`MIN_HEADER_BYTES`](Self::MIN_HEADER_BYTES), at most
    /// [`MAX_HEADER_BYTES`](Self::MAX_HEADER_BYTES)). When the exporter serves its own port the
    /// bound also sizes hyper's read buffer (the bound plus 8 KiB), so a longer head is never held
    /// in memory.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.header_bytes = bytes.clamp(Self::MIN_HEADER_BYTES, Self::MAX_HEADER_BYTES);
        self
    }

    /// At most `n` connections are open at once on [`Exporter::serve`](crate::Exporter::serve) (at
    /// least 1; default [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS)). A connection
    /// beyond the cap is closed as soon as it is accepted, before any TLS handshake, and counted in
    /// `exporter_connections_refused_total`; `exporter_connections_open` shows the open ones. Keep
    /// it below the process's file-descriptor limit (`ulimit -n`), so the exporter refuses
    /// connections itself instead of failing to accept them.
    pub fn max_connections(mut self, n: usize) -> Self {
        // tokio's semaphore has a maximum; more would panic when the server starts.
        self.connections = n.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// A connection on [`Exporter::serve`](crate::Exporter::serve) whose first request head has
    /// not arrived this long after it was accepted (after its TLS handshake, which has its own
    /// 10 s bound) is closed (default 10 s): a socket that sends nothing, only part of a request
    /// or only the HTTP/2 preface counts against [`max_connections`](Self::max_connections) no
    /// longer than this.
    pub fn first_request_timeout(mut self, timeout: Duration) -> Self {
        self.first_request = timeout;
        self
    }

    /// A connection on [`Exporter::serve`](crate::Exporter::serve) with no request in flight
    /// for this long is closed (default 90 s), HTTP/2 with a `GOAWAY`; for HTTP/1 it also bounds
    /// the arrival of each later request head. Set it above the scrape interval to keep a
    /// scraper's connection between scrapes.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle = timeout;
        self
    }

    /// The open-connection bound.
    pub(crate) fn connections(&self) -> usize {
        self.connections
    }

    /// How long a new connection may wait for its first request.
    pub(crate) fn first_request(&self) -> Duration {
        self.first_request
    }

    /// How long a connection may stay without a request in flight.
    pub(crate) fn idle(&self) -> Duration {
        self.idle
    }

    /// The concurrent-scrape bound.
    pub(crate) fn concurrent_scrapes(&self) -> usize {
        self.concurrent_scrapes
    }

    /// The encoding timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The header-size bound.
    pub(crate) fn header_bytes(&self) -> usize {
        self.header_bytes
    }
}
