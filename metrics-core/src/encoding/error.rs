//! Why encoding a registry failed.

use std::fmt;

use super::Format;

/// Encoding a registry failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A registered prometheus-client metric or collector failed to encode itself.
    Collector,
    /// A binary format (protobuf) was asked of an API that writes a `String`; use
    /// [`MetricsRegistry::encode_bytes`](crate::MetricsRegistry::encode_bytes).
    NotText(Format),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Collector => f.write_str("a registered metric or collector failed to encode"),
            Self::NotText(format) => write!(
                f,
                "{format:?} is a binary format: encode it with MetricsRegistry::encode_bytes"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

impl From<fmt::Error> for EncodeError {
    fn from(_: fmt::Error) -> Self {
        Self::Collector
    }
}
