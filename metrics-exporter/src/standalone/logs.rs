//! The binary's log subscriber: events of every crate at `--log.level` and above, as logfmt or
//! JSON lines on stderr. Library users install their own subscriber instead.

use std::fmt;

use super::log_format::{JsonLines, Logfmt};

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

/// Installs the process-wide subscriber: events at `level` and more severe, in `format`, on
/// stderr. Call it once, first thing in `main`.
pub fn install_logs(level: tracing::Level, format: LogFormat) -> Result<(), LogsError> {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Logfmt => builder.event_format(Logfmt).try_init(),
        LogFormat::Json => builder.event_format(JsonLines).try_init(),
    };
    installed.map_err(|e| LogsError(e.to_string()))
}
