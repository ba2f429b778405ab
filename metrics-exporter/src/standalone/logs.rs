//! The binary's log subscriber: events of every crate at `--log.level` and above, as logfmt or
//! JSON lines on stderr. Library users install their own subscriber instead.

use std::fmt;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::log_format::LineFormat;

/// How log lines are written (`--log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// `time=2026-12-02T05:40:00.123Z level=info msg="…" key=value`, as Prometheus' exporters.
    #[default]
    Logfmt,
    /// One JSON object per line: `time`, `level`, `msg` and the event's fields.
    Json,
}

/// The log subscriber could not be installed (another one is installed already).
#[derive(Debug)]
pub struct LogsError(String);

impl fmt::Display for LogsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot install the log subscriber: {}", self.0)
    }
}

impl std::error::Error for LogsError {}

/// Installs the process-wide subscriber: events of this crate (and of `metrics_toolkit`) at
/// `level` and more severe, in `format`, on stderr; other crates' events at warn and more
/// severe only (h2's and rustls' debug events would bury ours). Call it once, first thing in
/// `main`.
pub fn install_logs(level: tracing::Level, format: LogFormat) -> Result<(), LogsError> {
    let others = if level == tracing::Level::ERROR {
        tracing::Level::ERROR
    } else {
        tracing::Level::WARN
    };
    let filter = Targets::new()
        .with_target("metrics_exporter", level)
        .with_target("metrics_toolkit", level)
        .with_default(others);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    builder
        .event_format(LineFormat(format))
        .finish()
        .with(filter)
        .try_init()
        .map_err(|e| LogsError(e.to_string()))
}
