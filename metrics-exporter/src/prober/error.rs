//! [`TargetError`]: a target list or target the prober refuses.

use std::fmt;

/// A target list or target that was rejected; the message names the target and the accepted
/// form.
///
/// ```
/// use metrics_exporter::prober::{parse_target_list, ProbeTarget, TargetErrorKind};
///
/// let error = parse_target_list("a=", &ProbeTarget::new("", "")).unwrap_err();
/// assert_eq!(error.kind(), TargetErrorKind::Malformed);
/// assert!(error.to_string().contains("name=URL"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    kind: TargetErrorKind,
    message: String,
}

/// What kind of problem a [`TargetError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetErrorKind {
    /// The list or file is not in the accepted form: an item that is not a target, invalid
    /// TOML, an unknown key, an interval, timeout or expected status that is not valid.
    Malformed,
    /// A target's name is empty, or two targets have the same name.
    Name,
    /// A target's CA file cannot be read.
    Unreadable,
    /// A target's URL or CA certificates cannot be used for a probe.
    Url,
    /// A setting out of range: a zero timeout, a concurrency of zero or above the maximum.
    OutOfRange,
}

impl TargetError {
    pub(crate) fn new(kind: TargetErrorKind, message: String) -> Self {
        Self { kind, message }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> TargetErrorKind {
        self.kind
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TargetError {}
