//! One probe of one target.

use std::time::{Duration, Instant};

use crate::client::{HttpGet, Timings};

use super::cause::FailureCause;
use super::config::ProbeTarget;

/// The result of one probe.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProbeOutcome {
    /// Whether the target answered the expected status in time.
    pub success: bool,
    /// Time for the whole probe.
    pub duration: Duration,
    /// The status code answered, if any.
    pub status_code: Option<u16>,
    /// Time per phase.
    pub timings: Timings,
    /// For `https`: the earliest certificate expiry, seconds since the Unix epoch.
    pub cert_expiry: Option<i64>,
    /// Why it failed; `None` on success.
    pub cause: Option<FailureCause>,
    /// What happened, for logs.
    pub message: String,
}

/// A target ready to probe: its settings and its prepared request.
#[derive(Debug)]
pub(crate) struct PreparedTarget {
    pub(crate) config: ProbeTarget,
    pub(crate) get: HttpGet,
}

impl PreparedTarget {
    pub(crate) async fn probe(&self) -> ProbeOutcome {
        let started = Instant::now();
        let result = self.get.send(self.config.timeout).await;
        let duration = started.elapsed();
        match result {
            Ok(response) => {
                let code = response.status.as_u16();
                let success = match self.config.expected_status {
                    Some(expected) => code == expected,
                    None => response.status.is_success(),
                };
                let message = if success {
                    format!("{code}")
                } else {
                    format!(
                        "{code}, expected {}",
                        self.config
                            .expected_status
                            .map_or_else(|| "2xx".to_owned(), |s| s.to_string())
                    )
                };
                ProbeOutcome {
                    success,
                    duration,
                    status_code: Some(code),
                    timings: response.timings,
                    cert_expiry: response.earliest_cert_expiry,
                    cause: (!success).then_some(FailureCause::Status),
                    message,
                }
            }
            Err(error) => ProbeOutcome {
                success: false,
                duration,
                status_code: None,
                timings: error.timings,
                cert_expiry: None,
                cause: Some(error.kind.into()),
                message: error.message,
            },
        }
    }
}
