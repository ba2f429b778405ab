//! Why a probe failed, as a bounded label value.

use std::fmt;

use crate::client::HttpErrorKind;

/// The cause of a failed probe: the `cause` label of `probe_checks_total`. Either the request got
/// no response (the shared HTTP client's [`HttpErrorKind`]), or the response was not what the
/// target asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCause {
    /// No response: `dns`, `refused`, `timeout`, `tls`, `redirects`, `body_size` or `other`.
    Request(HttpErrorKind),
    /// A response with a status not accepted: `status`.
    Status,
    /// A body that matched a `fail_if_body_matches_regexp`, or not a
    /// `fail_if_body_not_matches_regexp`: `regex`.
    Regex,
    /// A response over TLS with `fail_if_ssl`, or not with `fail_if_not_ssl`: `ssl`.
    Ssl,
}

impl FailureCause {
    /// Every cause, in label order.
    pub const ALL: [Self; 10] = [
        Self::Request(HttpErrorKind::Dns),
        Self::Request(HttpErrorKind::Refused),
        Self::Request(HttpErrorKind::Timeout),
        Self::Request(HttpErrorKind::Tls),
        Self::Status,
        Self::Request(HttpErrorKind::Other),
        Self::Request(HttpErrorKind::Redirects),
        Self::Request(HttpErrorKind::BodySize),
        Self::Regex,
        Self::Ssl,
    ];

    /// `dns`, `refused`, `timeout`, `tls`, `status`, `other`, `redirects`, `body_size`,
    /// `regex` or `ssl`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request(kind) => kind.as_str(),
            Self::Status => "status",
            Self::Regex => "regex",
            Self::Ssl => "ssl",
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
            Self::Request(HttpErrorKind::Redirects) => 6,
            Self::Request(HttpErrorKind::BodySize) => 7,
            Self::Regex => 8,
            Self::Ssl => 9,
        }
    }
}

impl fmt::Display for FailureCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
