//! [`Exporter`]: the router for `/metrics`, `/health`, `/live`, `/ready`, `/startup` and `/`.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use metrics_toolkit::health::HealthRegistry;
use metrics_toolkit::MetricsRegistry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::handlers;
use crate::health_metrics::HealthMetrics;
use crate::lifecycle::Lifecycle;
use crate::security::guard::{self, Guard};
use crate::security::refusals::Refusals;
use crate::security::RateLimit;
#[cfg(feature = "tls")]
use crate::security::TlsConfig;
use crate::security::{Limits, Security};
#[cfg(feature = "web-config")]
use crate::security::{SecurityError, WebConfig};
use crate::self_metrics::SelfMetrics;
use crate::server;
use crate::state::HandlerState;

/// The address the exporter listens on when served on its own port.
pub const DEFAULT_ADDR: &str = "0.0.0.0:9464";

/// Where metrics are served unless [`Exporter::telemetry_path`] says otherwise.
pub const DEFAULT_TELEMETRY_PATH: &str = "/metrics";

/// The paths the exporter serves besides its metrics: a telemetry path cannot be one of them.
const OTHER_ROUTES: [&str; 5] = ["/", "/health", "/live", "/ready", "/startup"];

/// Why a telemetry path is refused: it must start with `/`, hold no `{`, `}`, `?`, `#` or
/// whitespace (the router would take braces as a parameter), and not be another route.
pub(crate) fn check_telemetry_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("is not valid: use a path starting with /, such as /metrics".into());
    }
    if path.chars().any(|c| {
        matches!(
            c,
            '{' | '}' | '?' | '#' | '*' | '"' | '\'' | '<' | '>' | '&' | '\\'
        ) || c.is_whitespace()
            || c.is_control()
    }) {
        return Err(
            "is not valid: use a plain path (letters, digits, /, -, _, ., ~), such as /metrics"
                .into(),
        );
    }
    if OTHER_ROUTES.contains(&path) || path.starts_with("/health/") {
        return Err(format!(
            "is not valid: {} are served already; use another path, such as /metrics",
            OTHER_ROUTES.join(", ")
        ));
    }
    Ok(())
}

/// A path refused by [`Exporter::telemetry_path`]: it says why and the accepted form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryPathError {
    path: String,
    reason: String,
}

impl std::fmt::Display for TelemetryPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "telemetry path {:?} {}", self.path, self.reason)
    }
}

impl std::error::Error for TelemetryPathError {}

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
    state: HandlerState,
    security: Security,
    limits: Limits,
    health_metrics: HealthMetrics,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
    http2: bool,
    /// web-config.yml `http_server_config.headers`, for [`serve`](Self::serve).
    headers: axum::http::HeaderMap,
    /// web-config.yml `rate_limit`, for [`serve`](Self::serve).
    rate_limit: Option<RateLimit>,
    refusals: Arc<Refusals>,
    telemetry_path: Arc<str>,
}

impl Exporter {
    /// Serves `registry`, with readiness from `lifecycle`.
    /// Registers the exporter's own metrics (`exporter_scrapes_total{result}`,
    /// `exporter_auth_failures_total{reason}`, and for [`serve`](Self::serve)
    /// `exporter_connections_open` and `exporter_connections_refused_total`) and those of its
    /// [`health`](Self::health) checks in `registry`: create one exporter per registry.
    pub fn new(registry: MetricsRegistry, lifecycle: Lifecycle) -> Self {
        let metrics = SelfMetrics::register(&registry);
        let health_metrics = HealthMetrics::default();
        registry.register_collector(health_metrics.clone());
        let limits = Limits::default();
        let service_name = Arc::from(registry.service_name());
        Self {
            state: HandlerState {
                registry,
                lifecycle,
                metrics,
                #[cfg(feature = "gzip")]
                gzip: true,
                service_name,
                health: HealthRegistry::empty(),
                health_details: true,
                scrape_permits: Arc::new(Semaphore::new(limits.concurrent_scrapes())),
                scrape_timeout: limits.timeout(),
                buffers: Arc::default(),
            },
            security: Security::new(),
            limits,
            health_metrics,
            #[cfg(feature = "tls")]
            tls: None,
            http2: true,
            headers: axum::http::HeaderMap::new(),
            rate_limit: None,
            refusals: Arc::default(),
            telemetry_path: Arc::from(DEFAULT_TELEMETRY_PATH),
        }
    }

    /// Protects the routes: credentials, allow-list, open probes (see [`Security`]).
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// Bounds concurrent scrapes, encoding time and request header size, and on
    /// [`serve`](Self::serve) open connections, the wait for a connection's first request and
    /// idle connections (see [`Limits`]; the defaults apply otherwise).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.state.scrape_permits = Arc::new(Semaphore::new(limits.concurrent_scrapes()));
        self.state.scrape_timeout = limits.timeout();
        self
    }

    /// Serves metrics at `path` instead of [`DEFAULT_TELEMETRY_PATH`] (`/metrics`), as
    /// `--web.telemetry-path` of Prometheus' exporters; `/metrics` is then not found. The
    /// path must start with `/`, be plain (no `{`, `}`, `*`, `?`, `#`, quotes, `<`, `>`, `&`,
    /// `\`, spaces) and not be one of the other routes. The landing page `/` links to it.
    ///
    /// ```
    /// use metrics_toolkit::MetricsRegistry;
    /// use metrics_exporter::{Exporter, Lifecycle};
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let exporter = Exporter::new(registry, Lifecycle::new()).telemetry_path("/internal/metrics")?;
    /// let _app: axum::Router = exporter.router();
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// assert!(Exporter::new(registry, Lifecycle::new()).telemetry_path("/health").is_err());
    /// # Ok::<(), metrics_exporter::TelemetryPathError>(())
    /// ```
    pub fn telemetry_path(mut self, path: &str) -> Result<Self, TelemetryPathError> {
        check_telemetry_path(path).map_err(|reason| TelemetryPathError {
            path: path.to_owned(),
            reason,
        })?;
        self.telemetry_path = Arc::from(path);
        Ok(self)
    }

    /// Serves HTTPS from [`serve`](Self::serve) (has no effect on a merged router).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Whether [`serve`](Self::serve) speaks HTTP/2 (default true): over TLS when the client
    /// chooses `h2` in ALPN, in clear text with prior knowledge. When false it speaks HTTP/1.1
    /// only: `h2` is not offered in ALPN and the HTTP/2 preface is refused as a bad HTTP/1
    /// request.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Applies a Prometheus `web-config.yml`: its TLS settings (when it has any), its
    /// `basic_auth_users` (added to the current [`Security`]), `http_server_config.http2` (see
    /// [`http2`](Self::http2)), and for [`serve`](Self::serve) `http_server_config.headers`
    /// (added to every answer, refusals and 404 included) and `rate_limit` (one token bucket for
    /// every request; an empty bucket answers 429). A merged [`router`](Self::router) gets the
    /// credentials only: the app's server owns TLS, headers and rate limits.
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
        self.security = self.security.web_config_users(config)?;
        if let Some(tls) = config.tls() {
            self.tls = Some(tls.clone());
        }
        self.http2 = config.http2();
        self.headers = config.header_map().clone();
        self.rate_limit = config.rate_limit();
        Ok(self)
    }

    /// Whether `/metrics` may answer gzip when the scraper accepts it (default true).
    #[cfg(feature = "gzip")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gzip")))]
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.state.gzip = enabled;
        self
    }

    /// The `serviceId` reported by `/health` (default: the registry's
    /// [`service_name`](metrics_toolkit::MetricsRegistry::service_name)).
    pub fn service_name(mut self, name: &str) -> Self {
        self.state.service_name = Arc::from(name);
        self
    }

    /// The health checks behind `/health`, `/health/{check}`, `/live`, `/ready` and
    /// `/startup`, also exported as metrics (`health_check_status`,
    /// `health_check_duration_seconds`) in the exporter's registry. Calling it again replaces
    /// the checks, in the routes and the metrics alike (each family stays written once); clones
    /// of an exporter share its registry and so these metrics, the last call on any of them
    /// deciding what they show.
    /// `/health` reports the service's phase under `lifecycle`, so do not name a check
    /// `lifecycle`.
    ///
    /// [`serve`](Self::serve) starts the checks; with the [`router`](Self::router) merged into
    /// an app, start them yourself with [`HealthRegistry::start`] (until then every check is
    /// pending, and a critical check without a result fails `/ready`).
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
        self.health_metrics.set(health.clone());
        self.state.health = health;
        self
    }

    /// Whether `/health` shows each check's result, duration and output (default true). When
    /// false it answers only the overall status: use it when `/health` is reachable by people
    /// who should not read the dependencies' error messages.
    pub fn health_details(mut self, shown: bool) -> Self {
        self.state.health_details = shown;
        self
    }

    /// The lifecycle this exporter reports.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.state.lifecycle
    }

    /// The exporter's routes, to merge into an app or serve alone. Building them starts
    /// nothing: start the [`health`](Self::health) checks with [`HealthRegistry::start`] when
    /// the app serves them itself ([`serve`](Self::serve) starts them).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{routing::get, Router};
    /// use metrics_toolkit::health::{HealthCheck, HealthRegistry};
    /// use metrics_toolkit::MetricsRegistry;
    /// use metrics_exporter::{Exporter, Lifecycle};
    ///
    /// let health = HealthRegistry::builder()
    ///     .check(HealthCheck::tcp("postgres", "127.0.0.1:5432"))
    ///     .build()?;
    /// let registry = MetricsRegistry::builder().build()?;
    /// let exporter = Exporter::new(registry, Lifecycle::new()).health(health.clone());
    /// let app: Router = Router::new()
    ///     .route("/hello", get(|| async { "hello" }))
    ///     .merge(exporter.router());
    /// health.start()?; // the app serves /health and /ready: their checks run from now on
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
    /// axum::serve(listener, app).await?;
    /// # Ok(()) }
    /// ```
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let guard_config = Guard {
            security: self.security.clone(),
            header_bytes: self.limits.header_bytes(),
            metrics: self.state.metrics.clone(),
            refusals: Arc::clone(&self.refusals),
            telemetry_path: self.telemetry_path.clone(),
        };
        Router::new()
            .route("/", {
                let page = handlers::landing_page(&self.telemetry_path);
                get(move || handlers::landing(page.clone()))
            })
            .route(&self.telemetry_path, get(handlers::metrics))
            .route("/health", get(handlers::health))
            .route("/health/{check}", get(handlers::health_check))
            .route("/live", get(handlers::live))
            .route("/ready", get(handlers::ready))
            .route("/startup", get(handlers::startup))
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(guard_config),
                guard::guard,
            ))
            .with_state(self.state.clone())
    }

    /// Starts the [`health`](Self::health) checks and serves the exporter on `listener` (over TLS
    /// when [`tls`](Self::tls) was given) until the lifecycle has drained ([`Lifecycle::drained`]);
    /// `/ready` answers 503 throughout the drain delay. Then the listener closes, connections
    /// finish their requests and close, and those still open at the drain deadline
    /// ([`Lifecycle::deadline`]) are dropped.
    ///
    /// Request heads are bounded by [`Limits::max_header_bytes`] in hyper's read buffer too,
    /// and each TLS handshake runs in its own task with a 10 s timeout. No connection is held
    /// for ever: at most [`Limits::max_connections`] are open (the excess is closed at once
    /// and counted in `exporter_connections_refused_total`), a connection's first request must
    /// arrive within [`Limits::first_request_timeout`], one without a request in flight is
    /// closed after [`Limits::idle_timeout`], and HTTP/2 connections are pinged every 30 s and
    /// closed when a ping is not answered within 10 s.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        // Inside a runtime (this is async), starting cannot fail; a second start does nothing.
        let _ = self.state.health.start();
        let shutdown = self.state.lifecycle.drained();
        let deadline = self.state.lifecycle.deadline();
        let router = self.router::<()>();
        let options = server::Options {
            #[cfg(feature = "tls")]
            tls: self.tls,
            limits: self.limits,
            http2: self.http2,
            metrics: self.state.metrics,
            headers: self.headers,
            rate_limit: self.rate_limit,
            refusals: self.refusals,
            telemetry_path: self.telemetry_path,
        };
        server::serve(listener, router, options, shutdown, deadline).await
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::{Request, StatusCode};
    use tower_service::Service;

    use super::*;

    async fn status(router: &mut Router, path: &str) -> StatusCode {
        let request = Request::get(path).body(Body::empty()).unwrap();
        router.call(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn metrics_are_served_at_the_telemetry_path_only() {
        let registry = MetricsRegistry::builder().build().unwrap();
        let lifecycle = Lifecycle::new();
        lifecycle.mark_ready();
        let exporter = Exporter::new(registry, lifecycle)
            .telemetry_path("/internal/metrics")
            .unwrap();
        let mut router = exporter.router::<()>();
        assert_eq!(
            status(&mut router, "/internal/metrics").await,
            StatusCode::OK
        );
        assert_eq!(status(&mut router, "/metrics").await, StatusCode::NOT_FOUND);
        assert_eq!(status(&mut router, "/live").await, StatusCode::OK);
        let request = Request::get("/").body(Body::empty()).unwrap();
        let page = router.call(request).await.unwrap().into_body();
        let page = http_body_util::BodyExt::collect(page)
            .await
            .unwrap()
            .to_bytes();
        let page = String::from_utf8(page.to_vec()).unwrap();
        assert!(
            page.contains("<li><a href=\"internal/metrics\">/internal/metrics</a>"),
            "{page}"
        );
    }

    #[test]
    fn a_telemetry_path_that_is_not_a_plain_new_path_is_refused() {
        for path in [
            "",
            "metrics",
            "/health",
            "/",
            "/ready",
            "/health/db",
            "/m/{x}",
            "/a b",
            "/x?y",
            "/<b>",
            "/a\"b",
            "/a&b",
        ] {
            let registry = MetricsRegistry::builder().build().unwrap();
            let refused = Exporter::new(registry, Lifecycle::new()).telemetry_path(path);
            let error = refused.unwrap_err();
            assert!(
                error.to_string().contains("is not valid"),
                "{path:?}: {error}"
            );
        }
        assert_eq!(
            check_telemetry_path("metrics"),
            Err("is not valid: use a path starting with /, such as /metrics".to_owned())
        );
    }
}
