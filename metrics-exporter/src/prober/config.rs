//! What to probe: targets with their schedule, timeout, expected status and CA file.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::client::{redact_credentials, url_without_credentials};
use serde::Deserialize;

use super::error::{TargetError, TargetErrorKind};
use super::schedule::{parse_positive_duration, Schedule};

/// One configured target.
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::prober::ProbeTarget;
///
/// let target = ProbeTarget::new("api", "https://api.example.com/health")
///     .timeout(Duration::from_secs(5))
///     .expected_status(204);
/// assert_eq!(target.name, "api");
/// ```
///
/// Its `Debug` output shows the URL with any credentials masked (`https://***@host/`).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ProbeTarget {
    /// The `target` label.
    pub name: String,
    /// The URL probed (`http` or `https`). Credentials in it (`https://user:password@host/`,
    /// percent-encoded) are sent as `Authorization: Basic`.
    pub url: String,
    /// When to probe (default every 30 s).
    pub schedule: Schedule,
    /// Time allowed for the whole probe (default 10 s).
    pub timeout: Duration,
    /// The status that counts as success; `None` (the default) accepts any 2xx.
    pub expected_status: Option<u16>,
    /// A PEM file of certificates to trust for this target, besides the Mozilla roots.
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("name", &self.name)
            .field("url", &redact_credentials(&self.url))
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .field("expected_status", &self.expected_status)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl ProbeTarget {
    /// Default time between probes.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
    /// Default probe timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A target with the default schedule, timeout and expected status.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            schedule: Schedule::Every(Self::DEFAULT_INTERVAL),
            timeout: Self::DEFAULT_TIMEOUT,
            expected_status: None,
            ca_file: None,
        }
    }

    /// When to probe.
    pub fn schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Time allowed for the whole probe.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The one status that counts as success.
    pub fn expected_status(mut self, status: u16) -> Self {
        self.expected_status = Some(status);
        self
    }

    /// A PEM file of certificates to trust for this target.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
}

/// Parses a `TARGETS` value: comma-separated URLs, each optionally `name=url`; a target
/// without a name is named by its URL, without any credentials in it.
///
/// ```
/// use metrics_exporter::prober::{parse_target_list, ProbeTarget};
///
/// let defaults = ProbeTarget::new("", "");
/// let targets = parse_target_list("api=https://api.example.com/health, http://db:8080/?a=b", &defaults).unwrap();
/// assert_eq!(targets[0].name, "api");
/// assert_eq!(targets[1].name, "http://db:8080/?a=b");
///
/// let with_credentials = parse_target_list("https://user:secret@api/health", &defaults).unwrap();
/// assert_eq!(with_credentials[0].name, "https://api/health");
/// ```
pub fn parse_target_list(
    list: &str,
    defaults: &ProbeTarget,
) -> Result<Vec<ProbeTarget>, TargetError> {
    let mut targets = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        // `name=url`, where the name comes before any "://" (URLs may hold '=' in queries).
        let (name, url) = match item.split_once('=') {
            Some((name, url)) if !name.contains("://") && !name.contains('/') => {
                (Cow::Borrowed(name.trim()), url.trim())
            }
            _ => (url_without_credentials(item), item),
        };
        if name.is_empty() || url.is_empty() {
            return Err(TargetError::new(
                TargetErrorKind::Malformed,
                format!(
                    "{:?} is not a target: use a URL or name=URL",
                    redact_credentials(item)
                ),
            ));
        }
        let mut target = defaults.clone();
        target.name = name.into_owned();
        target.url = url.to_owned();
        targets.push(target);
    }
    Ok(targets)
}

/// A TOML file of targets with per-target settings; unset settings take `defaults`. A target
/// without a name is named by its URL, without any credentials in it.
///
/// ```toml
/// [[target]]
/// name = "api"                          # the target label (default: the URL, less credentials)
/// url = "https://api.internal/health"
/// interval = "15s"                      # or a six-field cron expression
/// timeout = "5s"
/// expected_status = 200                 # default: any 2xx
/// ca_file = "/etc/ssl/internal-ca.pem"  # trusted besides the Mozilla roots
/// ```
pub fn parse_target_file(
    toml_text: &str,
    defaults: &ProbeTarget,
) -> Result<Vec<ProbeTarget>, TargetError> {
    // TOML errors quote the offending line, which may hold a URL with credentials.
    let file: TargetFile = toml::from_str(toml_text).map_err(|e| {
        TargetError::new(
            TargetErrorKind::Malformed,
            redact_credentials(&e.to_string()).into_owned(),
        )
    })?;
    file.target
        .into_iter()
        .map(|entry| {
            let name = entry
                .name
                .unwrap_or_else(|| url_without_credentials(&entry.url).into_owned());
            let mut target = defaults.clone();
            if let Some(interval) = entry.interval {
                target.schedule = interval
                    .parse()
                    .map_err(|e| TargetError::new(TargetErrorKind::Malformed, format!("target {name:?}: interval: {e}")))?;
            }
            if let Some(timeout) = entry.timeout {
                target.timeout = parse_positive_duration(&timeout).ok_or_else(|| {
                    TargetError::new(TargetErrorKind::Malformed, format!(
                        "target {name:?}: timeout {timeout:?} is not valid: use a duration such as 5s or 500ms"
                    ))
                })?;
            }
            if let Some(status) = entry.expected_status {
                if !(100..=599).contains(&status) {
                    return Err(TargetError::new(TargetErrorKind::Malformed, format!(
                        "target {name:?}: expected_status {status} is not an HTTP status (100 to 599)"
                    )));
                }
                target.expected_status = Some(status);
            }
            target.ca_file = entry.ca_file.or(target.ca_file);
            target.url = entry.url;
            target.name = name;
            Ok(target)
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    #[serde(default)]
    target: Vec<TargetEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    name: Option<String>,
    url: String,
    interval: Option<String>,
    timeout: Option<String>,
    expected_status: Option<u16>,
    ca_file: Option<PathBuf>,
}

/// Rejects duplicate or empty target names.
pub(crate) fn check_names(targets: &[ProbeTarget]) -> Result<(), TargetError> {
    let mut seen = HashSet::new();
    for target in targets {
        if target.name.is_empty() {
            return Err(TargetError::new(
                TargetErrorKind::Name,
                format!(
                    "target {:?} has an empty name",
                    redact_credentials(&target.url)
                ),
            ));
        }
        if !seen.insert(target.name.as_str()) {
            return Err(TargetError::new(
                TargetErrorKind::Name,
                format!(
                    "two targets are named {:?}: give each a unique name=URL",
                    target.name
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_lists_accept_names_and_reject_empty_items() {
        let defaults = ProbeTarget::new("", "");
        let targets = parse_target_list(" a=http://x/ ,, http://y/?q=1 ", &defaults).unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(
            (targets[0].name.as_str(), targets[0].url.as_str()),
            ("a", "http://x/")
        );
        assert_eq!(targets[1].name, "http://y/?q=1");
        assert!(parse_target_list("a=", &defaults).is_err());
        assert!(parse_target_list("=http://x/", &defaults).is_err());
    }

    #[test]
    fn target_files_override_defaults_per_target() {
        let defaults = ProbeTarget::new("", "").timeout(Duration::from_secs(3));
        let text = r#"
            [[target]]
            name = "api"
            url = "https://api/"
            interval = "*/15 * * * * *"
            timeout = "1s"
            expected_status = 204
            ca_file = "/tmp/ca.pem"

            [[target]]
            url = "http://plain/"
        "#;
        let targets = parse_target_file(text, &defaults).unwrap();
        assert_eq!(targets[0].timeout, Duration::from_secs(1));
        assert!(matches!(targets[0].schedule, Schedule::Cron(_)));
        assert_eq!(targets[0].expected_status, Some(204));
        assert_eq!(targets[1].name, "http://plain/");
        assert_eq!(targets[1].timeout, Duration::from_secs(3));
        for bad in [
            "[[target]]\nurl = 1",
            "[[target]]\nurl = \"http://x/\"\ntimeout = \"soon\"",
            "[[target]]\nurl = \"http://x/\"\nexpected_status = 999",
            "[[target]]\nurl = \"http://x/\"\ncolour = \"red\"",
        ] {
            assert!(parse_target_file(bad, &defaults).is_err(), "{bad}");
        }
    }
}
