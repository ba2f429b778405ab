//! [`Exporter`]: the router for `/metrics`, `/health`, `/live`, `/ready`, `/startup` and `/`.

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use metrics_core::health::HealthRegistry;
use metrics_core::MetricsRegistry;
use tokio::net::TcpListener;

use crate::handlers;
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
/// use metrics_core::MetricsRegistry;
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
/// use metrics_core::MetricsRegistry;
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
    pub(crate) gzip: bool,
    pub(crate) service_name: Arc<str>,
    pub(crate) health: HealthRegistry,
    pub(crate) health_details: bool,
}

impl Exporter {
    /// Serves `registry`, with readiness from `lifecycle`.
    pub fn new(registry: MetricsRegistry, lifecycle: Lifecycle) -> Self {
        Self {
            shared: Shared {
                registry,
                lifecycle,
                gzip: true,
                service_name: Arc::from(""),
                health: HealthRegistry::empty(),
                health_details: true,
            },
        }
    }

    /// Whether `/metrics` may answer gzip when the scraper accepts it (default true).
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
    /// use metrics_core::health::{HealthCheck, HealthRegistry};
    /// use metrics_core::MetricsRegistry;
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
            .with_state(self.shared.clone())
    }

    /// Serves the exporter on `listener` until the lifecycle has drained
    /// ([`Lifecycle::drained`]); `/ready` answers 503 throughout the drain delay.
    pub async fn serve(self, listener: TcpListener) -> std::io::Result<()> {
        let shutdown = self.shared.lifecycle.drained();
        axum::serve(listener, self.router::<()>())
            .with_graceful_shutdown(shutdown)
            .await
    }
}
