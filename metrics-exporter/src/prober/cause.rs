//! Why a probe failed, as a bounded label value.

use metrics_core::net::HttpErrorKind;

/// The cause of a failed probe: the `cause` label of `probe_checks_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureCause {
    /// The host name did not resolve.
    Dns,
    /// The connection was refused.
    Refused,
    /// No complete response within the timeout.
    Timeout,
    /// The TLS handshake failed.
    Tls,
    /// A response with an unexpected status code.
    Status,
    /// Anything else (reset connection, malformed response).
    Other,
}

impl FailureCause {
    /// Every cause, in label order.
    pub const ALL: [Self; 6] = [
        Self::Dns,
        Self::Refused,
        Self::Timeout,
        Self::Tls,
        Self::Status,
        Self::Other,
    ];

    /// `dns`, `refused`, `timeout`, `tls`, `status` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Refused => "refused",
            Self::Timeout => "timeout",
            Self::Tls => "tls",
            Self::Status => "status",
            Self::Other => "other",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl From<HttpErrorKind> for FailureCause {
    fn from(kind: HttpErrorKind) -> Self {
        match kind {
            HttpErrorKind::Dns => Self::Dns,
            HttpErrorKind::Refused => Self::Refused,
            HttpErrorKind::Timeout => Self::Timeout,
            HttpErrorKind::Tls => Self::Tls,
            HttpErrorKind::Other => Self::Other,
        }
    }
}
