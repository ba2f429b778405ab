//! Paths the layer does not record.

/// A set of request paths not to record: exact paths and path prefixes.
///
/// The default holds the exporter's own endpoints (`/metrics`, `/health` and below, `/live`,
/// `/ready`, `/startup`), so scrapes and probes do not count as traffic.
///
/// ```
/// use metrics_axum::Exclusions;
///
/// let exclusions = Exclusions::default().path("/internal/ping").prefix("/debug/");
/// assert!(exclusions.contains("/metrics"));
/// assert!(exclusions.contains("/health/db"));
/// assert!(exclusions.contains("/debug/pprof"));
/// assert!(!exclusions.contains("/users/1"));
/// assert!(!Exclusions::none().contains("/metrics"));
/// ```
#[derive(Debug, Clone)]
pub struct Exclusions {
    paths: Vec<Box<str>>,
    prefixes: Vec<Box<str>>,
}

impl Default for Exclusions {
    fn default() -> Self {
        Self::none()
            .path("/metrics")
            .path("/health")
            .prefix("/health/")
            .path("/live")
            .path("/ready")
            .path("/startup")
    }
}

impl Exclusions {
    /// Records every path.
    pub fn none() -> Self {
        Self {
            paths: Vec::new(),
            prefixes: Vec::new(),
        }
    }

    /// Also excludes this exact path.
    pub fn path(mut self, path: impl Into<Box<str>>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Also excludes every path starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<Box<str>>) -> Self {
        self.prefixes.push(prefix.into());
        self
    }

    /// Whether `path` is excluded.
    #[inline]
    pub fn contains(&self, path: &str) -> bool {
        self.paths.iter().any(|p| **p == *path)
            || self.prefixes.iter().any(|p| path.starts_with(&**p))
    }
}
