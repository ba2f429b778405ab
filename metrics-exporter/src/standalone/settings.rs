//! The standalone binary's configuration, read from environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use metrics_core::collectors::DEFAULT_SYSTEM_INTERVAL;

use crate::prober::{
    parse_target_file, parse_target_list, ProbeTarget, Schedule, DEFAULT_PROBE_CONCURRENCY,
    SCHEDULE_FORMS,
};
use crate::DEFAULT_ADDR;

/// Everything the binary needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `METRICS_ADDR`: where `/metrics`, `/health`, `/live` and `/ready` are served.
    pub addr: SocketAddr,
    /// `TARGETS` and the targets of `TARGETS_FILE`.
    pub targets: Vec<ProbeTarget>,
    /// `PROBE_CONCURRENCY`: probes in flight at once, across targets.
    pub concurrency: usize,
    /// `SYSTEM_METRICS_INTERVAL`: how often host metrics are read.
    pub system_interval: Duration,
    /// `SHUTDOWN_DELAY`: how long `/ready` answers 503 before the listener closes.
    pub shutdown_delay: Duration,
}

/// An environment variable with an invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong and which form is accepted.
    pub message: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for SettingsError {}

fn invalid(variable: &'static str, message: String) -> SettingsError {
    SettingsError { variable, message }
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// Reads the variables through `lookup` (a name to its value, if set); empty values count
    /// as unset.
    ///
    /// ```
    /// use metrics_exporter::standalone::Settings;
    ///
    /// let env = |name: &str| match name {
    ///     "TARGETS" => Some("api=http://127.0.0.1:8080/health".to_owned()),
    ///     "PROBE_INTERVAL" => Some("*/30 * * * * *".to_owned()),
    ///     _ => None,
    /// };
    /// let settings = Settings::from_lookup(env).unwrap();
    /// assert_eq!(settings.addr.to_string(), "0.0.0.0:9464");
    /// assert_eq!(settings.targets[0].name, "api");
    ///
    /// let bad = Settings::from_lookup(|name| (name == "PROBE_TIMEOUT").then(|| "soon".to_owned()));
    /// assert_eq!(bad.unwrap_err().variable, "PROBE_TIMEOUT");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let addr_text = get("METRICS_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = addr_text.trim().parse().map_err(|_| {
            invalid(
                "METRICS_ADDR",
                format!("{addr_text:?} is not a socket address: use IP:PORT, such as 0.0.0.0:9464 or [::]:9464"),
            )
        })?;

        let mut defaults = ProbeTarget::new("", "");
        if let Some(text) = get("PROBE_INTERVAL") {
            defaults.schedule = text.parse::<Schedule>().map_err(|_| {
                invalid(
                    "PROBE_INTERVAL",
                    format!("{text:?} is not valid: use {SCHEDULE_FORMS}"),
                )
            })?;
        }
        if let Some(text) = get("PROBE_TIMEOUT") {
            defaults.timeout = duration("PROBE_TIMEOUT", &text)?;
        }
        if let Some(text) = get("PROBE_EXPECTED_STATUS") {
            let status = text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    invalid(
                        "PROBE_EXPECTED_STATUS",
                        format!("{text:?} is not an HTTP status: use a number from 100 to 599, such as 200"),
                    )
                })?;
            defaults.expected_status = Some(status);
        }
        let concurrency = match get("PROBE_CONCURRENCY") {
            None => DEFAULT_PROBE_CONCURRENCY,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "PROBE_CONCURRENCY",
                        format!(
                            "{text:?} is not valid: use a whole number from 1 to 10000, such as 16"
                        ),
                    )
                })?,
        };

        let mut targets = match get("TARGETS") {
            None => Vec::new(),
            Some(list) => parse_target_list(&list, &defaults).map_err(|e| {
                invalid(
                    "TARGETS",
                    format!("{e}; use comma-separated URLs, each optionally name=URL"),
                )
            })?,
        };
        if let Some(path) = get("TARGETS_FILE") {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    "TARGETS_FILE",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let from_file = parse_target_file(&text, &defaults).map_err(|e| {
                invalid(
                    "TARGETS_FILE",
                    format!("{}: {e} (expected TOML with [[target]] tables: url, and optionally name, interval, timeout, expected_status, ca_file)", path.display()),
                )
            })?;
            targets.extend(from_file);
        }

        let system_interval = match get("SYSTEM_METRICS_INTERVAL") {
            None => DEFAULT_SYSTEM_INTERVAL,
            Some(text) => duration("SYSTEM_METRICS_INTERVAL", &text)?,
        };
        let shutdown_delay = match get("SHUTDOWN_DELAY") {
            None => Duration::ZERO,
            Some(text) if text.trim() == "0" => Duration::ZERO,
            Some(text) => duration("SHUTDOWN_DELAY", &text)?,
        };
        Ok(Self {
            addr,
            targets,
            concurrency,
            system_interval,
            shutdown_delay,
        })
    }
}

fn duration(variable: &'static str, text: &str) -> Result<Duration, SettingsError> {
    crate::prober::parse_positive_duration(text).ok_or_else(|| {
        invalid(
            variable,
            format!("{text:?} is not valid: use a duration such as 10s, 500ms or 1m"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.addr.to_string(), "0.0.0.0:9464");
        assert!(s.targets.is_empty());
        assert_eq!(s.concurrency, DEFAULT_PROBE_CONCURRENCY);
        assert_eq!(s.system_interval, Duration::from_secs(10));
    }

    #[test]
    fn per_target_defaults_come_from_the_probe_variables() {
        let s = settings(&[
            ("TARGETS", "a=http://127.0.0.1:1/,http://127.0.0.1:2/"),
            ("PROBE_INTERVAL", "5s"),
            ("PROBE_TIMEOUT", "750ms"),
            ("PROBE_EXPECTED_STATUS", "204"),
            ("PROBE_CONCURRENCY", "3"),
        ])
        .unwrap();
        assert_eq!(s.targets.len(), 2);
        assert_eq!(
            s.targets[1].schedule,
            Schedule::Every(Duration::from_secs(5))
        );
        assert_eq!(s.targets[1].timeout, Duration::from_millis(750));
        assert_eq!(s.targets[0].expected_status, Some(204));
        assert_eq!(s.concurrency, 3);
    }

    #[test]
    fn every_invalid_value_names_its_variable_and_the_accepted_form() {
        let cases = [
            ("METRICS_ADDR", "localhost", "IP:PORT"),
            ("METRICS_ADDR", "1.2.3.4:99999", "IP:PORT"),
            ("PROBE_INTERVAL", "often", "six-field cron"),
            ("PROBE_INTERVAL", "*/5 * * * *", "six-field cron"),
            ("PROBE_TIMEOUT", "0s", "duration"),
            ("PROBE_CONCURRENCY", "0", "whole number"),
            ("PROBE_CONCURRENCY", "-1", "whole number"),
            ("PROBE_EXPECTED_STATUS", "2xx", "HTTP status"),
            ("TARGETS", "a=", "name=URL"),
            ("TARGETS_FILE", "/nonexistent/targets.toml", "cannot read"),
            ("SYSTEM_METRICS_INTERVAL", "fast", "duration"),
        ];
        for (variable, value, form) in cases {
            let error = settings(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value:?}");
            assert!(error.to_string().starts_with(variable), "{error}");
            assert!(
                error.message.contains(form),
                "{variable}={value:?}: {error}"
            );
        }
    }
}
