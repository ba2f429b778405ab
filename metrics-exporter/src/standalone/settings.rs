//! The standalone binary's configuration, from its flags and environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use metrics_toolkit::collectors::DEFAULT_SYSTEM_INTERVAL;

use super::flags;
use super::logs::LogFormat;
use crate::exporter::{check_telemetry_path, DEFAULT_ADDR, DEFAULT_TELEMETRY_PATH};
use crate::lifecycle::Lifecycle;
use crate::prober::{
    parse_positive_duration, parse_target_file, parse_target_list, ProbeTarget, Prober, Schedule,
    SCHEDULE_FORMS,
};
use crate::security::{AllowList, Limits, Security, SecurityError, SecurityErrorKind, WebConfig};

/// Everything the binary needs, validated. Each field names its flag (the variables are in the
/// README's table and `--help`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--web.listen-address` (`METRICS_ADDR`): where `/metrics`, `/health`, `/live` and
    /// `/ready` are served.
    pub addr: SocketAddr,
    /// `--web.telemetry-path`: where metrics are served (default `/metrics`).
    pub telemetry_path: String,
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
    /// `--log.level`: the least severe events logged (default info).
    pub log_level: tracing::Level,
    /// `--log.format`: logfmt (the default) or JSON lines.
    pub log_format: LogFormat,
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
    // No variant for an unknown command-line argument: [`CommandLine`](super::CommandLine)
    // (clap) reports those itself, with its usage error and exit code 2.
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
    /// Reads the process environment (no flags).
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_flags_and_lookup(|_| None, process_env)
    }

    /// Reads the variables through `lookup` (a name to its value, if set): for each setting
    /// its `METRICS_EXPORTER_` variable, else the variable of earlier versions (`METRICS_ADDR`,
    /// `PROBE_INTERVAL`, ...). A blank value counts as unset, except for the security settings
    /// (bearer token and its file, allow-list, trusted proxies, open probes, public health,
    /// web config file): set but blank, one is an error naming it, since taking it as unset
    /// would silently turn a protection off.
    ///
    /// ```
    /// use metrics_exporter::standalone::Settings;
    ///
    /// let env = |name: &str| match name {
    ///     "TARGETS" => Some("api=http://127.0.0.1:8080/health".to_owned()),
    ///     "METRICS_EXPORTER_PROBE_INTERVAL" => Some("*/30 * * * * *".to_owned()),
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
        Self::from_flags_and_lookup(|_| None, lookup)
    }

    /// Like [`from_lookup`](Self::from_lookup), with command-line flags first: `flags` gives
    /// a flag's value by its name without `--` (`"probe.interval"`), if it was given. A
    /// setting's value comes from its flag, else its `METRICS_EXPORTER_` variable, else its
    /// earlier variable, else the default; an error names the one that supplied the value.
    /// The binary parses its command line with [`CommandLine`](super::CommandLine).
    ///
    /// ```
    /// use metrics_exporter::standalone::Settings;
    ///
    /// let flags = |name: &str| (name == "web.listen-address").then(|| "127.0.0.1:9100".to_owned());
    /// let env = |name: &str| (name == "METRICS_ADDR").then(|| "0.0.0.0:9464".to_owned());
    /// assert_eq!(Settings::from_flags_and_lookup(flags, env).unwrap().addr.to_string(), "127.0.0.1:9100");
    ///
    /// let flags = |name: &str| (name == "web.config.file").then(|| "/nonexistent/web.yml".to_owned());
    /// let error = Settings::from_flags_and_lookup(flags, |_| None).unwrap_err();
    /// assert_eq!(error.variable(), "--web.config.file");
    /// ```
    pub fn from_flags_and_lookup(
        flags: impl Fn(&str) -> Option<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let sources = Sources {
            flags: &flags,
            env: &lookup,
        };
        let get = |name: &str| sources.get(name);

        let addr = match get("web.listen-address")? {
            None => DEFAULT_ADDR.parse().map_err(|_| invalid("METRICS_ADDR", String::new()))?,
            Some((source, text)) => text.trim().parse().map_err(|_| {
                invalid(
                    source,
                    format!("{text:?} is not a socket address: use IP:PORT, such as 0.0.0.0:9464 or [::]:9464"),
                )
            })?,
        };
        let telemetry_path = match get("web.telemetry-path")? {
            None => DEFAULT_TELEMETRY_PATH.to_owned(),
            Some((source, text)) => {
                let path = text.trim();
                check_telemetry_path(path).map_err(|e| invalid(source, format!("{text:?} {e}")))?;
                path.to_owned()
            }
        };
        let log_level = log_level(&get)?;
        let log_format = log_format(&get)?;

        let mut defaults = ProbeTarget::new("", "");
        if let Some((source, text)) = get("probe.interval")? {
            defaults.schedule = text.parse::<Schedule>().map_err(|_| {
                invalid(
                    source,
                    format!("{text:?} is not valid: use {SCHEDULE_FORMS}"),
                )
            })?;
        }
        if let Some((source, text)) = get("probe.timeout")? {
            defaults.timeout = duration(source, &text)?;
        }
        if let Some((source, text)) = get("probe.expected-status")? {
            let status = text
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|s| (100..=599).contains(s))
                .ok_or_else(|| {
                    invalid(
                        source,
                        format!("{text:?} is not an HTTP status: use a number from 100 to 599, such as 200"),
                    )
                })?;
            defaults.expected_status = Some(status);
        }
        let concurrency = match get("probe.concurrency")? {
            None => Prober::DEFAULT_CONCURRENCY,
            Some((source, text)) => whole_number(source, &text, 1, 10_000, "16")?,
        };

        let mut targets = match get("probe.targets")? {
            None => Vec::new(),
            Some((source, list)) => parse_target_list(&list, &defaults).map_err(|e| {
                invalid(
                    source,
                    format!("{e}; use comma-separated URLs, each optionally name=URL"),
                )
            })?,
        };
        if let Some((source, path)) = get("probe.targets-file")? {
            let path = PathBuf::from(path.trim());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                error(
                    source,
                    SettingsErrorKind::Unreadable,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let from_file = parse_target_file(&text, &defaults).map_err(|e| {
                invalid(
                    source,
                    format!("{}: {e} (expected TOML with [[target]] tables: url and the per-target options of docs/prober.md)", path.display()),
                )
            })?;
            targets.extend(from_file);
        }

        let system_interval = match get("system.metrics-interval")? {
            None => DEFAULT_SYSTEM_INTERVAL,
            Some((source, text)) => duration(source, &text)?,
        };
        // The one duration where zero is meaningful (and the default): no delay.
        let shutdown_delay = match get("shutdown.delay")? {
            None => Duration::ZERO,
            Some((source, text)) => match humantime::parse_duration(text.trim()) {
                Ok(delay) => delay,
                Err(_) if text.trim() == "0" => Duration::ZERO,
                Err(_) => {
                    return Err(invalid(
                        source,
                        format!("{text:?} is not valid: use a duration such as 0s, 5s or 1m"),
                    ))
                }
            },
        };
        let shutdown_timeout = match get("shutdown.timeout")? {
            None => Lifecycle::DEFAULT_DRAIN_TIMEOUT,
            Some((source, text)) => duration(source, &text)?,
        };
        let web_config = get("web.config.file")?
            .map(|(source, path)| {
                WebConfig::from_file(path.trim())
                    .map_err(|e| error(source, kind_of(&e), e.to_string()))
            })
            .transpose()?;
        Ok(Self {
            addr,
            telemetry_path,
            targets,
            concurrency,
            system_interval,
            shutdown_delay,
            shutdown_timeout,
            security: security(&get)?,
            web_config,
            limits: limits(&get)?,
            log_level,
            log_format,
        })
    }
}

/// `--log.level` and `--log.format` from `flags` and `lookup`, each its default when unset or
/// invalid: how to log the error of [`Settings::from_flags_and_lookup`].
pub(crate) fn logs_or_defaults(
    flags: impl Fn(&str) -> Option<String>,
    lookup: impl Fn(&str) -> Option<String>,
) -> (tracing::Level, LogFormat) {
    let sources = Sources {
        flags: &flags,
        env: &lookup,
    };
    let get = |name: &str| sources.get(name);
    (
        log_level(&get).unwrap_or(tracing::Level::INFO),
        log_format(&get).unwrap_or_default(),
    )
}

fn log_level(get: Lookup<'_>) -> Result<tracing::Level, SettingsError> {
    let Some((source, text)) = get("log.level")? else {
        return Ok(tracing::Level::INFO);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "debug" => Ok(tracing::Level::DEBUG),
        "info" => Ok(tracing::Level::INFO),
        "warn" => Ok(tracing::Level::WARN),
        "error" => Ok(tracing::Level::ERROR),
        _ => Err(invalid(
            source,
            format!("{text:?} is not valid: use debug, info, warn or error"),
        )),
    }
}

fn log_format(get: Lookup<'_>) -> Result<LogFormat, SettingsError> {
    let Some((source, text)) = get("log.format")? else {
        return Ok(LogFormat::Logfmt);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "logfmt" => Ok(LogFormat::Logfmt),
        "json" => Ok(LogFormat::Json),
        _ => Err(invalid(
            source,
            format!("{text:?} is not valid: use logfmt or json"),
        )),
    }
}

pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// The command line and the environment, in their order of precedence.
struct Sources<'a> {
    flags: &'a dyn Fn(&str) -> Option<String>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Sources<'_> {
    /// The value of the setting of flag `name` and the flag or variable that gave it: its flag,
    /// else its prefixed variable, else its earlier variable. Blank counts as unset, except
    /// for a security setting, where it is an error naming the flag or variable.
    fn get(&self, name: &str) -> Result<Option<(&'static str, String)>, SettingsError> {
        let flag = flags::flag(name);
        let candidates = [
            (flag.option, (self.flags)(flag.name)),
            (flag.variable, (self.env)(flag.variable)),
        ]
        .into_iter()
        .chain(flag.legacy.map(|legacy| (legacy, (self.env)(legacy))));
        for (source, value) in candidates {
            match value {
                Some(value) if !value.trim().is_empty() => return Ok(Some((source, value))),
                Some(_) if flag.security != flags::Security::None => return Err(blank(source)),
                // Unset, or blank (taken as unset): the next source, or the default.
                _ => {}
            }
        }
        Ok(None)
    }
}

/// A setting's value and the flag or variable that gave it (see [`Sources::get`]).
type Lookup<'a> = &'a dyn Fn(&str) -> Result<Option<(&'static str, String)>, SettingsError>;

fn security(get: Lookup<'_>) -> Result<Security, SettingsError> {
    let mut security = Security::new();
    match (get("web.bearer-token")?, get("web.bearer-token-file")?) {
        (Some((token_source, _)), Some((file_source, _))) => {
            return Err(error(
                file_source,
                SettingsErrorKind::Conflict,
                format!("set either {token_source} or {file_source}, not both"),
            ))
        }
        (Some((source, token)), None) => {
            security = security
                .bearer_token(&token)
                .map_err(|e| security_error(source, &e))?;
        }
        (None, Some((source, path))) => {
            security = security
                .bearer_token_file(path.trim())
                .map_err(|e| security_error(source, &e))?;
        }
        (None, None) => {}
    }
    let mut list = AllowList::new();
    if let Some((source, ranges)) = get("web.allow")? {
        for cidr in ranges.split(',') {
            list = list.allow(cidr).map_err(|e| {
                invalid(source, format!("{}; use comma-separated ranges", e.message))
            })?;
        }
    }
    if let Some((source, ranges)) = get("web.trusted-proxies")? {
        for cidr in ranges.split(',') {
            list = list.trust_forwarded_for_from(cidr).map_err(|e| {
                invalid(source, format!("{}; use comma-separated ranges", e.message))
            })?;
        }
    }
    Ok(security
        .allow_list(list)
        .open_probes(boolean(get, "web.open-probes", true)?)
        .public_health(boolean(get, "web.public-health", false)?))
}

fn boolean(get: Lookup<'_>, name: &str, default: bool) -> Result<bool, SettingsError> {
    let Some((source, text)) = get(name)? else {
        return Ok(default);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        other => Err(invalid(
            source,
            format!("{other:?} is not valid: use true or false"),
        )),
    }
}

fn limits(get: Lookup<'_>) -> Result<Limits, SettingsError> {
    let mut limits = Limits::default();
    if let Some((source, text)) = get("web.max-concurrent-scrapes")? {
        let n = whole_number(source, &text, 1, 10_000, "4")?;
        limits = limits.max_concurrent_scrapes(n);
    }
    if let Some((source, text)) = get("web.scrape-timeout")? {
        limits = limits.scrape_timeout(duration(source, &text)?);
    }
    if let Some((source, text)) = get("web.max-header-bytes")? {
        let n = whole_number(
            source,
            &text,
            Limits::MIN_HEADER_BYTES,
            Limits::MAX_HEADER_BYTES,
            "16384",
        )?;
        limits = limits.max_header_bytes(n);
    }
    if let Some((source, text)) = get("web.max-connections")? {
        let n = whole_number(source, &text, 1, 1_000_000, "256")?;
        limits = limits.max_connections(n);
    }
    if let Some((source, text)) = get("web.first-request-timeout")? {
        limits = limits.first_request_timeout(duration(source, &text)?);
    }
    if let Some((source, text)) = get("web.idle-timeout")? {
        limits = limits.idle_timeout(duration(source, &text)?);
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
        // No delay is the default, and may be written as the docs give it.
        for (text, delay) in [("0s", 0), ("0", 0), ("5s", 5)] {
            let s = settings(&[("SHUTDOWN_DELAY", text)]).unwrap();
            assert_eq!(s.shutdown_delay, Duration::from_secs(delay), "{text:?}");
        }
        let error = settings(&[("SHUTDOWN_DELAY", "soon")]).unwrap_err();
        assert_eq!(error.variable(), "SHUTDOWN_DELAY");
        assert!(error.to_string().contains("0s, 5s or 1m"), "{error}");
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
        let web_path = web.display().to_string();
        let s = Settings::from_flags_and_lookup(
            |name| (name == "web.config.file").then(|| web_path.clone()),
            |name| match name {
                "METRICS_BEARER_TOKEN_FILE" => Some(token_path.clone()),
                "METRICS_ALLOW" => Some("10.0.0.0/8, ::1".to_owned()),
                "WEB_CONFIG_FILE" => Some("/nonexistent/ignored.yml".to_owned()),
                "MAX_CONCURRENT_SCRAPES" => Some("2".to_owned()),
                _ => None,
            },
        )
        .unwrap();
        assert!(s.security.has_credentials());
        assert!(s.web_config.is_some());
        assert_eq!(s.limits.concurrent_scrapes(), 2);
        assert!(!format!("{s:?}").contains("tok\n") && !format!("{s:?}").contains("\"tok"));
    }

    /// `lookup` over fixed pairs.
    fn pairs<'a>(vars: &'a [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn a_flag_beats_the_prefixed_variable_which_beats_the_earlier_one() {
        let env = [
            ("METRICS_EXPORTER_PROBE_TIMEOUT", "2s"),
            ("PROBE_TIMEOUT", "3s"),
            ("METRICS_ADDR", "127.0.0.1:3"),
            ("METRICS_EXPORTER_SHUTDOWN_TIMEOUT", "4s"),
        ];
        let flags = [("probe.timeout", "1s"), ("shutdown.timeout", "5s")];
        let s = Settings::from_flags_and_lookup(pairs(&flags), pairs(&env)).unwrap();
        assert_eq!(s.concurrency, Prober::DEFAULT_CONCURRENCY);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(5));
        assert_eq!(s.addr.to_string(), "127.0.0.1:3");
        let targets = [("probe.targets", "http://127.0.0.1:1/")];
        let timeout = |flags: &[(&'static str, &'static str)], env| {
            Settings::from_flags_and_lookup(pairs(flags), pairs(env))
                .unwrap()
                .targets[0]
                .timeout
        };
        let with_flag = [targets[0], flags[0]];
        assert_eq!(timeout(&with_flag, &env), Duration::from_secs(1));
        assert_eq!(timeout(&targets, &env), Duration::from_secs(2));
        assert_eq!(timeout(&targets, &env[1..]), Duration::from_secs(3));
        assert_eq!(timeout(&targets, &[]), ProbeTarget::DEFAULT_TIMEOUT);
    }

    #[test]
    fn an_error_names_the_flag_or_variable_that_supplied_the_value() {
        let env = [
            ("METRICS_EXPORTER_PROBE_TIMEOUT", "soon"),
            ("PROBE_TIMEOUT", "later"),
        ];
        let error = Settings::from_flags_and_lookup(pairs(&[]), pairs(&env)).unwrap_err();
        assert_eq!(error.variable(), "METRICS_EXPORTER_PROBE_TIMEOUT");
        let error = Settings::from_flags_and_lookup(pairs(&[]), pairs(&env[1..])).unwrap_err();
        assert_eq!(error.variable(), "PROBE_TIMEOUT");
        assert!(error.to_string().contains("\"later\""), "{error}");
        let flags = [("probe.timeout", "never")];
        let error = Settings::from_flags_and_lookup(pairs(&flags), pairs(&env)).unwrap_err();
        assert_eq!(error.variable(), "--probe.timeout");
        assert_eq!(
            error.to_string(),
            "--probe.timeout: \"never\" is not valid: use a duration such as 10s, 500ms or 1m"
        );
        let flags = [("web.telemetry-path", "metrics")];
        let error = Settings::from_flags_and_lookup(pairs(&flags), pairs(&[])).unwrap_err();
        assert_eq!(error.variable(), "--web.telemetry-path");
        assert!(error.to_string().contains("starting with /"), "{error}");
        let flags = [("log.level", "loud")];
        let error = Settings::from_flags_and_lookup(pairs(&flags), pairs(&[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--log.level: \"loud\" is not valid: use debug, info, warn or error"
        );
        let env = [("METRICS_EXPORTER_LOG_FORMAT", "xml")];
        let error = Settings::from_flags_and_lookup(pairs(&[]), pairs(&env)).unwrap_err();
        assert_eq!(error.variable(), "METRICS_EXPORTER_LOG_FORMAT");
        assert!(error.to_string().contains("logfmt or json"), "{error}");
    }

    #[test]
    fn the_defaults_help_shows_are_the_defaults_applied() {
        let defaults: Vec<(&'static str, &'static str)> = flags::FLAGS
            .iter()
            .filter_map(|flag| flag.default.map(|default| (flag.name, default)))
            .collect();
        let given = Settings::from_flags_and_lookup(pairs(&defaults), pairs(&[])).unwrap();
        let unset = settings(&[]).unwrap();
        assert_eq!(format!("{given:?}"), format!("{unset:?}"));
        // Per-target defaults apply to targets.
        let target = ProbeTarget::new("", "");
        assert_eq!(
            format!("{:?}", Schedule::Every(ProbeTarget::DEFAULT_INTERVAL)),
            format!("{:?}", target.schedule)
        );
        let mut with_target = defaults.clone();
        with_target.push(("probe.targets", "http://127.0.0.1:1/"));
        let given = Settings::from_flags_and_lookup(pairs(&with_target), pairs(&[])).unwrap();
        assert_eq!(given.targets[0].schedule, target.schedule);
        assert_eq!(given.targets[0].timeout, target.timeout);
    }

    #[test]
    fn log_settings_default_to_info_and_logfmt() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.log_level, tracing::Level::INFO);
        assert_eq!(s.log_format, LogFormat::Logfmt);
        let s = settings(&[
            ("METRICS_EXPORTER_LOG_LEVEL", "Debug"),
            ("METRICS_EXPORTER_LOG_FORMAT", "json"),
        ])
        .unwrap();
        assert_eq!(s.log_level, tracing::Level::DEBUG);
        assert_eq!(s.log_format, LogFormat::Json);
        let broken = [("METRICS_EXPORTER_LOG_LEVEL", "loud")];
        assert_eq!(
            logs_or_defaults(pairs(&[("log.format", "json")]), pairs(&broken)),
            (tracing::Level::INFO, LogFormat::Json)
        );
    }

    /// The variables that protect the exporter. Set but blank, each is refused (the binary exits 2
    /// naming it) rather than taken as unset: `METRICS_BEARER_TOKEN="  "` must not serve
    /// `/metrics` to everyone.
    const SECURITY_VARIABLES: [&str; 14] = [
        "METRICS_BEARER_TOKEN",
        "METRICS_BEARER_TOKEN_FILE",
        "METRICS_ALLOW",
        "METRICS_TRUSTED_PROXIES",
        "METRICS_OPEN_PROBES",
        "METRICS_PUBLIC_HEALTH",
        "WEB_CONFIG_FILE",
        "METRICS_EXPORTER_WEB_BEARER_TOKEN",
        "METRICS_EXPORTER_WEB_BEARER_TOKEN_FILE",
        "METRICS_EXPORTER_WEB_ALLOW",
        "METRICS_EXPORTER_WEB_TRUSTED_PROXIES",
        "METRICS_EXPORTER_WEB_OPEN_PROBES",
        "METRICS_EXPORTER_WEB_PUBLIC_HEALTH",
        "METRICS_EXPORTER_WEB_CONFIG_FILE",
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
        for flag in [
            "web.config.file",
            "web.bearer-token",
            "web.allow",
            "web.open-probes",
        ] {
            let error =
                Settings::from_flags_and_lookup(pairs(&[(flag, " ")]), pairs(&[])).unwrap_err();
            assert_eq!(error.variable, format!("--{flag}"));
            assert_eq!(error.kind, SettingsErrorKind::Blank);
        }
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
            ("PROBE_INTERVAL", "every 5 minutes", "six-field cron"),
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
            (
                "METRICS_EXPORTER_WEB_LISTEN_ADDRESS",
                "localhost",
                "IP:PORT",
            ),
            (
                "METRICS_EXPORTER_WEB_TELEMETRY_PATH",
                "/health",
                "served already",
            ),
            (
                "METRICS_EXPORTER_WEB_TELEMETRY_PATH",
                "/m/{x}",
                "plain path",
            ),
            ("METRICS_EXPORTER_PROBE_CONCURRENCY", "0", "whole number"),
            (
                "METRICS_EXPORTER_LOG_LEVEL",
                "trace",
                "debug, info, warn or error",
            ),
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
