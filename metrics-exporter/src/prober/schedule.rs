//! When a target is probed: every fixed duration, or on a cron expression of five fields
//! (minute first) or six (seconds first).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How often a target is probed.
///
/// Parsed from a duration (`30s`, `500ms`, `1m 30s`), a five-field cron expression with
/// minutes first as crontab writes them (`*/5 * * * *`, at second 0), or a six-field one with
/// seconds first (`*/30 * * * * *`); cron expressions are evaluated in UTC.
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::prober::Schedule;
///
/// let every: Schedule = "30s".parse().unwrap();
/// assert_eq!(every, Schedule::Every(Duration::from_secs(30)));
/// let cron: Schedule = "*/30 * * * * *".parse().unwrap();
/// assert!(cron.next_delay() <= Duration::from_secs(30));
/// let crontab: Schedule = "*/5 * * * *".parse().unwrap();
/// assert!(crontab.next_delay() <= Duration::from_secs(300));
/// assert!("every now and then".parse::<Schedule>().is_err());
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Schedule {
    /// A fixed period between the starts of two probes.
    Every(Duration),
    /// The instants a cron expression names.
    Cron(Box<cron::Schedule>),
}

/// The accepted forms, for error messages.
pub(crate) const SCHEDULE_FORMS: &str = "a duration such as 30s, 500ms or 1m, a five-field cron \
     expression (minute first) such as */5 * * * *, or a six-field cron expression (seconds \
     first) such as */30 * * * * *";

impl Schedule {
    /// Time from now to the next probe.
    pub fn next_delay(&self) -> Duration {
        match self {
            Self::Every(period) => *period,
            Self::Cron(schedule) => {
                let now = chrono::Utc::now();
                schedule
                    .after(&now)
                    .next()
                    .and_then(|next| (next - now).to_std().ok())
                    // A cron expression with no future instant (a past year) never fires again.
                    .unwrap_or(Duration::from_secs(365 * 24 * 3600))
            }
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Every(period) => write!(f, "Every({period:?})"),
            Self::Cron(schedule) => write!(f, "Cron({})", schedule.source()),
        }
    }
}

/// As an operator reads it in a log line: `every 30s`, or `cron 0 */5 * * * *` (UTC).
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Every(period) => write!(f, "every {}", humantime::format_duration(*period)),
            Self::Cron(schedule) => write!(f, "cron {} (UTC)", schedule.source()),
        }
    }
}

/// A schedule that could not be parsed; the message names the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let fields = text.split_whitespace().count();
        if fields == 5 || fields == 6 {
            // The cron crate reads seconds first; a crontab line starts at the minute.
            let expression = if fields == 5 {
                format!("0 {text}")
            } else {
                text.to_owned()
            };
            return cron::Schedule::from_str(&expression)
                .map(|s| Self::Cron(Box::new(s)))
                .map_err(|e| {
                    ScheduleError(format!(
                        "{text:?} is not a valid cron expression ({e}): use {SCHEDULE_FORMS}"
                    ))
                });
        }
        match parse_positive_duration(text) {
            Some(period) => Ok(Self::Every(period)),
            None => Err(ScheduleError(format!(
                "{text:?} is not valid: use {SCHEDULE_FORMS}"
            ))),
        }
    }
}

/// Parses a positive duration in humantime's forms (`30s`, `500ms`, `1m 30s`, `2h`); `None`
/// for anything else, zero included.
pub(crate) fn parse_positive_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_five_or_six_field_cron() {
        assert_eq!(
            "500ms".parse(),
            Ok(Schedule::Every(Duration::from_millis(500)))
        );
        assert_eq!(
            "1m 30s".parse(),
            Ok(Schedule::Every(Duration::from_secs(90)))
        );
        assert!(matches!("0 */5 * * * *".parse(), Ok(Schedule::Cron(_))));
        // Five fields: minute first, at second 0, so the same instants as "0 */5 * * * *".
        let (Ok(Schedule::Cron(five)), Ok(Schedule::Cron(six))) =
            ("*/5 * * * *".parse(), "0 */5 * * * *".parse())
        else {
            panic!("both parse");
        };
        let now = chrono::Utc::now();
        let five: Vec<_> = five.after(&now).take(3).collect();
        let six: Vec<_> = six.after(&now).take(3).collect();
        assert_eq!(five, six);
        assert_eq!(chrono::Timelike::second(&five[0]), 0);
        assert_eq!(chrono::Timelike::minute(&five[0]) % 5, 0);
        for bad in [
            "",
            "0s",
            "30",
            "-5s",
            "*/5 * * *",
            "61 * * * * *",
            "60 * * * *",
            "30 parsecs",
        ] {
            let error = bad.parse::<Schedule>().unwrap_err().to_string();
            assert!(error.contains("six-field cron"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn displays_as_a_log_line_reads_it() {
        let every: Schedule = "1m 30s".parse().unwrap();
        assert_eq!(every.to_string(), "every 1m 30s");
        let cron: Schedule = "0 */5 * * * *".parse().unwrap();
        assert_eq!(cron.to_string(), "cron 0 */5 * * * * (UTC)");
    }

    #[test]
    fn positive_durations_only() {
        assert_eq!(
            parse_positive_duration(" 1m 30s "),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_positive_duration("2h"),
            Some(Duration::from_secs(7200))
        );
        for bad in ["0s", "0", "", "5", "-5s", "soon"] {
            assert_eq!(parse_positive_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cron_delays_stay_within_the_period() {
        let every_second: Schedule = "* * * * * *".parse().unwrap();
        for _ in 0..5 {
            assert!(every_second.next_delay() <= Duration::from_secs(1));
        }
    }
}
