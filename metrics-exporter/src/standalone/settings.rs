//! The standalone binary's configuration, read from environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use metrics_toolkit::collectors::DEFAULT_SYSTEM_INTERVAL;

use crate::exporter::DEFAULT_ADDR;
use crate::lifecycle::Lifecycle;
use crate::prober::{
    parse_positive_duration, parse_target_file, parse_target_list, ProbeTarget, Prober, Schedule,
    SCHEDULE_FORMS,
};
use crate::security::{AllowList, Limits, Security, SecurityError, SecurityErrorKind, WebConfig};

/// The command-line flag naming a Prometheus `web-config.yml` (as node-exporter's).
pub(crate) const WEB_CONFIG_FLAG: &str = "--web.config.file";

/// Everything the binary needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `METRICS_ADDR`: where `/metrics`, `/health`, `/live` and `/ready` are served.
    pub addr: SocketAddr,
    /// `TARGETS` and the targets of `TARGETS_FILE`.
    pub targets: Vec<ProbeTarget>,
    /// `PROBE_CONCURRENCY`: probes in flight at once, across targets.
    pub concurrency: usize,
    /// `SYSTEM_METRICS_INTERVAL`: how often host metrics are read.
    pub system_interval: Duration,
    /// `SHUTDOWN_DELAY`: how long `/ready` answers 503 before the listener closes.
    pub shutdown_delay: Duration,
    /// `SHUTDOWN_TIMEOUT`: how long requests may take to finish after the listener closed
    /// (default [`Lifecycle::DEFAULT_DRAIN_TIMEOUT`](crate::Lifecycle::DEFAULT_DRAIN_TIMEOUT)).
    pub shutdown_timeout: Duration,
    /// `METRICS_BEARER_TOKEN` or `METRICS_BEARER_TOKEN_FILE`, `METRICS_ALLOW`,
    /// `METRICS_TRUSTED_PROXIES`, `METRICS_OPEN_PROBES` and `METRICS_PUBLIC_HEALTH` (its
    /// `Debug` shows no secret).
    pub security: Security,
    /// `--web.config.file` or `WEB_CONFIG_FILE`: TLS and basic auth users, loaded and checked.
    pub web_config: Option<WebConfig>,
    /// `MAX_CONCURRENT_SCRAPES`, `SCRAPE_TIMEOUT`, `MAX_HEADER_BYTES`, `MAX_CONNECTIONS`,
    /// `FIRST_REQUEST_TIMEOUT` and `IDLE_TIMEOUT`.
    pub limits: Limits,
}

/// An environment variable (or command-line flag) with an invalid value: which one, what kind of
/// problem, and what is wrong and which form is accepted.
///
/// ```
/// use metrics_exporter::standalone::{Settings, SettingsErrorKind};
///
/// let error = Settings::from_lookup(|name| (name == "PROBE_TIMEOUT").then(|| "soon".to_owned()))
///     .unwrap_err();
/// assert_eq!(error.variable(), "PROBE_TIMEOUT");
/// assert_eq!(error.kind(), SettingsErrorKind::Invalid);
/// assert!(error.to_string().starts_with("PROBE_TIMEOUT: \"soon\" is not valid"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    variable: &'static str,
    kind: SettingsErrorKind,
    message: String,
}

/// What kind of problem a [`SettingsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsErrorKind {
    /// Not in the accepted form, or out of range.
    Invalid,
    /// A security setting set but blank (refused rather than taken as unset).
    Blank,
    /// A file the variable names cannot be read.
    Unreadable,
    /// Set together with a variable it excludes.
    Conflict,
    /// A command-line argument the binary does not know.
    UnknownArgument,
}

impl SettingsError {
    /// The variable's (or flag's) name.
    pub fn variable(&self) -> &'static str {
        self.variable
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> SettingsErrorKind {
        self.kind
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for SettingsError {}

fn error(variable: &'static str, kind: SettingsErrorKind, message: String) -> SettingsError {
    SettingsError {
        variable,
        kind,
        message,
    }
}

fn invalid(variable: &'static str, message: String) -> SettingsError {
    error(variable, SettingsErrorKind::Invalid, message)
}

/// A security setting's error, under the variable that set it.
fn security_error(variable: &'static str, e: &SecurityError) -> SettingsError {
    error(variable, kind_of(e), e.message.clone())
}

fn kind_of(e: &SecurityError) -> SettingsErrorKind {
    match e.kind() {
        SecurityErrorKind::Unreadable => SettingsErrorKind::Unreadable,
        _ => SettingsErrorKind::Invalid,
    }
}

fn blank(variable: &'static str) -> SettingsError {
    error(
        variable,
        SettingsErrorKind::Blank,
        "is set but blank: give it a value or unset it (a blank security setting is refused, not taken as unset)".into(),
    )
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| {
            std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
        })
    }

    /// Reads the variables through `lookup` (a name to its value, if set). A blank value counts
    /// as unset, except for the security settings (`METRICS_BEARER_TOKEN`,
    /// `METRICS_BEARER_TOKEN_FILE`, `METRICS_ALLOW`, `METRICS_TRUSTED_PROXIES`,
    /// `METRICS_OPEN_PROBES`, `METRICS_PUBLIC_HEALTH`, `WEB_CONFIG_FILE` and
    /// `--web.config.file`): set but blank, one is an error naming it, since taking it as
    /// unset would silently turn a protection off.
    ///
    /// ```
    /// use metrics_exporter::standalone::Settings;
    ///
    /// let env = |name: &str| match name {
    ///     "TARGETS" => Some("api=http://127.0.0.1:8080/health".to_owned()),
    ///     "PROBE_INTERVAL" => Some("*/30 * * * * *".to_owned()),
    ///     _ => None,
    /// };
    /// let settings = Settings::from_lookup(env).unwrap();
    /// assert_eq!(settings.addr.to_string(), "0.0.0.0:9464");
    /// assert_eq!(settings.targets[0].name, "api");
    ///
    /// let bad = Settings::from_lookup(|name| (name == "PROBE_TIMEOUT").then(|| "soon".to_owned()));
    /// assert_eq!(bad.unwrap_err().variable(), "PROBE_TIMEOUT");
    ///
    /// let blank = Settings::from_lookup(|name| (name == "METRICS_BEARER_TOKEN").then(|| " ".to_owned()));
    /// assert_eq!(blank.unwrap_err().variable(), "METRICS_BEARER_TOKEN");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Self::from_lookup_and_args(lookup, std::iter::empty())
    }

    /// Reads the process environment and the command line (without the program name):
    /// `--web.config.file PATH` (or `=PATH`) takes precedence over `WEB_CONFIG_FILE`.
    pub fn from_env_and_args(
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, SettingsError> {
        Self::from_lookup_and_args(
            |name| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned()),
            args,
        )
    }

    /// Like [`from_lookup`](Self::from_lookup), with command-line arguments.
    ///
    /// ```
    /// use metrics_exporter::standalone::Settings;
    ///
    /// let args = ["--web.config.file=/nonexistent/web.yml".to_owned()];
    /// let error = Settings::from_lookup_and_args(|_| None, args).unwrap_err();
    /// assert_eq!(error.variable(), "--web.config.file");
    /// ```
    pub fn from_lookup_and_args(
        lookup: impl Fn(&str) -> Option<String>,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let secure = |name: &'static str| match lookup(name) {
            Some(value) if value.trim().is_empty() => Err(blank(name)),
            value => Ok(value),
        };
        let mut web_config_flag = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if let Some(path) = arg.strip_prefix("--web.config.file=") {
                if path.trim().is_empty() {
                    return Err(blank(WEB_CONFIG_FLAG));
                }
                web_config_flag = Some(path.to_owned());
            } else if arg == WEB_CONFIG_FLAG {
                web_config_flag = Some(args.next().ok_or_else(|| {
                    invalid(
                        WEB_CONFIG_FLAG,
                        "needs a path: --web.config.file=/etc/metrics-exporter/web-config.yml"
                            .into(),
                    )
                })?);
            } else {
                return Err(error(
                    "command line",
                    SettingsErrorKind::UnknownArgument,
                    format!("unknown argument {arg:?}: the only flag is --web.config.file=PATH; everything else is set by environment variables"),
                ));
            }
        }

        let addr_text = get("METRICS_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = addr_text.trim().parse().map_err(|_| {
            invalid(
                "METRICS_ADDR",
                format!("{addr_text:?} is not a socket address: use IP:PORT, such as 0.0.0.0:9464 or [::]:9464"),
            )
        })?;

        let mut defaults = ProbeTarget::new("", "");
        if let Some(text) = get("PROBE_INTERVAL") {
            defaults.schedule = text.parse::<Schedule>().map_err(|_| {
                invalid(
                    "PROBE_INTERVAL",
                    format!("{text:?} is not valid: use {SCHEDULE_FORMS}"),
                )
            })?;
        }
        if let Some(text) = get("PROBE_TIMEOUT") {
            defaults.timeout = duration("PROBE_TIMEOUT", &text)?;
        }
        if let Some(text) = get("PROBE_EXPECTED_STATUS") {
            let status = text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    invalid(
                        "PROBE_EXPECTED_STATUS",
                        format!("{text:?} is not an HTTP status: use a number from 100 to 599, such as 200"),
                    )
                })?;
            defaults.expected_status = Some(status);
        }
        let concurrency = match get("PROBE_CONCURRENCY") {
            None => Prober::DEFAULT_CONCURRENCY,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "PROBE_CONCURRENCY",
                        format!(
                            "{text:?} is not valid: use a whole number from 1 to 10000, such as 16"
                        ),
                    )
                })?,
        };

        let mut targets = match get("TARGETS") {
            None => Vec::new(),
            Some(list) => parse_target_list(&list, &defaults).map_err(|e| {
                invalid(
                    "TARGETS",
                    format!("{e}; use comma-separated URLs, each optionally name=URL"),
                )
            })?,
        };
        if let Some(path) = get("TARGETS_FILE") {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                error(
                    "TARGETS_FILE",
                    SettingsErrorKind::Unreadable,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let from_file = parse_target_file(&text, &defaults).map_err(|e| {
                invalid(
                    "TARGETS_FILE",
                    format!("{}: {e} (expected TOML with [[target]] tables: url, and optionally name, interval, timeout, expected_status, ca_file)", path.display()),
                )
            })?;
            targets.extend(from_file);
        }

        let system_interval = match get("SYSTEM_METRICS_INTERVAL") {
            None => DEFAULT_SYSTEM_INTERVAL,
            Some(text) => duration("SYSTEM_METRICS_INTERVAL", &text)?,
        };
        let shutdown_delay = match get("SHUTDOWN_DELAY") {
            None => Duration::ZERO,
            Some(text) if text.trim() == "0" => Duration::ZERO,
            Some(text) => duration("SHUTDOWN_DELAY", &text)?,
        };
        let (web_config_variable, web_config_path) = match web_config_flag {
            Some(path) => (WEB_CONFIG_FLAG, Some(path)),
            None => ("WEB_CONFIG_FILE", secure("WEB_CONFIG_FILE")?),
        };
        let web_config = web_config_path
            .map(|path| {
                WebConfig::from_file(path.trim())
                    .map_err(|e| error(web_config_variable, kind_of(&e), e.to_string()))
            })
            .transpose()?;
        Ok(Self {
            addr,
            targets,
            concurrency,
            system_interval,
            shutdown_delay,
            shutdown_timeout: match get("SHUTDOWN_TIMEOUT") {
                None => Lifecycle::DEFAULT_DRAIN_TIMEOUT,
                Some(text) => duration("SHUTDOWN_TIMEOUT", &text)?,
            },
            security: security(&secure)?,
            web_config,
            limits: limits(&get)?,
        })
    }
}

/// A security variable's value: `None` when unset, an error when set but blank.
type SecureLookup<'a> = &'a dyn Fn(&'static str) -> Result<Option<String>, SettingsError>;

fn security(get: SecureLookup<'_>) -> Result<Security, SettingsError> {
    let mut security = Security::new();
    match (
        get("METRICS_BEARER_TOKEN")?,
        get("METRICS_BEARER_TOKEN_FILE")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(error(
                "METRICS_BEARER_TOKEN_FILE",
                SettingsErrorKind::Conflict,
                "set either METRICS_BEARER_TOKEN or METRICS_BEARER_TOKEN_FILE, not both".into(),
            ))
        }
        (Some(token), None) => {
            security = security
                .bearer_token(&token)
                .map_err(|e| security_error("METRICS_BEARER_TOKEN", &e))?;
        }
        (None, Some(path)) => {
            security = security
                .bearer_token_file(path.trim())
                .map_err(|e| security_error("METRICS_BEARER_TOKEN_FILE", &e))?;
        }
        (None, None) => {}
    }
    let mut list = AllowList::new();
    for cidr in get("METRICS_ALLOW")?.iter().flat_map(|v| v.split(',')) {
        list = list.allow(cidr).map_err(|e| {
            invalid(
                "METRICS_ALLOW",
                format!("{}; use comma-separated ranges", e.message),
            )
        })?;
    }
    for cidr in get("METRICS_TRUSTED_PROXIES")?
        .iter()
        .flat_map(|v| v.split(','))
    {
        list = list.trust_forwarded_for_from(cidr).map_err(|e| {
            invalid(
                "METRICS_TRUSTED_PROXIES",
                format!("{}; use comma-separated ranges", e.message),
            )
        })?;
    }
    Ok(security
        .allow_list(list)
        .open_probes(flag(get, "METRICS_OPEN_PROBES", true)?)
        .public_health(flag(get, "METRICS_PUBLIC_HEALTH", false)?))
}

fn flag(
    get: SecureLookup<'_>,
    variable: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    match get(variable)?
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(invalid(
            variable,
            format!("{other:?} is not valid: use true or false"),
        )),
    }
}

fn limits(get: &dyn Fn(&str) -> Option<String>) -> Result<Limits, SettingsError> {
    let mut limits = Limits::default();
    if let Some(text) = get("MAX_CONCURRENT_SCRAPES") {
        let n = whole_number("MAX_CONCURRENT_SCRAPES", &text, 1, 10_000, "4")?;
        limits = limits.max_concurrent_scrapes(n);
    }
    if let Some(text) = get("SCRAPE_TIMEOUT") {
        limits = limits.scrape_timeout(duration("SCRAPE_TIMEOUT", &text)?);
    }
    if let Some(text) = get("MAX_HEADER_BYTES") {
        let n = whole_number(
            "MAX_HEADER_BYTES",
            &text,
            Limits::MIN_HEADER_BYTES,
            Limits::MAX_HEADER_BYTES,
            "16384",
        )?;
        limits = limits.max_header_bytes(n);
    }
    if let Some(text) = get("MAX_CONNECTIONS") {
        let n = whole_number("MAX_CONNECTIONS", &text, 1, 1_000_000, "256")?;
        limits = limits.max_connections(n);
    }
    if let Some(text) = get("FIRST_REQUEST_TIMEOUT") {
        limits = limits.first_request_timeout(duration("FIRST_REQUEST_TIMEOUT", &text)?);
    }
    if let Some(text) = get("IDLE_TIMEOUT") {
        limits = limits.idle_timeout(duration("IDLE_TIMEOUT", &text)?);
    }
    Ok(limits)
}

fn whole_number(
    variable: &'static str,
    text: &str,
    min: usize,
    max: usize,
    example: &str,
) -> Result<usize, SettingsError> {
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            invalid(
                variable,
                format!("{text:?} is not valid: use a whole number from {min} to {max}, such as {example}"),
            )
        })
}

fn duration(variable: &'static str, text: &str) -> Result<Duration, SettingsError> {
    parse_positive_duration(text).ok_or_else(|| {
        invalid(
            variable,
            format!("{text:?} is not valid: use a duration such as 10s, 500ms or 1m"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.addr.to_string(), "0.0.0.0:9464");
        assert!(s.targets.is_empty());
        assert_eq!(s.concurrency, Prober::DEFAULT_CONCURRENCY);
        assert_eq!(s.system_interval, Duration::from_secs(10));
        assert_eq!(s.shutdown_timeout, Lifecycle::DEFAULT_DRAIN_TIMEOUT);
        assert_eq!(s.limits.connections(), Limits::DEFAULT_MAX_CONNECTIONS);
    }

    #[test]
    fn connection_and_shutdown_variables() {
        let s = settings(&[
            ("SHUTDOWN_TIMEOUT", "20s"),
            ("MAX_CONNECTIONS", "64"),
            ("FIRST_REQUEST_TIMEOUT", "2s"),
            ("IDLE_TIMEOUT", "1m"),
        ])
        .unwrap();
        assert_eq!(s.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(s.limits.connections(), 64);
        assert_eq!(s.limits.first_request(), Duration::from_secs(2));
        assert_eq!(s.limits.idle(), Duration::from_secs(60));
    }

    #[test]
    fn per_target_defaults_come_from_the_probe_variables() {
        let s = settings(&[
            ("TARGETS", "a=http://127.0.0.1:1/,http://127.0.0.1:2/"),
            ("PROBE_INTERVAL", "5s"),
            ("PROBE_TIMEOUT", "750ms"),
            ("PROBE_EXPECTED_STATUS", "204"),
            ("PROBE_CONCURRENCY", "3"),
        ])
        .unwrap();
        assert_eq!(s.targets.len(), 2);
        assert_eq!(
            s.targets[1].schedule,
            Schedule::Every(Duration::from_secs(5))
        );
        assert_eq!(s.targets[1].timeout, Duration::from_millis(750));
        assert_eq!(s.targets[0].expected_status, Some(204));
        assert_eq!(s.concurrency, 3);
    }

    #[test]
    fn security_variables_and_the_web_config_flag() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "tok\n").unwrap();
        let web = dir.path().join("web.yml");
        std::fs::write(&web, "basic_auth_users: {}\n").unwrap();
        let token_path = token.display().to_string();
        let s = Settings::from_lookup_and_args(
            |name| match name {
                "METRICS_BEARER_TOKEN_FILE" => Some(token_path.clone()),
                "METRICS_ALLOW" => Some("10.0.0.0/8, ::1".to_owned()),
                "WEB_CONFIG_FILE" => Some("/nonexistent/ignored.yml".to_owned()),
                "MAX_CONCURRENT_SCRAPES" => Some("2".to_owned()),
                _ => None,
            },
            ["--web.config.file".to_owned(), web.display().to_string()],
        )
        .unwrap();
        assert!(s.security.has_credentials());
        assert!(s.web_config.is_some());
        assert_eq!(s.limits.concurrent_scrapes(), 2);
        assert!(!format!("{s:?}").contains("tok\n") && !format!("{s:?}").contains("\"tok"));

        let error = Settings::from_lookup_and_args(|_| None, ["--verbose".to_owned()]).unwrap_err();
        assert!(error.message.contains("--web.config.file"), "{error}");
        let error =
            Settings::from_lookup_and_args(|_| None, ["--web.config.file".to_owned()]).unwrap_err();
        assert_eq!(error.variable, "--web.config.file");
    }

    /// The variables that protect the exporter. Set but blank, each is refused (the binary exits 2
    /// naming it) rather than taken as unset: `METRICS_BEARER_TOKEN="  "` must not serve
    /// `/metrics` to everyone.
    const SECURITY_VARIABLES: [&str; 7] = [
        "METRICS_BEARER_TOKEN",
        "METRICS_BEARER_TOKEN_FILE",
        "METRICS_ALLOW",
        "METRICS_TRUSTED_PROXIES",
        "METRICS_OPEN_PROBES",
        "METRICS_PUBLIC_HEALTH",
        "WEB_CONFIG_FILE",
    ];

    #[test]
    fn a_blank_security_variable_is_an_error_naming_it() {
        for variable in SECURITY_VARIABLES {
            for value in ["", " ", "\t\n"] {
                let error = settings(&[(variable, value)]).unwrap_err();
                assert_eq!(error.variable, variable, "{value:?}");
                assert!(error.message.contains("blank"), "{error}");
            }
        }
        let error = Settings::from_lookup_and_args(|_| None, ["--web.config.file= ".to_owned()])
            .unwrap_err();
        assert_eq!(error.variable, WEB_CONFIG_FLAG);
        // Other variables still count as unset when blank.
        let s = settings(&[("TARGETS", " "), ("PROBE_TIMEOUT", "")]).unwrap();
        assert!(s.targets.is_empty());
    }

    #[test]
    fn every_invalid_value_names_its_variable_and_the_accepted_form() {
        let cases = [
            ("METRICS_ADDR", "localhost", "IP:PORT"),
            ("METRICS_ADDR", "1.2.3.4:99999", "IP:PORT"),
            ("PROBE_INTERVAL", "often", "six-field cron"),
            ("PROBE_INTERVAL", "*/5 * * *", "six-field cron"),
            ("PROBE_TIMEOUT", "0s", "duration"),
            ("PROBE_CONCURRENCY", "0", "whole number"),
            ("PROBE_CONCURRENCY", "-1", "whole number"),
            ("PROBE_EXPECTED_STATUS", "2xx", "HTTP status"),
            ("TARGETS", "a=", "name=URL"),
            ("TARGETS_FILE", "/nonexistent/targets.toml", "cannot read"),
            ("SYSTEM_METRICS_INTERVAL", "fast", "duration"),
            ("METRICS_BEARER_TOKEN", "has space", "printable ASCII"),
            (
                "METRICS_BEARER_TOKEN_FILE",
                "/nonexistent/token",
                "cannot read",
            ),
            ("METRICS_ALLOW", "10.0.0.0/8,everyone", "CIDR"),
            ("METRICS_TRUSTED_PROXIES", "proxy", "CIDR"),
            ("METRICS_OPEN_PROBES", "maybe", "true or false"),
            ("METRICS_PUBLIC_HEALTH", "2", "true or false"),
            ("MAX_CONCURRENT_SCRAPES", "0", "whole number"),
            ("SCRAPE_TIMEOUT", "never", "duration"),
            ("SHUTDOWN_TIMEOUT", "forever", "duration"),
            ("MAX_CONNECTIONS", "0", "whole number"),
            ("FIRST_REQUEST_TIMEOUT", "0s", "duration"),
            ("IDLE_TIMEOUT", "soon", "duration"),
            ("MAX_HEADER_BYTES", "100", "whole number"),
            ("WEB_CONFIG_FILE", "/nonexistent/web.yml", "cannot read"),
        ];
        for (variable, value, form) in cases {
            let error = settings(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value:?}");
            assert!(error.to_string().starts_with(variable), "{error}");
            assert!(
                error.message.contains(form),
                "{variable}={value:?}: {error}"
            );
        }
    }
}
