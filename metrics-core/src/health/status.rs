//! The three health states.

/// A health state, as `application/health+json` names it.
///
/// Ordered from best to worst, so the status of a set of checks is the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Healthy.
    Pass,
    /// Healthy with concerns: a non-critical check fails.
    Warn,
    /// Unhealthy: a critical check fails.
    Fail,
}

impl Status {
    /// `pass`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }

    /// The value of `health_check_status`: 1 pass, 0.5 warn, 0 fail.
    pub fn as_metric(self) -> f64 {
        match self {
            Self::Pass => 1.0,
            Self::Warn => 0.5,
            Self::Fail => 0.0,
        }
    }
}
