//! The binary's settings as one list: each flag, its environment variables and its default.
//! `--help` is built from it, and the README's table is checked against `--help`.

/// One setting of the binary: a flag, the variables that give it when the flag is absent, and
/// the default shown in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag {
    /// The flag without its leading `--`, such as `probe.interval`.
    pub(crate) name: &'static str,
    /// The flag as typed, such as `--probe.interval` (errors name it).
    pub(crate) option: &'static str,
    /// The variable with the common prefix, such as `METRICS_EXPORTER_PROBE_INTERVAL`.
    pub(crate) variable: &'static str,
    /// The variable of earlier versions, such as `PROBE_INTERVAL`, read after the prefixed one.
    pub(crate) legacy: Option<&'static str>,
    /// The default as `--help` shows it (the parsers apply the same values; a test checks).
    pub(crate) default: Option<&'static str>,
    /// The value's placeholder in `--help`.
    pub(crate) value_name: &'static str,
    /// What it does.
    pub(crate) help: &'static str,
    /// Set but blank it is refused (taking it as unset would turn a protection off); a secret
    /// is never shown in `--help`.
    pub(crate) security: Security,
}

/// How a setting protects the exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// Not a protection: blank counts as unset.
    None,
    /// A protection: blank is refused.
    Guard,
    /// A protection whose value is a secret: blank is refused, the value never shown.
    Secret,
}

/// The prefix of every variable the binary reads besides those of earlier versions (the
/// `flag!` macro writes it out, `concat!` taking literals only).
#[cfg(test)]
pub(crate) const PREFIX: &str = "METRICS_EXPORTER_";

macro_rules! flag {
    ($name:literal, $variable:literal, $legacy:expr, $default:expr, $value:literal, $security:ident, $help:literal) => {
        Flag {
            name: $name,
            option: concat!("--", $name),
            variable: concat!("METRICS_EXPORTER_", $variable),
            legacy: $legacy,
            default: $default,
            value_name: $value,
            help: $help,
            security: Security::$security,
        }
    };
}

/// Every setting, in `--help` order.
pub(crate) const FLAGS: &[Flag] = &[
    flag!(
        "web.listen-address",
        "WEB_LISTEN_ADDRESS",
        Some("METRICS_ADDR"),
        Some("0.0.0.0:9464"),
        "IP:PORT",
        None,
        "Address to serve /metrics, /health, /live and /ready on"
    ),
    flag!(
        "web.telemetry-path",
        "WEB_TELEMETRY_PATH",
        None,
        Some("/metrics"),
        "PATH",
        None,
        "Path under which metrics are served"
    ),
    flag!(
        "web.config.file",
        "WEB_CONFIG_FILE",
        Some("WEB_CONFIG_FILE"),
        None,
        "FILE",
        Guard,
        "Prometheus web-config.yml: TLS, basic auth users, HTTP/2, response headers, rate limit"
    ),
    flag!(
        "web.bearer-token",
        "WEB_BEARER_TOKEN",
        Some("METRICS_BEARER_TOKEN"),
        None,
        "TOKEN",
        Secret,
        "Bearer token required on /metrics and /health (prefer the file: flags show in ps)"
    ),
    flag!(
        "web.bearer-token-file",
        "WEB_BEARER_TOKEN_FILE",
        Some("METRICS_BEARER_TOKEN_FILE"),
        None,
        "FILE",
        Guard,
        "File holding the bearer token (re-read when it changes)"
    ),
    flag!(
        "web.allow",
        "WEB_ALLOW",
        Some("METRICS_ALLOW"),
        None,
        "CIDRS",
        Guard,
        "Comma-separated client IP ranges allowed (default: every client)"
    ),
    flag!(
        "web.trusted-proxies",
        "WEB_TRUSTED_PROXIES",
        Some("METRICS_TRUSTED_PROXIES"),
        None,
        "CIDRS",
        Guard,
        "Comma-separated proxy ranges whose X-Forwarded-For is believed"
    ),
    flag!(
        "web.open-probes",
        "WEB_OPEN_PROBES",
        Some("METRICS_OPEN_PROBES"),
        Some("true"),
        "BOOL",
        Guard,
        "Whether /live, /ready and /startup answer without credentials"
    ),
    flag!(
        "web.public-health",
        "WEB_PUBLIC_HEALTH",
        Some("METRICS_PUBLIC_HEALTH"),
        Some("false"),
        "BOOL",
        Guard,
        "Whether /health (overall status only) answers without credentials"
    ),
    flag!(
        "web.max-concurrent-scrapes",
        "WEB_MAX_CONCURRENT_SCRAPES",
        Some("MAX_CONCURRENT_SCRAPES"),
        Some("10"),
        "N",
        None,
        "Scrapes encoded at once; more are answered 503"
    ),
    flag!(
        "web.scrape-timeout",
        "WEB_SCRAPE_TIMEOUT",
        Some("SCRAPE_TIMEOUT"),
        Some("10s"),
        "DURATION",
        None,
        "A scrape taking longer to encode is answered 503"
    ),
    flag!(
        "web.max-header-bytes",
        "WEB_MAX_HEADER_BYTES",
        Some("MAX_HEADER_BYTES"),
        Some("16384"),
        "BYTES",
        None,
        "Largest request line and headers (8192 to 1048576); larger is answered 431"
    ),
    flag!(
        "web.max-connections",
        "WEB_MAX_CONNECTIONS",
        Some("MAX_CONNECTIONS"),
        Some("256"),
        "N",
        None,
        "Connections open at once; more are closed when accepted"
    ),
    flag!(
        "web.first-request-timeout",
        "WEB_FIRST_REQUEST_TIMEOUT",
        Some("FIRST_REQUEST_TIMEOUT"),
        Some("10s"),
        "DURATION",
        None,
        "A connection's first request must arrive within this"
    ),
    flag!(
        "web.idle-timeout",
        "WEB_IDLE_TIMEOUT",
        Some("IDLE_TIMEOUT"),
        Some("90s"),
        "DURATION",
        None,
        "A connection without a request in flight is closed after this"
    ),
    flag!(
        "probe.targets",
        "PROBE_TARGETS",
        Some("TARGETS"),
        None,
        "URLS",
        None,
        "Comma-separated URLs to probe, each optionally name=URL"
    ),
    flag!(
        "probe.targets-file",
        "PROBE_TARGETS_FILE",
        Some("TARGETS_FILE"),
        None,
        "FILE",
        None,
        "TOML file of [[target]] tables: url and the per-target options of docs/prober.md"
    ),
    flag!(
        "probe.interval",
        "PROBE_INTERVAL",
        Some("PROBE_INTERVAL"),
        Some("30s"),
        "SCHEDULE",
        None,
        "Time between probes (a duration) or a cron expression, for every target"
    ),
    flag!(
        "probe.timeout",
        "PROBE_TIMEOUT",
        Some("PROBE_TIMEOUT"),
        Some("10s"),
        "DURATION",
        None,
        "Time allowed for a whole probe"
    ),
    flag!(
        "probe.expected-status",
        "PROBE_EXPECTED_STATUS",
        Some("PROBE_EXPECTED_STATUS"),
        None,
        "STATUS",
        None,
        "The HTTP status that counts as success (default: any 2xx)"
    ),
    flag!(
        "probe.concurrency",
        "PROBE_CONCURRENCY",
        Some("PROBE_CONCURRENCY"),
        Some("16"),
        "N",
        None,
        "Probes in flight at once, across targets"
    ),
    flag!(
        "system.metrics-interval",
        "SYSTEM_METRICS_INTERVAL",
        Some("SYSTEM_METRICS_INTERVAL"),
        Some("10s"),
        "DURATION",
        None,
        "How often host system_* metrics are read"
    ),
    flag!(
        "shutdown.delay",
        "SHUTDOWN_DELAY",
        Some("SHUTDOWN_DELAY"),
        Some("0"),
        "DURATION",
        None,
        "After a signal, /ready answers 503 this long before the listener closes"
    ),
    flag!(
        "shutdown.timeout",
        "SHUTDOWN_TIMEOUT",
        Some("SHUTDOWN_TIMEOUT"),
        Some("10s"),
        "DURATION",
        None,
        "Time requests may take to finish once the listener closed"
    ),
    flag!(
        "log.level",
        "LOG_LEVEL",
        None,
        Some("info"),
        "LEVEL",
        None,
        "Least severe log events written: debug, info, warn or error"
    ),
    flag!(
        "log.format",
        "LOG_FORMAT",
        None,
        Some("logfmt"),
        "FORMAT",
        None,
        "Log line format on stderr: logfmt or json"
    ),
];

/// The setting of flag `name` (without `--`).
pub(crate) fn flag(name: &str) -> &'static Flag {
    // Only called with the names of FLAGS, written in this crate (a test reads each).
    match FLAGS.iter().find(|flag| flag.name == name) {
        Some(flag) => flag,
        None => unreachable!("no flag --{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prefixed_variable_is_the_flag_name_in_capitals() {
        for flag in FLAGS {
            let expected =
                format!("{PREFIX}{}", flag.name.to_ascii_uppercase()).replace(['.', '-'], "_");
            assert_eq!(flag.variable, expected);
        }
    }

    #[test]
    fn names_and_variables_are_unique() {
        for (i, a) in FLAGS.iter().enumerate() {
            for b in &FLAGS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.variable, b.variable);
                assert!(a.legacy.is_none() || a.legacy != b.legacy, "{}", a.name);
            }
        }
    }
}
