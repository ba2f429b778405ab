//! The circuit breaker in front of each check.

use std::time::{Duration, Instant};

/// When a failing check stops being run.
///
/// After `failures` consecutive failures the breaker opens: the check is skipped, and reported
/// failing, for `cooldown`. Then it runs once more: a pass closes the breaker, a failure opens
/// it for another cooldown.
///
/// ```
/// use std::time::Duration;
/// use metrics_toolkit::health::BreakerConfig;
///
/// let breaker = BreakerConfig::new(3, Duration::from_secs(30));
/// assert_eq!(breaker.failures(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    failures: u32,
    cooldown: Duration,
}

impl BreakerConfig {
    /// Opens after `failures` consecutive failures (at least 1), for `cooldown`.
    pub fn new(failures: u32, cooldown: Duration) -> Self {
        Self {
            failures: failures.max(1),
            cooldown,
        }
    }

    /// Consecutive failures that open the breaker.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long the breaker stays open.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }
}

impl Default for BreakerConfig {
    /// Opens after 3 consecutive failures, for 30 s.
    fn default() -> Self {
        Self::new(3, Duration::from_secs(30))
    }
}

/// The breaker's state for one check.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            consecutive_failures: 0,
            open_until: None,
        }
    }

    /// Whether the check may run at `now`; `Err(until)` while open.
    pub(crate) fn allows(&self, now: Instant) -> Result<(), Instant> {
        match self.open_until {
            Some(until) if now < until => Err(until),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a run made at `now`.
    pub(crate) fn record(&mut self, passed: bool, now: Instant) {
        if passed {
            self.consecutive_failures = 0;
            self.open_until = None;
            return;
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        if self.consecutive_failures >= self.config.failures {
            // A cooldown too long for the clock means "open for good" (a year is as good).
            let year = Duration::from_secs(365 * 86_400);
            self.open_until = Some(now.checked_add(self.config.cooldown).unwrap_or(now + year));
        }
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_n_failures_and_retries_after_the_cooldown() {
        let start = Instant::now();
        let cooldown = Duration::from_secs(10);
        let mut breaker = Breaker::new(BreakerConfig::new(2, cooldown));
        breaker.record(false, start);
        assert!(breaker.allows(start).is_ok(), "one failure is not enough");
        breaker.record(false, start);
        assert_eq!(breaker.allows(start), Err(start + cooldown));
        assert!(breaker.allows(start + cooldown / 2).is_err());

        // Half-open: one trial; a failure opens it again for a full cooldown.
        let later = start + cooldown;
        assert!(breaker.allows(later).is_ok());
        breaker.record(false, later);
        assert_eq!(breaker.allows(later), Err(later + cooldown));

        // A pass closes it and resets the count.
        let much_later = later + cooldown;
        breaker.record(true, much_later);
        assert!(breaker.allows(much_later).is_ok());
        breaker.record(false, much_later);
        assert!(breaker.allows(much_later).is_ok());
        assert_eq!(breaker.consecutive_failures(), 1);
    }
}
