//! [`RateLimit`]: the web-config.yml `rate_limit`, one token bucket for every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `rate_limit` of a web-config.yml, as exporter-toolkit applies it: a single token bucket for
/// the whole server that holds `burst` tokens and gains one every `interval`; a request that
/// finds it empty is answered 429 Too Many Requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    interval: Duration,
    burst: u32,
}

impl RateLimit {
    /// `burst` requests at once, then one per `interval`. `None` when `interval` is zero or
    /// `burst` is 0 (a bucket that never admits anything).
    ///
    /// ```
    /// use std::time::Duration;
    /// use metrics_exporter::security::RateLimit;
    ///
    /// let limit = RateLimit::new(Duration::from_secs(1), 10).unwrap();
    /// assert_eq!(limit.burst(), 10);
    /// assert_eq!(RateLimit::new(Duration::ZERO, 10), None);
    /// ```
    pub fn new(interval: Duration, burst: u32) -> Option<Self> {
        (!interval.is_zero() && burst > 0).then_some(Self { interval, burst })
    }

    /// The time between two requests once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many requests may arrive at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// The bucket a server shares among its connections, kept as the time it is full again
/// (GCRA, equivalent to a token bucket): one atomic, no lock.
#[derive(Debug)]
pub(crate) struct Bucket {
    epoch: Instant,
    /// Nanoseconds after `epoch`: the bucket is full again at this time.
    full_at: AtomicU64,
    interval: u64,
    /// `burst * interval`: how far ahead of now `full_at` may run.
    tolerance: u64,
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Bucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        let interval = nanos(limit.interval);
        Self {
            epoch: Instant::now(),
            full_at: AtomicU64::new(0),
            interval,
            tolerance: interval.saturating_mul(u64::from(limit.burst)),
        }
    }

    /// Takes a token if one is left.
    pub(crate) fn try_take(&self) -> bool {
        self.try_take_at(nanos(self.epoch.elapsed()))
    }

    /// Takes a token at `now` nanoseconds after the epoch.
    fn try_take_at(&self, now: u64) -> bool {
        let mut current = self.full_at.load(Ordering::Relaxed);
        loop {
            let next = current.max(now).saturating_add(self.interval);
            if next - now > self.tolerance {
                return false;
            }
            match self.full_at.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn a_burst_then_one_per_interval() {
        let limit = RateLimit::new(Duration::from_secs(1), 3).unwrap();
        let bucket = Bucket::new(limit);
        let taken: Vec<bool> = (0..4).map(|_| bucket.try_take_at(0)).collect();
        assert_eq!(taken, [true, true, true, false]);
        // Half an interval later: still empty; a whole one: one token.
        assert!(!bucket.try_take_at(SECOND / 2));
        assert!(bucket.try_take_at(SECOND));
        assert!(!bucket.try_take_at(SECOND));
        // Long idle: full again, but never more than the burst.
        let taken: Vec<bool> = (0..4).map(|_| bucket.try_take_at(100 * SECOND)).collect();
        assert_eq!(taken, [true, true, true, false]);
    }

    #[test]
    fn zero_interval_or_burst_is_no_limit() {
        assert_eq!(RateLimit::new(Duration::ZERO, 5), None);
        assert_eq!(RateLimit::new(Duration::from_secs(1), 0), None);
    }
}
