//! [`Refusals`]: logs refused requests (401, 403, 429) without filling a disk.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// At most one warning per this interval: a misconfigured Prometheus shows at the default
/// level, a scanner hammering the port costs one line a minute.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Every refusal is a debug event; the first one, and then at most one a minute, is also a
/// warning that says how many were refused since the previous warning.
#[derive(Debug)]
pub(crate) struct Refusals {
    epoch: Instant,
    /// Seconds after `epoch` of the next allowed warning, plus one (0: none warned yet).
    next_warn: AtomicU64,
    /// Refusals since the last warning.
    since_warn: AtomicU64,
}

impl Default for Refusals {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            next_warn: AtomicU64::new(0),
            since_warn: AtomicU64::new(0),
        }
    }
}

impl Refusals {
    /// Records a refused request: its status, the path asked and the peer when known. True
    /// when it was also logged as a warning.
    pub(crate) fn refused(&self, status: u16, path: &str, peer: Option<SocketAddr>) -> bool {
        self.refused_at(status, path, peer, self.epoch.elapsed().as_secs())
    }

    /// [`refused`](Self::refused) at `now` seconds after the epoch.
    fn refused_at(&self, status: u16, path: &str, peer: Option<SocketAddr>, now: u64) -> bool {
        let peer = peer.map(tracing::field::display);
        tracing::debug!(status, path, peer, "request refused");
        self.since_warn.fetch_add(1, Ordering::Relaxed);
        let now = now.saturating_add(1);
        let next = self.next_warn.load(Ordering::Relaxed);
        if now < next {
            return false;
        }
        let due = now + WARN_EVERY.as_secs();
        // One caller wins the interval; the others stay at debug.
        let won = self
            .next_warn
            .compare_exchange(next, due, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if won {
            let refused = self.since_warn.swap(0, Ordering::Relaxed);
            tracing::warn!(
                status,
                path,
                peer,
                refused,
                "requests refused (credentials, allow-list or rate limit); more at debug level, next warning in a minute at most"
            );
        }
        won
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_a_minute_with_the_count_since_the_last() {
        let refusals = Refusals::default();
        let warned: Vec<bool> = (0..5)
            .map(|_| refusals.refused_at(401, "/metrics", None, 0))
            .collect();
        assert_eq!(warned, [true, false, false, false, false]);
        assert_eq!(refusals.since_warn.load(Ordering::Relaxed), 4);
        // Just under a minute later: still quiet.
        let minute = WARN_EVERY.as_secs();
        assert!(!refusals.refused_at(403, "/metrics", None, minute - 1));
        assert_eq!(refusals.since_warn.load(Ordering::Relaxed), 5);
        // A minute later: one warning with the six refused since the last.
        assert!(refusals.refused_at(403, "/metrics", None, minute));
        assert_eq!(refusals.since_warn.load(Ordering::Relaxed), 0);
        assert!(!refusals.refused_at(403, "/metrics", None, minute + 1));
    }
}
