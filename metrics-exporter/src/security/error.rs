//! [`SecurityError`]: an invalid security setting.

use std::fmt;

/// An invalid security setting: the field (or file key), what kind of problem, and what is
/// wrong. Never holds a secret.
///
/// ```
/// use metrics_exporter::security::{Security, SecurityErrorKind};
///
/// let error = Security::new().bearer_token_file("/nonexistent/token").unwrap_err();
/// assert_eq!(error.field(), "bearer_token_file");
/// assert_eq!(error.kind(), SecurityErrorKind::Unreadable);
/// assert!(error.to_string().starts_with("bearer_token_file: cannot read /nonexistent/token"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityError {
    pub(crate) field: &'static str,
    pub(crate) kind: SecurityErrorKind,
    /// What is wrong and which form is accepted.
    pub(crate) message: String,
}

/// What kind of problem a [`SecurityError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityErrorKind {
    /// A file the setting names cannot be read.
    Unreadable,
    /// The value is not in the accepted form: YAML, PEM, a CIDR range, a bcrypt hash, the
    /// characters of a token.
    Malformed,
    /// A well-formed value this exporter does not support (a TLS version, a client
    /// authentication type, a web-config key).
    Unsupported,
    /// A well-formed value that cannot be used: a key that does not match its certificate,
    /// settings that exclude each other, an empty token.
    Invalid,
    /// A setting another one needs is missing (a key without its certificate).
    Missing,
}

impl SecurityError {
    fn new(field: &'static str, kind: SecurityErrorKind, message: String) -> Self {
        Self {
            field,
            kind,
            message,
        }
    }

    pub(crate) fn unreadable(field: &'static str, message: String) -> Self {
        Self::new(field, SecurityErrorKind::Unreadable, message)
    }

    pub(crate) fn malformed(field: &'static str, message: String) -> Self {
        Self::new(field, SecurityErrorKind::Malformed, message)
    }

    #[cfg(feature = "web-config")]
    pub(crate) fn unsupported(field: &'static str, message: String) -> Self {
        Self::new(field, SecurityErrorKind::Unsupported, message)
    }

    pub(crate) fn invalid(field: &'static str, message: String) -> Self {
        Self::new(field, SecurityErrorKind::Invalid, message)
    }

    #[cfg(feature = "tls")]
    pub(crate) fn missing(field: &'static str, message: String) -> Self {
        Self::new(field, SecurityErrorKind::Missing, message)
    }

    /// The same problem, reported under another field.
    pub(crate) fn in_field(self, field: &'static str) -> Self {
        Self { field, ..self }
    }

    /// The same problem, its message after `prefix` (e.g. the file it was found in).
    pub(crate) fn prefixed(self, prefix: impl fmt::Display) -> Self {
        Self {
            message: format!("{prefix}: {}", self.message),
            ..self
        }
    }

    /// The setting, e.g. `tls_server_config.cert_file` or `bearer_token_file`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> SecurityErrorKind {
        self.kind
    }
}

impl fmt::Display for SecurityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for SecurityError {}
