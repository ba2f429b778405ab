//! What to probe: targets with their schedule, timeout, expected status and CA file.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::client::{redact_credentials, url_without_credentials, IpProtocol};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Deserialize;

use super::error::{TargetError, TargetErrorKind};
use super::schedule::{parse_positive_duration, Schedule};

/// One configured target, with the blackbox exporter's HTTP prober options (the TOML keys of
/// [`parse_target_file`] are the field names).
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::prober::{IpProtocol, ProbeTarget};
///
/// let target = ProbeTarget::new("api", "https://api.example.com/health")
///     .timeout(Duration::from_secs(5))
///     .valid_status_codes([200, 204])
///     .preferred_ip_protocol(IpProtocol::Ip4)
///     .fail_if_body_not_matches_regexp(r#""status":\s*"ok""#);
/// assert_eq!(target.name, "api");
/// assert_eq!(target.max_redirects, 10);
/// ```
///
/// Its `Debug` output shows the URL with any credentials masked (`https://***@host/`), and
/// header values not at all.
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
    /// Time allowed for the whole probe, redirects included (default 10 s).
    pub timeout: Duration,
    /// The one status that counts as success: shorthand for a one-item
    /// [`valid_status_codes`](Self::valid_status_codes), used when that list is empty.
    pub expected_status: Option<u16>,
    /// The statuses that count as success; empty (the default, with no `expected_status`)
    /// accepts any 2xx.
    pub valid_status_codes: Vec<u16>,
    /// A PEM file of certificates to trust for this target, besides the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// The request method (default `GET`).
    pub method: Method,
    /// Request headers, added to or replacing `Host`, `User-Agent` and `Authorization`. Over
    /// HTTP/2 `Host` is sent as the `:authority`. After a redirect to another scheme, host or
    /// port, `Authorization`, `Cookie`, `WWW-Authenticate` and `Host` are no longer sent.
    pub headers: HeaderMap,
    /// The request body (default none).
    pub body: Option<String>,
    /// Whether redirects are followed (default true); when not, the redirect is the answer.
    pub follow_redirects: bool,
    /// Redirects followed at most (default 10); one more fails the probe with cause
    /// `redirects` (its status kept as the outcome's). Only 301, 302, 303, 307 and 308 are
    /// redirects; 300, 304 and 305 are answers.
    pub max_redirects: u32,
    /// The IP protocol tried first (default `ip6`, as the blackbox exporter).
    pub preferred_ip_protocol: IpProtocol,
    /// Whether the other protocol's addresses are tried too (default true).
    pub ip_protocol_fallback: bool,
    /// Time allowed to connect to each address; default: what is left of the timeout, shared
    /// between the addresses not yet tried.
    pub connect_timeout: Option<Duration>,
    /// A longer body fails the probe with cause `body_size` (default: no limit; with body
    /// regular expressions, which need the body kept, at most 10 MiB is kept and a longer body
    /// fails the same way).
    pub body_size_limit: Option<u64>,
    /// The probe fails (cause `regex`) if the body matches any of these.
    pub fail_if_body_matches_regexp: Vec<String>,
    /// The probe fails (cause `regex`) unless the body matches each of these.
    pub fail_if_body_not_matches_regexp: Vec<String>,
    /// The probe fails (cause `ssl`) if the last response came over TLS.
    pub fail_if_ssl: bool,
    /// The probe fails (cause `ssl`) unless the last response came over TLS.
    pub fail_if_not_ssl: bool,
    /// How the body is decoded before its length, limit and expressions apply.
    pub compression: Compression,
    /// The body expressions compiled when the target was read, reused by the prober while
    /// they are still those of the two lists above.
    compiled: CompiledRegexps,
}

/// The compiled `fail_if_body_matches_regexp` and `fail_if_body_not_matches_regexp`.
#[derive(Debug)]
pub(crate) struct BodyRegexps {
    pub(crate) matches: Vec<regex::bytes::Regex>,
    pub(crate) not_matches: Vec<regex::bytes::Regex>,
}

impl BodyRegexps {
    /// Whether these are compiled from exactly `matches` and `not_matches`.
    fn compiled_from(&self, matches: &[String], not_matches: &[String]) -> bool {
        let same = |compiled: &[regex::bytes::Regex], patterns: &[String]| {
            compiled.len() == patterns.len()
                && compiled.iter().zip(patterns).all(|(r, p)| r.as_str() == p)
        };
        same(&self.matches, matches) && same(&self.not_matches, not_matches)
    }

    /// Whether there is any expression, so the body must be kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.matches.is_empty() && self.not_matches.is_empty()
    }
}

/// A cache of compiled expressions; derived from the pattern lists, so equal to any other
/// (targets compare by their settings).
#[derive(Clone, Default)]
struct CompiledRegexps(Option<Arc<BodyRegexps>>);

impl PartialEq for CompiledRegexps {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The blackbox exporter's `compression`: how a response body is decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// As received (`identity`, the default); no `Accept-Encoding` is sent.
    #[default]
    Identity,
    /// `gzip`: `Accept-Encoding: gzip` is sent (unless `headers` name one) and the body is
    /// decoded as gzip; a body that is not gzip fails the probe (cause `other`).
    Gzip,
}

impl fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProbeTarget")
            .field("name", &self.name)
            .field("url", &redact_credentials(&self.url))
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .field("expected_status", &self.expected_status)
            .field("valid_status_codes", &self.valid_status_codes)
            .field("ca_file", &self.ca_file)
            .field("method", &self.method)
            // Header values may be tokens.
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &self.body.as_ref().map(String::len))
            .field("follow_redirects", &self.follow_redirects)
            .field("max_redirects", &self.max_redirects)
            .field("preferred_ip_protocol", &self.preferred_ip_protocol)
            .field("ip_protocol_fallback", &self.ip_protocol_fallback)
            .field("connect_timeout", &self.connect_timeout)
            .field("body_size_limit", &self.body_size_limit)
            .field(
                "fail_if_body_matches_regexp",
                &self.fail_if_body_matches_regexp,
            )
            .field(
                "fail_if_body_not_matches_regexp",
                &self.fail_if_body_not_matches_regexp,
            )
            .field("fail_if_ssl", &self.fail_if_ssl)
            .field("fail_if_not_ssl", &self.fail_if_not_ssl)
            .field("compression", &self.compression)
            .finish()
    }
}

impl ProbeTarget {
    /// Default time between probes.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
    /// Default probe timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default limit of redirects followed, the blackbox exporter's (and Go's).
    pub const DEFAULT_MAX_REDIRECTS: u32 = 10;

    /// A target with the defaults: every 30 s, a GET within 10 s, any 2xx, redirects
    /// followed (up to 10), IPv6 first then IPv4.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            schedule: Schedule::Every(Self::DEFAULT_INTERVAL),
            timeout: Self::DEFAULT_TIMEOUT,
            expected_status: None,
            valid_status_codes: Vec::new(),
            ca_file: None,
            method: Method::GET,
            headers: HeaderMap::new(),
            body: None,
            follow_redirects: true,
            max_redirects: Self::DEFAULT_MAX_REDIRECTS,
            preferred_ip_protocol: IpProtocol::Ip6,
            ip_protocol_fallback: true,
            connect_timeout: None,
            body_size_limit: None,
            fail_if_body_matches_regexp: Vec::new(),
            fail_if_body_not_matches_regexp: Vec::new(),
            fail_if_ssl: false,
            fail_if_not_ssl: false,
            compression: Compression::Identity,
            compiled: CompiledRegexps::default(),
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

    /// The statuses that count as success.
    pub fn valid_status_codes(mut self, codes: impl IntoIterator<Item = u16>) -> Self {
        self.valid_status_codes = codes.into_iter().collect();
        self
    }

    /// A PEM file of certificates to trust for this target.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The request method.
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a request header (replacing the default of that name).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The request body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Whether redirects are followed.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// Redirects followed at most.
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.max_redirects = max;
        self
    }

    /// The IP protocol tried first.
    pub fn preferred_ip_protocol(mut self, protocol: IpProtocol) -> Self {
        self.preferred_ip_protocol = protocol;
        self
    }

    /// Whether the other IP protocol is tried too.
    pub fn ip_protocol_fallback(mut self, fallback: bool) -> Self {
        self.ip_protocol_fallback = fallback;
        self
    }

    /// Time allowed to connect to each address.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// A body longer than `bytes` fails the probe.
    pub fn body_size_limit(mut self, bytes: u64) -> Self {
        self.body_size_limit = Some(bytes);
        self
    }

    /// Fails the probe if the body matches `pattern` (a [`regex`] expression).
    pub fn fail_if_body_matches_regexp(mut self, pattern: impl Into<String>) -> Self {
        self.fail_if_body_matches_regexp.push(pattern.into());
        self
    }

    /// Fails the probe unless the body matches `pattern` (a [`regex`] expression).
    pub fn fail_if_body_not_matches_regexp(mut self, pattern: impl Into<String>) -> Self {
        self.fail_if_body_not_matches_regexp.push(pattern.into());
        self
    }

    /// Fails the probe if the last response came over TLS.
    pub fn fail_if_ssl(mut self, fail: bool) -> Self {
        self.fail_if_ssl = fail;
        self
    }

    /// Fails the probe unless the last response came over TLS.
    pub fn fail_if_not_ssl(mut self, fail: bool) -> Self {
        self.fail_if_not_ssl = fail;
        self
    }

    /// How the body is decoded.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The body expressions compiled: those compiled when the target was read if the lists
    /// are unchanged since, else compiled now. An invalid one is refused naming the target
    /// and the key.
    pub(crate) fn body_regexps(&self) -> Result<Arc<BodyRegexps>, TargetError> {
        let (matches, not_matches) = (
            &self.fail_if_body_matches_regexp,
            &self.fail_if_body_not_matches_regexp,
        );
        if let Some(compiled) = &self.compiled.0 {
            if compiled.compiled_from(matches, not_matches) {
                return Ok(Arc::clone(compiled));
            }
        }
        let name = self.name.as_str();
        Ok(Arc::new(BodyRegexps {
            matches: compile_regexps(name, "fail_if_body_matches_regexp", matches)?,
            not_matches: compile_regexps(name, "fail_if_body_not_matches_regexp", not_matches)?,
        }))
    }

    /// Whether `status` counts as success.
    pub fn accepts(&self, status: u16) -> bool {
        if !self.valid_status_codes.is_empty() {
            self.valid_status_codes.contains(&status)
        } else if let Some(expected) = self.expected_status {
            status == expected
        } else {
            (200..300).contains(&status)
        }
    }

    /// The accepted statuses, for messages: `2xx`, `204` or `200, 301`.
    pub(crate) fn accepted_statuses(&self) -> String {
        if !self.valid_status_codes.is_empty() {
            let codes: Vec<String> = self.valid_status_codes.iter().map(u16::to_string).collect();
            codes.join(", ")
        } else {
            self.expected_status
                .map_or_else(|| "2xx".to_owned(), |s| s.to_string())
        }
    }
}

/// Compiles a target's `key` list of regular expressions; an invalid one is refused naming
/// the target and the key.
fn compile_regexps(
    name: &str,
    key: &str,
    patterns: &[String],
) -> Result<Vec<regex::bytes::Regex>, TargetError> {
    patterns
        .iter()
        .map(|pattern| {
            regex::bytes::Regex::new(pattern).map_err(|e| {
                TargetError::new(
                    TargetErrorKind::Malformed,
                    format!("target {name:?}: {key}: {pattern:?} is not a valid regular expression: {e}"),
                )
            })
        })
        .collect()
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
/// without a name is named by its URL, without any credentials in it. Every key is checked
/// here (regular expressions compiled, headers parsed): a bad one is refused naming the target
/// and the key.
///
/// ```toml
/// [[target]]
/// name = "api"                          # the target label (default: the URL, less credentials)
/// url = "https://api.internal/health"
/// interval = "15s"                      # or a cron expression, five or six fields
/// timeout = "5s"
/// valid_status_codes = [200, 204]       # default: any 2xx (expected_status = 200: one code)
/// ca_file = "/etc/ssl/internal-ca.pem"  # trusted besides the Mozilla roots
/// method = "POST"
/// headers = { "Content-Type" = "application/json" }
/// body = '{"ping": true}'
/// follow_redirects = true               # max_redirects = 10
/// preferred_ip_protocol = "ip4"         # default ip6; ip_protocol_fallback = true
/// connect_timeout = "2s"                # per address
/// body_size_limit = "1MiB"              # or a number of bytes
/// fail_if_body_matches_regexp = ["maintenance"]
/// fail_if_body_not_matches_regexp = ['"status":\s*"ok"']
/// fail_if_not_ssl = true                # or fail_if_ssl
/// compression = "gzip"                  # default identity
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
        .map(|entry| entry.into_target(defaults))
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
    valid_status_codes: Option<Vec<u16>>,
    ca_file: Option<PathBuf>,
    method: Option<String>,
    headers: Option<std::collections::BTreeMap<String, String>>,
    body: Option<String>,
    follow_redirects: Option<bool>,
    max_redirects: Option<u32>,
    preferred_ip_protocol: Option<String>,
    ip_protocol_fallback: Option<bool>,
    connect_timeout: Option<String>,
    body_size_limit: Option<ByteSize>,
    fail_if_body_matches_regexp: Option<Vec<String>>,
    fail_if_body_not_matches_regexp: Option<Vec<String>>,
    fail_if_ssl: Option<bool>,
    fail_if_not_ssl: Option<bool>,
    compression: Option<String>,
}

/// `body_size_limit`: a number of bytes, or a size such as `512KB`, `1MiB` (KB and KiB both
/// 1024 bytes, as the blackbox exporter reads them).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ByteSize {
    Bytes(u64),
    Text(String),
}

impl ByteSize {
    fn bytes(&self) -> Option<u64> {
        let text = match self {
            Self::Bytes(n) => return Some(*n),
            Self::Text(text) => text.trim(),
        };
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let number: u64 = digits.parse().ok()?;
        let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" | "KIB" => 1 << 10,
            "M" | "MB" | "MIB" => 1 << 20,
            "G" | "GB" | "GIB" => 1 << 30,
            "T" | "TB" | "TIB" => 1 << 40,
            _ => return None,
        };
        number.checked_mul(factor)
    }
}

fn malformed(name: &str, message: String) -> TargetError {
    TargetError::new(
        TargetErrorKind::Malformed,
        format!("target {name:?}: {message}"),
    )
}

fn status_code(name: &str, key: &str, status: u16) -> Result<u16, TargetError> {
    if (100..=599).contains(&status) {
        Ok(status)
    } else {
        Err(malformed(
            name,
            format!("{key} {status} is not an HTTP status (100 to 599)"),
        ))
    }
}

impl TargetEntry {
    fn into_target(self, defaults: &ProbeTarget) -> Result<ProbeTarget, TargetError> {
        let name = self
            .name
            .unwrap_or_else(|| url_without_credentials(&self.url).into_owned());
        let name = name.as_str();
        let mut target = defaults.clone();
        if let Some(interval) = self.interval {
            target.schedule = interval
                .parse()
                .map_err(|e| malformed(name, format!("interval: {e}")))?;
        }
        let duration = |key: &str, text: &str| {
            parse_positive_duration(text).ok_or_else(|| {
                malformed(
                    name,
                    format!("{key} {text:?} is not valid: use a duration such as 5s or 500ms"),
                )
            })
        };
        if let Some(timeout) = self.timeout {
            target.timeout = duration("timeout", &timeout)?;
        }
        if let Some(timeout) = self.connect_timeout {
            target.connect_timeout = Some(duration("connect_timeout", &timeout)?);
        }
        if self.expected_status.is_some() && self.valid_status_codes.is_some() {
            return Err(malformed(
                name,
                "expected_status and valid_status_codes are exclusive: use valid_status_codes"
                    .to_owned(),
            ));
        }
        if let Some(status) = self.expected_status {
            target.expected_status = Some(status_code(name, "expected_status", status)?);
            target.valid_status_codes.clear();
        }
        if let Some(codes) = self.valid_status_codes {
            if codes.is_empty() {
                return Err(malformed(
                    name,
                    "valid_status_codes is empty: leave it out to accept any 2xx".to_owned(),
                ));
            }
            target.valid_status_codes = codes
                .into_iter()
                .map(|c| status_code(name, "valid_status_codes", c))
                .collect::<Result<_, _>>()?;
        }
        if let Some(method) = self.method {
            target.method = Method::from_bytes(method.as_bytes())
                .map_err(|_| malformed(name, format!("method {method:?} is not an HTTP method")))?;
        }
        if let Some(headers) = self.headers {
            for (key, value) in headers {
                let header = HeaderName::from_bytes(key.as_bytes()).map_err(|_| {
                    malformed(name, format!("headers: {key:?} is not a header name"))
                })?;
                let value = HeaderValue::from_str(&value).map_err(|_| {
                    malformed(
                        name,
                        format!("headers: the value of {key:?} is not a header value"),
                    )
                })?;
                target.headers.insert(header, value);
            }
        }
        if let Some(body) = self.body {
            target.body = Some(body);
        }
        if let Some(follow) = self.follow_redirects {
            target.follow_redirects = follow;
        }
        if let Some(max) = self.max_redirects {
            target.max_redirects = max;
        }
        if let Some(protocol) = self.preferred_ip_protocol {
            target.preferred_ip_protocol = protocol
                .parse()
                .map_err(|e| malformed(name, format!("preferred_ip_protocol: {e}")))?;
        }
        if let Some(fallback) = self.ip_protocol_fallback {
            target.ip_protocol_fallback = fallback;
        }
        if let Some(limit) = self.body_size_limit {
            target.body_size_limit = Some(limit.bytes().filter(|&b| b > 0).ok_or_else(|| {
                malformed(
                    name,
                    format!("body_size_limit {limit:?} is not valid: use a number of bytes above zero or a size such as 512KB or 1MiB"),
                )
            })?);
        }
        if let Some(patterns) = self.fail_if_body_matches_regexp {
            target.fail_if_body_matches_regexp = patterns;
        }
        if let Some(patterns) = self.fail_if_body_not_matches_regexp {
            target.fail_if_body_not_matches_regexp = patterns;
        }
        if let Some(fail) = self.fail_if_ssl {
            target.fail_if_ssl = fail;
        }
        if let Some(fail) = self.fail_if_not_ssl {
            target.fail_if_not_ssl = fail;
        }
        if let Some(compression) = self.compression {
            target.compression = match compression.as_str() {
                "" | "identity" => Compression::Identity,
                "gzip" => Compression::Gzip,
                other => {
                    return Err(malformed(
                        name,
                        format!("compression {other:?} is not supported: use gzip or identity"),
                    ))
                }
            };
        }
        if target.fail_if_ssl && target.fail_if_not_ssl {
            return Err(malformed(
                name,
                "fail_if_ssl and fail_if_not_ssl together fail every probe: set one".to_owned(),
            ));
        }
        target.ca_file = self.ca_file.or(target.ca_file);
        target.name = name.to_owned();
        target.url = self.url;
        // Compiled once, here: checked now, and kept for the prober.
        target.compiled = CompiledRegexps(Some(target.body_regexps()?));
        Ok(target)
    }
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
            "[[target]]\nurl = \"http://x/\"\nvalid_status_codes = [200, 42]",
            "[[target]]\nurl = \"http://x/\"\nvalid_status_codes = []",
            "[[target]]\nurl = \"http://x/\"\nexpected_status = 200\nvalid_status_codes = [200]",
            "[[target]]\nurl = \"http://x/\"\nmethod = \"GE T\"",
            "[[target]]\nurl = \"http://x/\"\nheaders = { \"a b\" = \"c\" }",
            "[[target]]\nurl = \"http://x/\"\npreferred_ip_protocol = \"ip5\"",
            "[[target]]\nurl = \"http://x/\"\nbody_size_limit = \"lots\"",
            "[[target]]\nurl = \"http://x/\"\nbody_size_limit = 0",
            "[[target]]\nurl = \"http://x/\"\nconnect_timeout = \"0s\"",
            "[[target]]\nurl = \"http://x/\"\nfail_if_ssl = true\nfail_if_not_ssl = true",
            "[[target]]\nurl = \"http://x/\"\ncompression = \"br\"",
        ] {
            assert!(parse_target_file(bad, &defaults).is_err(), "{bad}");
        }
    }

    #[test]
    fn target_files_accept_every_blackbox_option() {
        let defaults = ProbeTarget::new("", "");
        let text = r#"
            [[target]]
            name = "all"
            url = "http://x/"
            interval = "*/5 * * * *"
            valid_status_codes = [200, 301]
            method = "POST"
            headers = { "X-Probe" = "yes", "Content-Type" = "text/plain" }
            body = "ping"
            follow_redirects = false
            max_redirects = 3
            preferred_ip_protocol = "ip4"
            ip_protocol_fallback = false
            connect_timeout = "2s"
            body_size_limit = "2KiB"
            fail_if_body_matches_regexp = ["down", "maint(enance)?"]
            fail_if_body_not_matches_regexp = ["ok"]
            fail_if_not_ssl = true
            compression = "gzip"
        "#;
        let target = &parse_target_file(text, &defaults).unwrap()[0];
        assert!(matches!(target.schedule, Schedule::Cron(_)));
        assert_eq!(target.valid_status_codes, [200, 301]);
        assert!(target.accepts(301) && !target.accepts(204));
        assert_eq!(target.method, Method::POST);
        assert_eq!(target.headers["x-probe"], "yes");
        assert_eq!(target.headers["content-type"], "text/plain");
        assert_eq!(target.body.as_deref(), Some("ping"));
        assert!(!target.follow_redirects);
        assert_eq!(target.max_redirects, 3);
        assert_eq!(target.preferred_ip_protocol, IpProtocol::Ip4);
        assert!(!target.ip_protocol_fallback);
        assert_eq!(target.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(target.body_size_limit, Some(2048));
        assert_eq!(
            target.fail_if_body_matches_regexp,
            ["down", "maint(enance)?"]
        );
        assert_eq!(target.fail_if_body_not_matches_regexp, ["ok"]);
        assert!(target.fail_if_not_ssl && !target.fail_if_ssl);
        assert_eq!(target.compression, Compression::Gzip);

        let bad_regex =
            "[[target]]\nname = \"r\"\nurl = \"http://x/\"\nfail_if_body_matches_regexp = [\"(\"]";
        let error = parse_target_file(bad_regex, &defaults)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("target \"r\": fail_if_body_matches_regexp: \"(\" is not a valid regular expression"),
            "{error}"
        );
        for (text, bytes) in [
            ("512", 512),
            ("1KB", 1024),
            ("3 MB", 3 << 20),
            ("1GiB", 1 << 30),
        ] {
            assert_eq!(
                ByteSize::Text(text.to_owned()).bytes(),
                Some(bytes),
                "{text}"
            );
        }
    }

    #[test]
    fn body_expressions_are_compiled_once_when_read() {
        let text = "[[target]]\nurl = \"http://x/\"\nfail_if_body_matches_regexp = [\"a+\"]\n";
        let mut target = parse_target_file(text, &ProbeTarget::new("", ""))
            .unwrap()
            .remove(0);
        let first = target.body_regexps().unwrap();
        // The same compiled expressions, not a new compilation.
        assert!(Arc::ptr_eq(&first, &target.body_regexps().unwrap()));
        assert_eq!(first.matches[0].as_str(), "a+");
        // Changed after reading: compiled anew from the lists, the one source of truth.
        target.fail_if_body_matches_regexp = vec!["b+".to_owned()];
        let changed = target.body_regexps().unwrap();
        assert_eq!(changed.matches[0].as_str(), "b+");
        assert!(!Arc::ptr_eq(&first, &changed));
    }

    #[test]
    fn status_codes_default_to_2xx_and_the_list_wins() {
        let target = ProbeTarget::new("t", "http://x/");
        assert!(target.accepts(200) && target.accepts(299) && !target.accepts(300));
        assert_eq!(target.accepted_statuses(), "2xx");
        let one = target.clone().expected_status(404);
        assert!(one.accepts(404) && !one.accepts(200));
        let list = one.valid_status_codes([200, 204]);
        assert!(list.accepts(204) && !list.accepts(404));
        assert_eq!(list.accepted_statuses(), "200, 204");
    }
}
