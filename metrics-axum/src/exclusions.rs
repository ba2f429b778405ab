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
    /// The second bytes (the first after `/`) that excluded paths and prefixes have: most
    /// requests are let through by one bit test instead of a comparison per entry.
    second_bytes: [u64; 4],
    /// Some entry is shorter than two bytes, so the bit test cannot decide.
    short_entry: bool,
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
            second_bytes: [0; 4],
            short_entry: false,
        }
    }

    /// Also excludes this exact path.
    pub fn path(mut self, path: impl Into<Box<str>>) -> Self {
        let path = path.into();
        self.note_second_byte(&path);
        self.paths.push(path);
        self
    }

    /// Also excludes every path starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<Box<str>>) -> Self {
        let prefix = prefix.into();
        self.note_second_byte(&prefix);
        self.prefixes.push(prefix);
        self
    }

    fn note_second_byte(&mut self, entry: &str) {
        match entry.as_bytes().get(1) {
            Some(&byte) => self.second_bytes[usize::from(byte >> 6)] |= 1 << (byte & 63),
            None => self.short_entry = true,
        }
    }

    /// Whether `path` is excluded.
    #[inline]
    pub fn contains(&self, path: &str) -> bool {
        if let (Some(&byte), false) = (path.as_bytes().get(1), self.short_entry) {
            if self.second_bytes[usize::from(byte >> 6)] & (1 << (byte & 63)) == 0 {
                return false;
            }
        }
        self.paths.iter().any(|p| **p == *path)
            || self.prefixes.iter().any(|p| path.starts_with(&**p))
    }
}

#[cfg(test)]
mod tests {
    use super::Exclusions;

    #[test]
    fn the_bit_test_never_lets_an_excluded_path_through() {
        let exclusions = Exclusions::none()
            .path("/metrics")
            .path("/é")
            .prefix("/debug/")
            .prefix("/x");
        for path in ["/metrics", "/é", "/debug/", "/debug/pprof", "/x", "/xyz"] {
            assert!(exclusions.contains(path), "{path}");
        }
        for path in ["/", "", "/m", "/metricsx", "/debug", "/users/1", "/ü", "*"] {
            assert!(!exclusions.contains(path), "{path}");
        }
    }

    #[test]
    fn short_entries_are_still_matched() {
        let root = Exclusions::none().path("/");
        assert!(root.contains("/"));
        assert!(!root.contains("/a"));
        let everything = Exclusions::none().prefix("/");
        assert!(everything.contains("/anything"));
        assert!(everything.contains("/"));
        let star = Exclusions::none().path("*");
        assert!(star.contains("*"));
        assert!(!star.contains("/"));
    }
}
