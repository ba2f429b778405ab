//! [`Verdict`]: what checking a request's credentials concludes.

/// The outcome of checking a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Valid credentials.
    Authenticated,
    /// No `Authorization` header.
    Missing,
    /// Wrong, unknown or malformed credentials (never said which).
    Invalid,
    /// Basic credentials that could not be verified in time: every password verifier stayed
    /// busy for the configured wait.
    #[cfg(feature = "basic-auth")]
    Busy,
}
