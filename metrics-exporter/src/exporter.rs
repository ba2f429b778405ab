//! [`Exporter`]: the router for `/metrics`, `/health`, `/live`, `/ready`, `/startup` and `/`.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use metrics_toolkit::health::HealthRegistry;
use metrics_toolkit::MetricsRegistry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::handlers;
use crate::security::guard::{self, Counters, Guard};
#[cfg(feature = "tls")]
use crate::security::TlsConfig;
use crate::security::{Limits, Security};
#[cfg(feature = "web-config")]
use crate::security::{SecurityError, WebConfig};
use crate::Lifecycle;

/// The address the exporter listens on when served on its own port.
pub const DEFAULT_ADDR: &str = "0.0.0.0:9464";

/// Serves a registry's metrics and the service's health, merged into the app's router or on its
/// own address.
///
/// Merged into the app:
///
/// ```
/// use axum::{routing::get, Router};
/// use metrics_toolkit::MetricsRegistry;
/// use metrics_exporter::{Exporter, Lifecycle};
///
/// let registry = MetricsRegistry::builder().service_name("api").build().unwrap();
/// let exporter = Exporter::new(registry, Lifecycle::new());
/// let app: Router = Router::new()
///     .route("/hello", get(|| async { "hello" }))
///     .merge(exporter.router());
/// ```
///
/// On its own port, stopping with the service's lifecycle:
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use metrics_toolkit::MetricsRegistry;
/// use metrics_exporter::{Exporter, Lifecycle, DEFAULT_ADDR};
///
/// let registry = MetricsRegistry::builder().build().unwrap();
/// let lifecycle = Lifecycle::new();
/// let listener = tokio::net::TcpListener::bind(DEFAULT_ADDR).await?;
/// Exporter::new(registry, lifecycle).serve(listener).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Exporter {
    shared: Shared,
}

#[derive(Clone, Debug)]
pub(crate) struct Shared {
    pub(crate) registry: MetricsRegistry,
    pub(crate) lifecycle: Lifecycle,
    #[cfg(feature = "gzip")]
    pub(crate) gzip: bool,
    pub(crate) service_name: Arc<str>,
    pub(crate) health: HealthRegistry,
    pub(crate) health_details: bool,
    pub(crate) guard: Arc<Guard>,
    /// One permit per scrape being encoded ([`Limits::max_concurrent_scrapes`]).
    pub(crate) scrape_slots: Arc<Semaphore>,
    /// Buffers of earlier scrapes, written into again.
    pub(crate) buffers: Arc<crate::handlers::ScrapeBuffers>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) http2: bool,
    pub(crate) connections: crate::server::ConnectionMetrics,
}

impl Exporter {
    /// Serves `registry`, with readiness from `lifecycle`.
    /// Registers the exporter's own metrics (`exporter_scrapes_total{result}`,
    /// `exporter_auth_failures_total{reason}`, and for [`serve`](Self::serve)
    /// `exporter_connections_open` and `exporter_connections_refused_total`) in `registry`:
    /// create one exporter per registry.
    pub fn new(registry: MetricsRegistry, lifecycle: Lifecycle) -> Self {
        let counters = Counters::register(&registry);
        let connections = crate::server::ConnectionMetrics::register(&registry);
        let limits = Limits::default();
        Self {
            shared: Shared {
                registry,
                lifecycle,
                #[cfg(feature = "gzip")]
                gzip: true,
                service_name: Arc::from(""),
                health: HealthRegistry::empty(),
                health_details: true,
                scrape_slots: Arc::new(Semaphore::new(limits.concurrent_scrapes())),
                buffers: Arc::default(),
                guard: Arc::new(Guard {
                    security: Security::new(),
                    limits,
                    counters,
                }),
                #[cfg(feature = "tls")]
                tls: None,
                http2: true,
                connections,
            },
        }
    }

    /// Protects the routes: credentials, allow-list, open probes (see [`Security`]).
    pub fn security(mut self, security: Security) -> Self {
        Arc::make_mut(&mut self.shared.guard).security = security;
        self
    }

    /// Bounds concurrent scrapes, encoding time and request header size, and on
    /// [`serve`](Self::serve) open connections, the wait for a connection's first request and
    /// idle connections (see [`Limits`]; the defaults apply otherwise).
    pub fn limits(mut self, limits: Limits) -> Self {
        Arc::make_mut(&mut self.shared.guard).limits = limits;
        self.shared.scrape_slots = Arc::new(Semaphore::new(limits.concurrent_scrapes()));
        self
    }

    /// Serves HTTPS from [`serve`](Self::serve) (has no effect on a merged router).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.shared.tls = Some(tls);
        self
    }

    /// Whether [`serve`](Self::serve) speaks HTTP/2 (default true): over TLS when the client
    /// chooses `h2` in ALPN, in clear text with prior knowledge. When false it speaks HTTP/1.1
    /// only: `h2` is not offered in ALPN and the HTTP/2 preface is refused as a bad HTTP/1
    /// request.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.shared.http2 = enabled;
        self
    }

    /// Applies a Prometheus `web-config.yml`: its TLS settings (when it has any), its `basic_auth_users` (added to
    /// the current [`Security`]) and `http_server_config.http2` (see [`http2`](Self::http2)).
    ///
    /// ```no_run
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use metrics_toolkit::MetricsRegistry;
    /// use metrics_exporter::security::WebConfig;
    /// use metrics_exporter::{Exporter, Lifecycle};
    ///
    /// let web = WebConfig::from_file("/etc/metrics/web-config.yml")?;
    /// let registry = MetricsRegistry::builder().build()?;
    /// let exporter = Exporter::new(registry, Lifecycle::new()).web_config(&web)?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "web-config")]
    #[cfg_attr(docsrs, doc(cfg(feature = "web-config")))]
    pub fn web_config(mut self, config: &WebConfig) -> Result<Self, SecurityError> {
        let guard = Arc::make_mut(&mut self.shared.guard);
        guard.security = guard.security.clone().web_config_users(config)?;
        if let Some(tls) = config.tls() {
            self.shared.tls = Some(tls.clone());
        }
        self.shared.http2 = config.http2();
        Ok(self)
    }

    /// Whether `/metrics` may answer gzip when the scraper accepts it (default true).
    #[cfg(feature = "gzip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gzip")))]
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.shared.gzip = enabled;
        self
    }

    /// The `serviceId` reported by `/health`.
    pub fn service_name(mut self, name: &str) -> Self {
        self.shared.service_name = Arc::from(name);
        self
    }

    /// The health checks behind `/health`, `/health/{check}`, `/live`, `/ready` and
    /// `/startup`. Registers them as metrics (`health_check_status`,
    /// `health_check_duration_seconds`) in the exporter's registry, and starts them when the
    /// router is built inside a Tokio runtime (or call [`HealthRegistry::start`] yourself).
    /// Call it once per exporter: each call registers the metrics again. `/health` reports the
    /// service's phase under `lifecycle`, so do not name a check `lifecycle`.
    ///
    /// ```
    /// use metrics_toolkit::health::{HealthCheck, HealthRegistry};
    /// use metrics_toolkit::MetricsRegistry;
    /// use metrics_exporter::{Exporter, Lifecycle};
    ///
    /// let health = HealthRegistry::builder()
    ///     .check(HealthCheck::tcp("postgres", "127.0.0.1:5432"))
    ///     .build()
    ///     .unwrap();
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let exporter = Exporter::new(registry, Lifecycle::new())
    ///     .health(health)
    ///     .health_details(false);
    /// ```
    pub fn health(mut self, health: HealthRegistry) -> Self {
        self.shared.registry.register_collector(health.clone());
        self.shared.health = health;
        self
    }

    /// Whether `/health` shows each check's result, duration and output (default true). When
    /// false it answers only the overall status: use it when `/health` is reachable by people
    /// who should not read the dependencies' error messages.
    pub fn health_details(mut self, shown: bool) -> Self {
        self.shared.health_details = shown;
        self
    }

    /// The lifecycle this exporter reports.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.shared.lifecycle
    }

    /// The exporter's routes, to merge into an app or serve alone.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        // Outside a runtime the checks stay pending until `HealthRegistry::start` is called.
        let _ = self.shared.health.start();
        Router::new()
            .route("/", get(handlers::landing))
            .route("/metrics", get(handlers::metrics))
            .route("/health", get(handlers::health))
            .route("/health/{check}", get(handlers::health_check))
            .route("/live", get(handlers::live))
            .route("/ready", get(handlers::ready))
            .route("/startup", get(handlers::startup))
            .layer(axum::middleware::from_fn_with_state(
                self.shared.guard.clone(),
                guard::guard,
            ))
            .with_state(self.shared.clone())
    }

    /// Serves the exporter on `listener` (over TLS when [`tls`](Self::tls) was given) until
    /// the lifecycle has drained ([`Lifecycle::drained`]); `/ready` answers 503 throughout the
    /// drain delay. Then the listener closes, connections finish their requests and close,
    /// and those still open at the drain deadline ([`Lifecycle::deadline`]) are dropped.
    ///
    /// Request heads are bounded by [`Limits::max_header_bytes`] in hyper's read buffer too,
    /// and each TLS handshake runs in its own task with a 10 s timeout. No connection is held
    /// for ever: at most [`Limits::max_connections`] are open (the excess is closed at once
    /// and counted in `exporter_connections_refused_total`), a connection's first request must
    /// arrive within [`Limits::first_request_timeout`], one without a request in flight is
    /// closed after [`Limits::idle_timeout`], and HTTP/2 connections are pinged every 30 s and
    /// closed when a ping is not answered within 10 s.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        let shutdown = self.shared.lifecycle.drained();
        let deadline = self.shared.lifecycle.deadline();
        let options = crate::server::Options {
            #[cfg(feature = "tls")]
            tls: self.shared.tls.clone(),
            limits: self.shared.guard.limits,
            http2: self.shared.http2,
            metrics: self.shared.connections.clone(),
        };
        crate::server::serve(listener, self.router::<()>(), options, shutdown, deadline).await
    }
}
