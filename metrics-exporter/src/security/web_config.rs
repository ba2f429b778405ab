//! [`WebConfig`]: Prometheus' exporter-toolkit `web-config.yml` (TLS and basic auth).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::tls::{read_file, ClientAuth, MaxVersion, MinVersion, TlsConfig};
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
    // Accepted so existing files work; rustls offers only its modern AEAD suites and groups.
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
}

/// A `web-config.yml` in the format of Prometheus' exporter-toolkit, so a file written for
/// node-exporter works unchanged: `tls_server_config` (`cert_file`, `key_file`, `cert`,
/// `key`, `client_auth_type`, `client_ca_file`, `client_ca`, `min_version`, `max_version`;
/// `cipher_suites`, `curve_preferences` and `prefer_server_cipher_suites` are accepted and
/// rustls' modern defaults used), `http_server_config.http2` and `basic_auth_users` (user
/// name to bcrypt hash). Relative paths are relative to the file's directory.
///
/// ```
/// use metrics_exporter::security::WebConfig;
///
/// let config = WebConfig::from_yaml(
///     "basic_auth_users:\n  prometheus: $2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG\n",
///     std::path::Path::new("."),
/// )
/// .unwrap();
/// assert!(config.tls().is_none());
/// assert_eq!(config.basic_auth_users().count(), 1);
/// ```
#[derive(Clone, Default)]
pub struct WebConfig {
    tls: Option<TlsConfig>,
    users: Vec<(String, String)>,
    http2: bool,
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
        Ok(Self {
            tls,
            users,
            http2: file
                .http_server_config
                .and_then(|h| h.http2)
                .unwrap_or(true),
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
        inline,
        file.filter(|f| !f.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(SecurityError::invalid(
            name,
            "give either the file or the inline value, not both".into(),
        )),
        (Some(text), None) if !text.is_empty() => Ok(Some((text.into_bytes(), None))),
        (_, Some(path)) => {
            let path = resolve(&path);
            read_file(&path, name).map(|pem| Some((pem, Some(path))))
        }
        _ => Ok(None),
    };
    let cert = pem(tls.cert, tls.cert_file, "tls_server_config.cert_file")?;
    let key = pem(tls.key, tls.key_file, "tls_server_config.key_file")?;
    let ca = pem(
        tls.client_ca,
        tls.client_ca_file,
        "tls_server_config.client_ca_file",
    )?
    .map(|(pem, _)| pem);
    if tls
        .client_allowed_sans
        .as_ref()
        .is_some_and(|s| !s.is_empty())
    {
        return Err(SecurityError::unsupported(
            "tls_server_config.client_allowed_sans",
            "is not supported: restrict clients with a dedicated client CA instead".into(),
        ));
    }
    let _ = (
        tls.cipher_suites,
        tls.curve_preferences,
        tls.prefer_server_cipher_suites,
    );
    let client_auth = match tls.client_auth_type.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::None,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        other => {
            return Err(SecurityError::unsupported(
                "tls_server_config.client_auth_type",
                format!("{other:?} is not supported: use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"),
            ))
        }
    };
    let min_version = match tls.min_version.as_deref().unwrap_or("") {
        "" | "TLS12" => MinVersion::Tls12,
        "TLS13" => MinVersion::Tls13,
        other => {
            return Err(SecurityError::unsupported(
                "tls_server_config.min_version",
                format!(
                "{other:?} is not supported: use TLS12 or TLS13 (older versions are never offered)"
            ),
            ))
        }
    };
    let max_version = match tls.max_version.as_deref().unwrap_or("") {
        "" | "TLS13" => MaxVersion::Tls13,
        "TLS12" if min_version == MinVersion::Tls12 => MaxVersion::Tls12,
        other => {
            return Err(SecurityError::unsupported(
                "tls_server_config.max_version",
                format!("{other:?} is not supported with this min_version: use TLS12 or TLS13"),
            ))
        }
    };
    match (cert, key) {
        (None, None) if ca.is_none() && client_auth == ClientAuth::None => Ok(None),
        (Some((cert, cert_file)), Some((key, key_file))) => {
            // Follow the files' changes only when both are files.
            let files = cert_file.zip(key_file);
            let config = TlsConfig::build(
                &cert,
                &key,
                files,
                (min_version, max_version),
                client_auth,
                ca.as_deref(),
            )
            .map_err(|e| {
                let field = match e.field {
                    "cert_file" => "tls_server_config.cert_file",
                    "key_file" => "tls_server_config.key_file",
                    "client_ca_file" => "tls_server_config.client_ca_file",
                    "max_version" => "tls_server_config.max_version",
                    _ => "tls_server_config",
                };
                e.in_field(field)
            })?;
            Ok(Some(config))
        }
        (None, _) => Err(SecurityError::missing(
            "tls_server_config.cert_file",
            "is required when TLS is configured".into(),
        )),
        (_, None) => Err(SecurityError::missing(
            "tls_server_config.key_file",
            "is required when TLS is configured".into(),
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
                "tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: RequestClientCert\n",
                "tls_server_config.client_auth_type",
            ),
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
                "tls_server_config.cert_file",
            ),
        ];
        for (yaml, name) in cases {
            let error = parse(yaml).unwrap_err();
            assert_eq!(error.field, name, "{yaml}: {error}");
        }
    }
}
