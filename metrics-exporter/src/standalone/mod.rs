//! The standalone exporter (the `metrics-exporter` binary): probes configured targets and
//! serves `/metrics` (probe, process and system metrics), `/health`, `/live` and `/ready`,
//! configured by flags and environment variables ([`CommandLine`], [`Settings`]), logging
//! to stderr ([`install_logs`]).

mod cli;
mod flags;
mod log_format;
mod logs;
mod settings;

use std::fmt;
use std::time::Duration;

use metrics_toolkit::collectors::SystemCollector;
use metrics_toolkit::MetricsRegistry;
use tokio::net::TcpListener;

use crate::exporter::Exporter;
use crate::lifecycle::Lifecycle;
use crate::prober::{Prober, TargetError};
use crate::security::SecurityError;

use crate::client::redact_credentials;
pub use cli::CommandLine;
pub use logs::{install_logs, LogFormat, LogsError};
pub use settings::{Settings, SettingsError, SettingsErrorKind};

/// Why the standalone exporter could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// A target cannot be probed (bad URL, unreadable CA file, duplicate name).
    Targets(TargetError),
    /// `--web.listen-address` cannot be listened on.
    Listen(std::net::SocketAddr, std::io::Error),
    /// The security settings cannot be applied.
    Security(SecurityError),
    /// The server failed.
    Serve(std::io::Error),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Targets(e) => write!(
                f,
                "--probe.targets (TARGETS) or --probe.targets-file (TARGETS_FILE): {e}"
            ),
            Self::Listen(addr, e) => {
                write!(
                    f,
                    "--web.listen-address (METRICS_ADDR): cannot listen on {addr}: {e}"
                )
            }
            Self::Security(e) => write!(f, "--web.config.file (WEB_CONFIG_FILE): {e}"),
            Self::Serve(e) => write!(f, "serving: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The registry and prober of the standalone exporter, before it listens.
#[derive(Debug)]
pub struct Standalone {
    registry: MetricsRegistry,
    prober: Prober,
    settings: Settings,
}

impl Standalone {
    /// Builds the registry (with process and system metrics) and the prober.
    pub fn new(settings: Settings) -> Result<Self, RunError> {
        let registry = MetricsRegistry::builder()
            .service_name("metrics-exporter")
            .version(env!("CARGO_PKG_VERSION"))
            .build()
            .map_err(|e| RunError::Serve(std::io::Error::other(e)))?;
        registry.register_collector(SystemCollector::start(settings.system_interval));
        let prober = Prober::new(settings.targets.clone(), settings.concurrency)
            .map_err(RunError::Targets)?;
        registry.register_collector(prober.clone());
        Ok(Self {
            registry,
            prober,
            settings,
        })
    }

    /// Binds `--web.listen-address`.
    pub async fn bind(&self) -> Result<TcpListener, RunError> {
        TcpListener::bind(self.settings.addr)
            .await
            .map_err(|e| RunError::Listen(self.settings.addr, e))
    }

    /// Starts probing and serves on `listener` until `lifecycle` has drained.
    pub async fn serve(self, listener: TcpListener, lifecycle: Lifecycle) -> Result<(), RunError> {
        self.prober.start();
        let mut exporter = Exporter::new(self.registry, lifecycle.clone())
            .service_name("metrics-exporter")
            .security(self.settings.security)
            .limits(self.settings.limits)
            .telemetry_path(&self.settings.telemetry_path)
            .map_err(|e| RunError::Serve(std::io::Error::other(e)))?;
        if let Some(web_config) = &self.settings.web_config {
            exporter = exporter
                .web_config(web_config)
                .map_err(RunError::Security)?;
        }
        lifecycle.mark_ready();
        exporter.serve(listener).await.map_err(RunError::Serve)
    }

    /// Logs what the exporter is about to do: where it listens, each target and its schedule
    /// (credentials masked) and the protections on. One line each, at info.
    pub fn log_start(&self, addr: std::net::SocketAddr) {
        let settings = &self.settings;
        tracing::info!(
            address = %addr,
            scheme = self.scheme(),
            telemetry_path = %settings.telemetry_path,
            version = env!("CARGO_PKG_VERSION"),
            "listening"
        );
        for target in &settings.targets {
            tracing::info!(
                target = %target.name,
                url = %redact_credentials(&target.url),
                schedule = %target.schedule,
                timeout = %humantime::format_duration(target.timeout),
                "probing target"
            );
        }
        if settings.targets.is_empty() {
            tracing::info!("no probe targets: serving process and system metrics only");
        }
        let web = settings.web_config.as_ref();
        tracing::info!(
            tls = web.is_some_and(|web| web.tls().is_some()),
            basic_auth = web.is_some_and(|web| web.basic_auth_users().next().is_some()),
            bearer_token = settings.security.credentials.bearer.is_some(),
            allow_list = !settings.security.allow_list.is_empty(),
            http2 = web.is_none_or(|web| web.http2()),
            // "1 per 1s, burst 10", or "off".
            rate_limit = %web.and_then(|web| web.rate_limit()).map_or_else(
                || "off".to_owned(),
                |limit| format!(
                    "1 per {}, burst {}",
                    humantime::format_duration(limit.interval()),
                    limit.burst()
                )
            ),
            response_headers = web.map_or(0, |web| web.headers().count()),
            open_probes = settings.security.open_probes,
            public_health = settings.security.public_health,
            "protection"
        );
    }

    /// `https` when the web config enables TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        match &self.settings.web_config {
            Some(web) if web.tls().is_some() => "https",
            _ => "http",
        }
    }

    /// The configured shutdown delay, for the [`Lifecycle`].
    pub fn shutdown_delay(&self) -> Duration {
        self.settings.shutdown_delay
    }

    /// The configured drain deadline (`SHUTDOWN_TIMEOUT`), for the [`Lifecycle`].
    pub fn shutdown_timeout(&self) -> Duration {
        self.settings.shutdown_timeout
    }
}
