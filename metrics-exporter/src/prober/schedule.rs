//! When a target is probed: every fixed duration, or on a cron expression of five fields
//! (minute first, as crontab reads them) or six (seconds first, as the cron crate reads them).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How often a target is probed.
///
/// Parsed from a duration (`30s`, `500ms`, `1m 30s`), a five-field cron expression with
/// minutes first as crontab writes them (`*/5 * * * *`, at second 0), or a six-field one with
/// seconds first (`*/30 * * * * *`); cron expressions are evaluated in UTC.
///
/// Five fields mean what they mean to crontab: the day of the week counts 0-7 from Sunday
/// (0 and 7 are Sunday; `MON`-`FRI` names too), translated to the cron crate's own numbering.
/// Crontab runs when *either* the day of the month or the day of the week matches if both are
/// restricted (neither starts with `*`); the cron crate requires both, so a five-field
/// expression restricting both is refused rather than run on other days. Six fields are the
/// cron crate's syntax as is: the day of the week counts 1-7 with 1 = Sunday, and both day
/// fields must match.
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
    Cron(Box<CronExpression>),
}

/// A parsed cron expression and the text it was written as.
#[derive(Clone, PartialEq)]
pub struct CronExpression {
    /// As the operator wrote it (five or six fields), for logs.
    text: String,
    /// Six fields, the day of the week in the cron crate's numbering.
    schedule: cron::Schedule,
}

impl CronExpression {
    /// The expression as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The schedule as the cron crate reads it (five fields converted to six).
    pub fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }
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
            Self::Cron(cron) => {
                let now = chrono::Utc::now();
                cron.schedule
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
            Self::Cron(cron) => write!(f, "Cron({})", cron.text),
        }
    }
}

/// As an operator reads it in a log line: `every 30s`, or `cron */5 * * * * (UTC)`, the
/// expression as written.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Every(period) => write!(f, "every {}", humantime::format_duration(*period)),
            Self::Cron(cron) => write!(f, "cron {} (UTC)", cron.text),
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
            let invalid = |e: String| {
                ScheduleError(format!(
                    "{text:?} is not a valid cron expression ({e}): use {SCHEDULE_FORMS}"
                ))
            };
            // The cron crate reads seconds first; a crontab line starts at the minute.
            let expression = if fields == 5 {
                crontab_to_cron(text).map_err(invalid)?
            } else {
                text.to_owned()
            };
            return cron::Schedule::from_str(&expression)
                .map(|schedule| {
                    Self::Cron(Box::new(CronExpression {
                        text: text.to_owned(),
                        schedule,
                    }))
                })
                .map_err(|e| invalid(e.to_string()));
        }
        match parse_positive_duration(text) {
            Some(period) => Ok(Self::Every(period)),
            None => Err(ScheduleError(format!(
                "{text:?} is not valid: use {SCHEDULE_FORMS}"
            ))),
        }
    }
}

/// A five-field crontab expression as the cron crate's six fields: second 0 first, and the
/// day of the week (crontab's 0-7 from Sunday) in the crate's 1-7 from Sunday.
fn crontab_to_cron(text: &str) -> Result<String, String> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
        return Err("five fields expected".to_owned());
    };
    // As crontab decides it: a field starting with '*' is unrestricted.
    let restricted = |field: &str| !(field.starts_with('*') || field == "?");
    if restricted(day_of_month) && restricted(day_of_week) {
        return Err(format!(
            "day of month {day_of_month:?} and day of week {day_of_week:?} are both set: crontab \
             runs when either matches, this prober only when both do; set one of them to *, \
             or write six fields (seconds first) to require both"
        ));
    }
    let day_of_week = crontab_days_of_week(day_of_week)?;
    Ok(format!(
        "0 {minute} {hour} {day_of_month} {month} {day_of_week}"
    ))
}

/// Crontab's day-of-week field (0-7, 0 and 7 Sunday, or names; lists, ranges, steps) as the
/// cron crate's: the days listed, 1 (Sunday) to 7 (Saturday). `*` and `?` stay as they are.
fn crontab_days_of_week(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_owned());
    }
    let bad =
        |why: &str| format!("day of week {field:?}: {why}; use 0-7 (0 or 7 = Sunday) or SUN-SAT");
    let day = |text: &str| -> Result<u32, String> {
        const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        if let Some(n) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            return Ok(n as u32);
        }
        match text.parse::<u32>() {
            Ok(n) if n <= 7 => Ok(n),
            _ => Err(bad(&format!("{text:?} is not a day"))),
        }
    };
    // Crontab days 0-7, expanded; 7 folds into 0 below.
    let mut days = [false; 8];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => match step.parse::<u32>() {
                Ok(step) if step > 0 => (range, step),
                _ => return Err(bad(&format!("{step:?} is not a step"))),
            },
            None => (item, 1),
        };
        let (first, last) = if range == "*" {
            (0, 7)
        } else if let Some((a, b)) = range.split_once('-') {
            (day(a)?, day(b)?)
        } else {
            let a = day(range)?;
            // "1/2" is "1-7/2" to crontab.
            (a, if item.contains('/') { 7 } else { a })
        };
        if first > last {
            return Err(bad(&format!("{range:?} runs backwards")));
        }
        for d in (first..=last).step_by(step as usize) {
            days[d as usize] = true;
        }
    }
    days[0] |= days[7];
    let listed: Vec<String> = (0..7)
        .filter(|&d| days[d])
        .map(|d| (d + 1).to_string())
        .collect();
    Ok(listed.join(","))
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
        let five: Vec<_> = five.schedule().after(&now).take(3).collect();
        let six: Vec<_> = six.schedule().after(&now).take(3).collect();
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
        // Five fields show as written, not as converted for the cron crate.
        let crontab: Schedule = "*/5 * * * 1-5".parse().unwrap();
        assert_eq!(crontab.to_string(), "cron */5 * * * 1-5 (UTC)");
        assert_eq!(format!("{crontab:?}"), "Cron(*/5 * * * 1-5)");
    }

    /// The weekdays (Monday = 1) of the next `n` instants of `expression`, from a Sunday.
    fn weekdays(expression: &str, n: usize) -> Vec<u32> {
        let Ok(Schedule::Cron(cron)) = expression.parse::<Schedule>() else {
            panic!("{expression:?} parses");
        };
        // 2026-11-29 is a Sunday.
        let start = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 29, 0, 0, 0)
            .single()
            .unwrap();
        cron.schedule()
            .after(&start)
            .take(n)
            .map(|t| chrono::Datelike::weekday(&t).number_from_monday())
            .collect()
    }

    #[test]
    fn crontab_days_of_week_count_from_sunday_zero() {
        // Sunday is 0 (and 7) to crontab; the cron crate would refuse 0 or take 1 for Sunday.
        assert_eq!(weekdays("0 9 * * 0", 2), [7, 7]);
        assert_eq!(weekdays("0 9 * * 7", 2), [7, 7]);
        assert_eq!(weekdays("0 9 * * 1-5", 6), [1, 2, 3, 4, 5, 1]);
        assert_eq!(weekdays("0 9 * * MON-FRI", 6), [1, 2, 3, 4, 5, 1]);
        assert_eq!(weekdays("0 9 * * 6,0", 3), [7, 6, 7]);
        assert_eq!(weekdays("0 9 * * 5-7", 4), [7, 5, 6, 7]);
        assert_eq!(weekdays("0 9 * * */2", 5), [7, 2, 4, 6, 7]);
        assert_eq!(weekdays("0 9 * * 1-5/2", 4), [1, 3, 5, 1]);
        assert_eq!(weekdays("0 9 */2 * 1", 2), [1, 1]);
        assert_eq!(crontab_days_of_week("0-7").as_deref(), Ok("1,2,3,4,5,6,7"));
        // Six fields are the cron crate's own numbering: 1 is Sunday.
        assert_eq!(weekdays("0 0 9 * * 1", 2), [7, 7]);
        for bad in ["0 9 * * 8", "0 9 * * 5-1", "0 9 * * 1/0", "0 9 * * funday"] {
            let error = bad.parse::<Schedule>().unwrap_err().to_string();
            assert!(error.contains("0-7 (0 or 7 = Sunday)"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn crontab_day_of_month_or_week_is_refused_when_both_are_set() {
        let error = "0 9 1 * 1".parse::<Schedule>().unwrap_err().to_string();
        assert!(
            error.contains("crontab runs when either matches"),
            "{error}"
        );
        // One of them unrestricted: the same days as crontab.
        assert!("0 9 1 * *".parse::<Schedule>().is_ok());
        assert!("0 9 * * 1".parse::<Schedule>().is_ok());
        // Six fields: both must match, as documented.
        assert!("0 0 9 1 * 2".parse::<Schedule>().is_ok());
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
