//! [`MetricsLayer`]: configuration shared by every [`Metrics`] service it builds.

use std::sync::Arc;

use metrics_core::HttpServerMetrics;
use tower_layer::Layer;

use crate::{Exclusions, Metrics, RouteExtractor};

/// A Tower layer recording `http_server_*` metrics for every request of the wrapped service.
///
/// With axum, add it with `Router::layer` so the route template is known:
///
/// ```
/// use axum::{routing::get, Router};
/// use metrics_axum::MetricsLayer;
/// use metrics_core::{HttpServerMetrics, MetricsRegistry};
///
/// let registry = MetricsRegistry::builder().service_name("users").build().unwrap();
/// let http = HttpServerMetrics::builder().register(&registry);
///
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .layer(MetricsLayer::new(http));
/// ```
#[derive(Clone)]
pub struct MetricsLayer {
    pub(crate) metrics: HttpServerMetrics,
    pub(crate) exclusions: Arc<Exclusions>,
    pub(crate) route: Arc<dyn RouteExtractor>,
}

impl MetricsLayer {
    /// Records into `metrics`, excluding the exporter's paths ([`Exclusions::default`]), with
    /// route labels from axum's `MatchedPath` (or none without the `axum` feature).
    pub fn new(metrics: HttpServerMetrics) -> Self {
        #[cfg(feature = "axum")]
        let route: Arc<dyn RouteExtractor> = Arc::new(crate::MatchedPathRoute);
        #[cfg(not(feature = "axum"))]
        let route: Arc<dyn RouteExtractor> = Arc::new(crate::NoRoute);
        Self {
            metrics,
            exclusions: Arc::new(Exclusions::default()),
            route,
        }
    }

    /// Replaces the set of paths that are not recorded.
    pub fn exclusions(mut self, exclusions: Exclusions) -> Self {
        self.exclusions = Arc::new(exclusions);
        self
    }

    /// Replaces where route labels come from.
    pub fn route_extractor(mut self, extractor: impl RouteExtractor) -> Self {
        self.route = Arc::new(extractor);
        self
    }
}

impl std::fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayer")
            .field("metrics", &self.metrics)
            .field("exclusions", &self.exclusions)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics::new(inner, self.clone())
    }
}
