//! [`WebConfig`]: Prometheus' exporter-toolkit `web-config.yml`, every key honoured or refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use serde::Deserialize;

use super::rate_limit::RateLimit;
use super::response_headers::ResponseHeaders;
use super::tls::{read_file, ClientAuth, MaxVersion, MinVersion, TlsConfig, TlsSettings};
use super::tls_names::{self, Suite};
use super::SecurityError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    http_server_config: Option<HttpFile>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rate_limit: Option<RateLimitFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    #[serde(default)]
    cert: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    #[serde(default)]
    interval: Option<GoDuration>,
    #[serde(default)]
    burst: Option<i64>,
}

/// A Go `time.Duration` in YAML: text such as `1m30s`, or an integer of nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Nanos(u64),
    Text(String),
}

/// A `web-config.yml` in the format of Prometheus' exporter-toolkit, so a file written for
/// node-exporter works unchanged. Every documented key is honoured, or refused with an error
/// that names it (see docs/security.md for the table):
///
/// - `tls_server_config`: `cert_file`/`key_file` or inline `cert`/`key` (files re-read when
///   they change), `client_auth_type` (all five Go values), `client_ca_file` (re-read when it
///   changes) or inline `client_ca`, `client_allowed_sans`, `min_version`/`max_version`
///   (`TLS12`, `TLS13`; rustls has no older version, so `TLS10`/`TLS11` are refused),
///   `cipher_suites` (the TLS 1.2 suites, in order; TLS 1.3 suites are ignored as Go ignores
///   them), `curve_preferences` (`X25519`, `CurveP256`, `CurveP384`, in order),
///   `prefer_server_cipher_suites` (default true);
/// - `http_server_config`: `http2` (false: HTTP/1.1 only, `h2` not offered in ALPN),
///   `headers` (the five headers exporter-toolkit allows, on every answer of
///   [`Exporter::serve`](crate::Exporter::serve));
/// - `basic_auth_users` (user name to bcrypt hash);
/// - `rate_limit`: `interval` and `burst`, one token bucket for the server, 429 beyond it.
///
/// Relative paths are relative to the file's directory.
///
/// ```
/// use metrics_exporter::security::WebConfig;
///
/// let config = WebConfig::from_yaml(
///     "basic_auth_users:\n  prometheus: $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n\
///      rate_limit:\n  interval: 1s\n  burst: 10\n",
///     std::path::Path::new("."),
/// )
/// .unwrap();
/// assert!(config.tls().is_none());
/// assert_eq!(config.basic_auth_users().count(), 1);
/// assert_eq!(config.rate_limit().map(|r| r.burst()), Some(10));
/// ```
#[derive(Clone, Default)]
pub struct WebConfig {
    tls: Option<TlsConfig>,
    users: Vec<(String, String)>,
    http2: bool,
    headers: HeaderMap,
    rate_limit: Option<RateLimit>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // User names only: the hashes are secrets too.
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field(
                "basic_auth_users",
                &self.users.iter().map(|(u, _)| u).collect::<Vec<_>>(),
            )
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates the file: loads the certificates and keys, checks the hashes.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SecurityError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            SecurityError::unreadable("web config", format!("cannot read {}: {e}", path.display()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_yaml(&text, base).map_err(|e| e.prefixed(path.display()))
    }

    /// Parses YAML text; relative paths are resolved against `base`.
    pub fn from_yaml(text: &str, base: &Path) -> Result<Self, SecurityError> {
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_norway::from_str(text).map_err(|e| {
                SecurityError::malformed(
                    "web config",
                    format!(
                        "not a valid web-config.yml: {}",
                        redact_quoted(&e.to_string())
                    ),
                )
            })?
        };
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let tls = match file.tls_server_config {
            None => None,
            Some(tls) => tls_config(tls, &resolve)?,
        };
        let mut users = Vec::new();
        let mut check = super::basic_auth::BasicUsers::default();
        for (name, hash) in file.basic_auth_users.unwrap_or_default() {
            check
                .add_user(&name, &hash)
                .map_err(|e| e.in_field("basic_auth_users"))?;
            users.push((name, hash));
        }
        let http = file.http_server_config.unwrap_or_default();
        let headers = http.headers.unwrap_or_default();
        let headers =
            ResponseHeaders::parse(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?.0;
        let rate_limit = file.rate_limit.map(rate_limit).transpose()?.flatten();
        Ok(Self {
            tls,
            users,
            http2: http.http2.unwrap_or(true),
            headers,
            rate_limit,
        })
    }

    /// The TLS configuration, when the file enables TLS.
    pub fn tls(&self) -> Option<&TlsConfig> {
        self.tls.as_ref()
    }

    /// The user names and bcrypt hashes of `basic_auth_users`.
    pub fn basic_auth_users(&self) -> impl Iterator<Item = (&str, &str)> {
        self.users.iter().map(|(u, h)| (u.as_str(), h.as_str()))
    }

    /// Whether HTTP/2 is offered (`http_server_config.http2`, default true).
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// The headers added to every answer (`http_server_config.headers`), names in lower case.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    }

    pub(crate) fn header_map(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `rate_limit`, when one is set (`interval` not zero).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }
}

/// `rate_limit`: `None` when `interval` is 0 (exporter-toolkit's "disabled").
fn rate_limit(file: RateLimitFile) -> Result<Option<RateLimit>, SecurityError> {
    let interval = match file.interval {
        None => Duration::ZERO,
        Some(GoDuration::Nanos(n)) => Duration::from_nanos(n),
        Some(GoDuration::Text(text)) => parse_go_duration(&text).ok_or_else(|| {
            SecurityError::malformed(
                "rate_limit.interval",
                format!("{text:?} is not a duration: use a Go duration such as 500ms, 1s or 1m30s"),
            )
        })?,
    };
    if interval.is_zero() {
        return Ok(None);
    }
    let burst = file.burst.unwrap_or(0);
    let burst = u32::try_from(burst)
        .ok()
        .filter(|b| *b > 0)
        .ok_or_else(|| {
            SecurityError::invalid(
                "rate_limit.burst",
                format!(
                    "is {burst}: give at least 1 with a non-zero interval (a bucket of {burst} \
                 would refuse every request)"
                ),
            )
        })?;
    Ok(RateLimit::new(interval, burst))
}

/// A Go duration: `0`, or numbers (fractions allowed) each followed by a unit among `ns`,
/// `us`/`µs`, `ms`, `s`, `m`, `h`. Negative durations are not accepted.
fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let nanos_per = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * nanos_per;
        rest = after;
    }
    // Go's durations end at about 292 years.
    (total.is_finite() && total < 9.2e18).then(|| Duration::from_nanos(total as u64))
}

/// Replaces double-quoted values in a YAML error (they may be passwords or keys) while
/// keeping the field names, which serde quotes with backticks.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        if i % 2 == 0 {
            out.push_str("\"...\"");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn tls_config(
    tls: TlsFile,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<TlsConfig>, SecurityError> {
    // The PEM text, and the file it came from (None when inline).
    let pem = |inline: Option<String>, file: Option<String>, name: &'static str| match (
        inline.filter(|t| !t.is_empty()),
        file.filter(|f| !f.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(SecurityError::invalid(
            name,
            "give either the file or the inline value, not both".into(),
        )),
        (Some(text), None) => Ok(Some((text.into_bytes(), None))),
        (None, Some(path)) => {
            let path = resolve(&path);
            read_file(&path, name).map(|pem| Some((pem, Some(path))))
        }
        (None, None) => Ok(None),
    };
    let cert = pem(tls.cert, tls.cert_file, "tls_server_config.cert_file")?;
    let key = pem(tls.key, tls.key_file, "tls_server_config.key_file")?;
    let ca = pem(
        tls.client_ca,
        tls.client_ca_file,
        "tls_server_config.client_ca_file",
    )?;
    // A problem with a PEM is reported under the key the file has: `cert` or `cert_file`.
    let named = |pem: &Option<(Vec<u8>, Option<PathBuf>)>, file: &'static str, inline| match pem {
        Some((_, None)) => inline,
        _ => file,
    };
    let cert_key = named(
        &cert,
        "tls_server_config.cert_file",
        "tls_server_config.cert",
    );
    let key_key = named(&key, "tls_server_config.key_file", "tls_server_config.key");
    let ca_key = named(
        &ca,
        "tls_server_config.client_ca_file",
        "tls_server_config.client_ca",
    );
    let client_auth = match tls.client_auth_type.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::None,
        "RequestClientCert" => ClientAuth::Request,
        // The second name is the one exporter-toolkit still accepts for compatibility.
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAny,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other => {
            return Err(SecurityError::malformed(
                "tls_server_config.client_auth_type",
                format!(
                    "{other:?} is not a client auth type: use NoClientCert, RequestClientCert, \
                     RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ))
        }
    };
    if ca.is_some() && client_auth == ClientAuth::None {
        return Err(SecurityError::invalid(
            ca_key,
            "is set but client_auth_type is NoClientCert: set a client_auth_type".into(),
        ));
    }
    let allowed_sans = tls.client_allowed_sans.map(Arc::<[String]>::from);
    if allowed_sans.is_some()
        && !matches!(
            client_auth,
            ClientAuth::RequireAny | ClientAuth::RequireAndVerify
        )
    {
        return Err(SecurityError::invalid(
            "tls_server_config.client_allowed_sans",
            "requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert".into(),
        ));
    }
    let min_version = tls
        .min_version
        .as_deref()
        .map_or(Ok(MinVersion::Tls12), tls_names::min_version)?;
    let max_version = tls
        .max_version
        .as_deref()
        .map_or(Ok(MaxVersion::Tls13), tls_names::max_version)?;
    if (min_version, max_version) == (MinVersion::Tls13, MaxVersion::Tls12) {
        return Err(SecurityError::invalid(
            "tls_server_config.max_version",
            "TLS12 is below min_version TLS13: no TLS version is left".into(),
        ));
    }
    let mut tls12_suites = None;
    if let Some(names) = tls.cipher_suites.filter(|n| !n.is_empty()) {
        let mut suites = Vec::new();
        for name in &names {
            if let Suite::Tls12(suite) = tls_names::suite(name)? {
                suites.push(suite);
            }
        }
        tls12_suites = Some(suites);
    }
    let groups = tls
        .curve_preferences
        .filter(|n| !n.is_empty())
        .map(|names| names.iter().map(|n| tls_names::curve(n)).collect())
        .transpose()?;
    let settings = TlsSettings {
        versions: (min_version, max_version),
        client_auth,
        tls12_suites,
        groups,
        prefer_server_order: tls.prefer_server_cipher_suites.unwrap_or(true),
        allowed_sans,
    };
    let enabled =
        cert.is_some() || key.is_some() || ca.is_some() || client_auth != ClientAuth::None;
    let tuned = tls.min_version.is_some()
        || tls.max_version.is_some()
        || settings.tls12_suites.is_some()
        || settings.groups.is_some()
        || tls.prefer_server_cipher_suites.is_some();
    match (cert, key) {
        (None, None) if !enabled && !tuned => Ok(None),
        (Some((cert, cert_file)), Some((key, key_file))) => {
            // Follow the files' changes only when both are files.
            let files = cert_file.zip(key_file);
            let config = TlsConfig::build(&cert, &key, files, settings, ca).map_err(|e| {
                let field = match e.field {
                    "cert_file" => cert_key,
                    "key_file" => key_key,
                    "client_ca_file" => ca_key,
                    "max_version" => "tls_server_config.max_version",
                    "cipher_suites" => "tls_server_config.cipher_suites",
                    _ => "tls_server_config",
                };
                e.in_field(field)
            })?;
            Ok(Some(config))
        }
        (None, _) => Err(SecurityError::missing(
            "tls_server_config.cert_file",
            "is required when TLS is configured (cert_file or cert)".into(),
        )),
        (_, None) => Err(SecurityError::missing(
            "tls_server_config.key_file",
            "is required when TLS is configured (key_file or key)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, SecurityError> {
        WebConfig::from_yaml(text, Path::new("/nonexistent"))
    }

    #[test]
    fn parse_errors_do_not_echo_values() {
        let error = parse("basic_auth_users: \"hunter2\"\n").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let error = parse("unknown_key: 1\n").unwrap_err();
        assert!(error.to_string().contains("unknown_key"), "{error}");
    }

    #[test]
    fn debug_shows_no_hash() {
        let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";
        let config = parse(&format!("basic_auth_users:\n  prometheus: {hash}\n")).unwrap();
        let debug = format!("{config:?}");
        assert!(
            debug.contains("prometheus") && !debug.contains(hash),
            "{debug}"
        );
    }

    #[test]
    fn empty_files_enable_nothing() {
        let config = parse("").unwrap();
        assert!(config.tls().is_none() && config.basic_auth_users().count() == 0);
        assert!(parse("tls_server_config: {}\n").unwrap().tls().is_none());
    }

    #[test]
    fn go_durations() {
        for (text, nanos) in [
            ("0", 0),
            ("1s", 1_000_000_000),
            ("500ms", 500_000_000),
            ("1m30s", 90_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("2us", 2_000),
            ("7ns", 7),
        ] {
            assert_eq!(
                parse_go_duration(text),
                Some(Duration::from_nanos(nanos)),
                "{text}"
            );
        }
        for text in ["", "1", "s", "1d", "-1s", "1s2"] {
            assert_eq!(parse_go_duration(text), None, "{text}");
        }
    }

    #[test]
    fn rate_limit_and_headers_are_read() {
        let config = parse(
            "rate_limit:\n  interval: 250ms\n  burst: 3\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        )
        .unwrap();
        let limit = config.rate_limit().unwrap();
        assert_eq!(
            (limit.interval(), limit.burst()),
            (Duration::from_millis(250), 3)
        );
        assert_eq!(
            config.headers().collect::<Vec<_>>(),
            [("x-frame-options", &b"deny"[..])]
        );
        assert_eq!(
            parse("rate_limit:\n  interval: 0s\n").unwrap().rate_limit(),
            None
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("bogus: 1\n", "web config"),
            ("basic_auth_users:\n  u: plain\n", "basic_auth_users"),
            (
                "tls_server_config:\n  cert_file: a.crt\n",
                "tls_server_config.cert_file",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  min_version: TLS10\n",
                "tls_server_config.min_version",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: Bogus\n",
                "tls_server_config.client_auth_type",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  min_version: TLS13\n  max_version: TLS12\n",
                "tls_server_config.max_version",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
                "tls_server_config.cipher_suites",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  curve_preferences: [CurveP521]\n",
                "tls_server_config.curve_preferences",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  client_ca: x\n",
                "tls_server_config.client_ca",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [a]\n",
                "tls_server_config.client_allowed_sans",
            ),
            (
                "tls_server_config:\n  min_version: TLS13\n",
                "tls_server_config.cert_file",
            ),
            (
                "http_server_config:\n  headers:\n    Server: x\n",
                "http_server_config.headers",
            ),
            ("rate_limit:\n  interval: 1s\n", "rate_limit.burst"),
            ("rate_limit:\n  interval: 1x\n  burst: 1\n", "rate_limit.interval"),
            ("rate_limit:\n  interval: -1s\n  burst: 1\n", "rate_limit.interval"),
            (
                "tls_server_config:\n  key: y\n",
                "tls_server_config.cert_file",
            ),
            (
                "tls_server_config:\n  cert: x\n",
                "tls_server_config.key_file",
            ),
            (
                "tls_server_config:\n  cert: x\n  key: y\n",
                "tls_server_config.cert",
            ),
        ];
        for (yaml, name) in cases {
            let error = parse(yaml).unwrap_err();
            assert_eq!(error.field, name, "{yaml}: {error}");
        }
    }

    /// A PEM that does not load is reported under the key it was given by: the inline `key`
    /// or `client_ca`, or the `_file` form.
    #[test]
    fn a_bad_pem_is_named_by_the_key_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let pki = test_support::pki::write(dir.path());
        let read = |path: &Path| std::fs::read_to_string(path).unwrap();
        let indent = |pem: String| pem.replace('\n', "\n    ");
        let (cert, key) = (indent(read(&pki.server.0)), indent(read(&pki.server.1)));
        std::fs::write(dir.path().join("junk.pem"), "junk\n").unwrap();
        let verify = "  client_auth_type: RequireAndVerifyClientCert\n";
        let cases = [
            (
                format!("  cert: |\n    {cert}\n  key: junk\n"),
                "tls_server_config.key",
            ),
            (
                format!("  cert: |\n    {cert}\n  key_file: junk.pem\n"),
                "tls_server_config.key_file",
            ),
            (
                format!("  cert: junk\n  key: |\n    {key}\n"),
                "tls_server_config.cert",
            ),
            (
                format!("  cert: |\n    {cert}\n  key: |\n    {key}\n{verify}  client_ca: junk\n"),
                "tls_server_config.client_ca",
            ),
            (
                format!(
                    "  cert: |\n    {cert}\n  key: |\n    {key}\n{verify}  client_ca_file: junk.pem\n"
                ),
                "tls_server_config.client_ca_file",
            ),
        ];
        for (tls, name) in cases {
            let yaml = format!("tls_server_config:\n{tls}");
            let error = WebConfig::from_yaml(&yaml, dir.path()).unwrap_err();
            assert_eq!(error.field, name, "{yaml}: {error}");
        }
    }
}
