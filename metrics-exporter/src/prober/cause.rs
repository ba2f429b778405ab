//! Why a probe failed, as a bounded label value.

use crate::client::HttpErrorKind;

/// The cause of a failed probe: the `cause` label of `probe_checks_total`. Either the request got
/// no response (the shared HTTP client's [`HttpErrorKind`]), or the response had an unexpected
/// status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCause {
    /// No response: `dns`, `refused`, `timeout`, `tls` or `other`.
    Request(HttpErrorKind),
    /// A response with an unexpected status code: `status`.
    Status,
}

impl FailureCause {
    /// Every cause, in label order.
    pub const ALL: [Self; 6] = [
        Self::Request(HttpErrorKind::Dns),
        Self::Request(HttpErrorKind::Refused),
        Self::Request(HttpErrorKind::Timeout),
        Self::Request(HttpErrorKind::Tls),
        Self::Status,
        Self::Request(HttpErrorKind::Other),
    ];

    /// `dns`, `refused`, `timeout`, `tls`, `status` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request(kind) => kind.as_str(),
            Self::Status => "status",
        }
    }

    /// Position in [`FailureCause::ALL`].
    pub(crate) fn index(self) -> usize {
        match self {
            Self::Request(HttpErrorKind::Dns) => 0,
            Self::Request(HttpErrorKind::Refused) => 1,
            Self::Request(HttpErrorKind::Timeout) => 2,
            Self::Request(HttpErrorKind::Tls) => 3,
            Self::Status => 4,
            Self::Request(HttpErrorKind::Other) => 5,
        }
    }
}

impl From<HttpErrorKind> for FailureCause {
    fn from(kind: HttpErrorKind) -> Self {
        Self::Request(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::FailureCause;

    #[test]
    fn index_matches_the_label_order() {
        for (position, cause) in FailureCause::ALL.into_iter().enumerate() {
            assert_eq!(cause.index(), position, "{}", cause.as_str());
        }
    }
}
