//! The clock request durations are read from.
//!
//! The CPU's time-stamp counter (via `quanta`) costs about a third of `Instant::now` +
//! `elapsed` per pair of readings (measured: ~20 ns against ~55 ns), and two are taken per
//! request, three with time to first byte on. But the counter is only as good as the host
//! makes it: quanta trusts it from CPU flags alone, while on some VMs, and after a live
//! migration, the kernel has found it unreliable (skewed between cores, or running at another
//! rate) and switched its own clocksource away from it. So the counter is used only when the
//! kernel's current clocksource is `tsc` (read once, when the first metrics are built);
//! everywhere else (another clocksource, not Linux, the file unreadable) durations come from
//! the OS monotonic clock, which the kernel keeps correct whatever it runs on.

use std::sync::OnceLock;
use std::time::Instant;

/// Where the kernel names the clocksource it trusts now.
const CLOCKSOURCE_FILE: &str = "/sys/devices/system/clocksource/clocksource0/current_clocksource";

pub(crate) enum Clock {
    /// The time-stamp counter, which the kernel trusts on this host.
    Counter(quanta::Clock),
    /// The OS monotonic clock, as nanoseconds since `base`.
    Os(Instant),
}

static CLOCK: OnceLock<Clock> = OnceLock::new();

/// The process's clock, chosen on the first call. Choosing the counter calibrates it against
/// the OS clock (about a millisecond), so metrics call this when they are built, not on a
/// first request.
#[inline(always)]
pub(crate) fn clock() -> &'static Clock {
    match CLOCK.get() {
        Some(clock) => clock,
        None => choose_clock(),
    }
}

#[cold]
fn choose_clock() -> &'static Clock {
    CLOCK.get_or_init(|| {
        let clocksource = std::fs::read_to_string(CLOCKSOURCE_FILE).ok();
        if kernel_trusts_counter(clocksource.as_deref()) {
            Clock::Counter(quanta::Clock::new())
        } else {
            Clock::Os(Instant::now())
        }
    })
}

/// Whether the kernel's current clocksource (the file's content, if it could be read) is the
/// time-stamp counter.
fn kernel_trusts_counter(clocksource: Option<&str>) -> bool {
    clocksource.is_some_and(|name| name.trim() == "tsc")
}

/// A point in time, as the clock's raw reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp(u64);

impl Stamp {
    #[inline]
    pub(crate) fn now() -> Self {
        Self(clock().raw())
    }

    /// Seconds from this stamp to now; 0 if the clock reads earlier.
    #[cfg(test)]
    pub(crate) fn seconds_elapsed(self) -> f64 {
        let clock = clock();
        seconds(clock.nanos_between(self.0, clock.raw()))
    }

    /// Now, and the seconds from this stamp to now (0 if the clock reads earlier): one look at
    /// the clock for both.
    #[inline]
    pub(crate) fn now_and_seconds_since(self) -> (Stamp, f64) {
        let clock = clock();
        let now = clock.raw();
        (Stamp(now), seconds(clock.nanos_between(self.0, now)))
    }

    /// Seconds from this stamp to `later`; 0 if `later` reads earlier.
    #[inline]
    pub(crate) fn seconds_until(self, later: Stamp) -> f64 {
        seconds(clock().nanos_between(self.0, later.0))
    }

    /// The clock's reading, to keep in an atomic.
    #[inline]
    pub(crate) fn raw(self) -> u64 {
        self.0
    }

    /// A stamp from a reading of [`raw`](Self::raw).
    pub(crate) fn from_raw(raw: u64) -> Self {
        Self(raw)
    }
}

impl Clock {
    #[inline]
    fn raw(&self) -> u64 {
        match self {
            Self::Counter(counter) => counter.raw(),
            // u64 nanoseconds last 584 years of uptime.
            Self::Os(base) => base.elapsed().as_nanos() as u64,
        }
    }

    #[inline]
    fn nanos_between(&self, start: u64, end: u64) -> u64 {
        match self {
            Self::Counter(counter) => counter.delta_as_nanos(start, end),
            Self::Os(_) => end.saturating_sub(start),
        }
    }
}

/// Nanoseconds as seconds. A division, not a product with `1e-9`: `1e-9` has no exact binary
/// form, so `5449.0 * 1e-9` is `0.000005449000000000001` where the division gives the
/// correctly rounded `0.000005449`.
#[inline]
fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{kernel_trusts_counter, seconds, Clock, Stamp};

    #[test]
    fn measures_what_the_os_clock_measures() {
        for millis in [20, 60] {
            let stamp = Stamp::now();
            let reference = Instant::now();
            std::thread::sleep(Duration::from_millis(millis));
            let measured = stamp.seconds_elapsed();
            let expected = reference.elapsed().as_secs_f64();
            assert!(
                (measured - expected).abs() < 0.002 + expected * 0.01,
                "measured {measured} s, the OS clock {expected} s"
            );
        }
    }

    #[test]
    fn the_counter_is_used_only_where_the_kernel_uses_it() {
        assert!(kernel_trusts_counter(Some("tsc\n")));
        for other in [
            Some("kvm-clock\n"),
            Some("hpet"),
            Some("xen"),
            Some(""),
            None,
        ] {
            assert!(!kernel_trusts_counter(other), "{other:?}");
        }
    }

    #[test]
    fn the_os_clock_fallback_measures_too() {
        let clock = Clock::Os(Instant::now());
        let start = clock.raw();
        std::thread::sleep(Duration::from_millis(20));
        let took = seconds(clock.nanos_between(start, clock.raw()));
        assert!((0.019..1.0).contains(&took), "{took}");
        assert_eq!(
            clock.nanos_between(10, 5),
            0,
            "a later reading never goes negative"
        );
    }

    #[test]
    fn nanoseconds_become_the_nearest_seconds() {
        assert_eq!(seconds(5_449).to_string(), "0.000005449");
        assert_eq!(seconds(1_000_000_000), 1.0);
        assert_eq!(seconds(1_234_567_891).to_string(), "1.234567891");
    }
}
