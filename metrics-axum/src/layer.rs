//! [`MetricsLayer`]: configuration shared by every [`Metrics`] service it builds.

use std::marker::PhantomData;
use std::sync::Arc;

use metrics_toolkit::http::UrlScheme;
use metrics_toolkit::HttpServerMetrics;
use tower_layer::Layer;

use crate::route::RouteSource;
use crate::{Exclusions, Exemplars, Metrics, RouteExtractor, Wrapped};

/// A Tower layer recording `http_server_*` metrics for every request of the wrapped service.
///
/// With axum, let a [`Router`](crate::Router) put it around the whole router, with the route
/// templates it recorded as the routes were added:
///
/// ```
/// use axum::routing::get;
/// use metrics_axum::{MetricsLayer, Router};
/// use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
///
/// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let registry = MetricsRegistry::builder().service_name("users").build().unwrap();
/// let http = HttpServerMetrics::builder().register(&registry);
/// let app = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .with_metrics(MetricsLayer::new(http));
/// axum::serve(listener, app.into_make_service()).await
/// # }
/// ```
///
/// Inside an `axum::Router`, added with `Router::layer`, the route is axum's `MatchedPath`
/// (simplest with an existing router, about twice the cost per request: axum boxes every
/// route's service, future and body once more):
///
/// ```
/// use axum::{routing::get, Router};
/// use metrics_axum::MetricsLayer;
/// use metrics_toolkit::HttpServerMetrics;
///
/// let http = HttpServerMetrics::builder().build();
/// let app: Router = Router::new()
///     .route("/users/{id}", get(|| async { "a user" }))
///     .layer(MetricsLayer::new(http));
/// ```
///
/// Around a service that reports no route (hyper, tonic), [`routes`](Self::routes) gives the
/// templates to match; [`axum_body`](Self::axum_body) makes a service around an
/// `axum::Router` one that `axum::serve` accepts:
///
/// ```
/// use axum::{routing::get, Router};
/// use metrics_axum::{MetricsLayer, RouteTable};
/// use metrics_toolkit::HttpServerMetrics;
/// use tower_layer::Layer;
///
/// # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let http = HttpServerMetrics::builder().build();
/// let router = Router::new().route("/users/{id}", get(|| async { "a user" }));
/// let routes = RouteTable::new(["/users/{id}"]).expect("valid templates");
/// let app = MetricsLayer::new(http)
///     .routes(routes)
///     .axum_body()
///     .layer(router);
/// axum::serve(listener, app.into_make_service()).await
/// # }
/// ```
///
/// `O` chooses the response body type ([`OutputBody`](crate::OutputBody)).
pub struct MetricsLayer<O = Wrapped> {
    pub(crate) settings: Settings,
    output: PhantomData<fn() -> O>,
}

/// What every service of one layer shares.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) metrics: HttpServerMetrics,
    pub(crate) exclusions: Arc<Exclusions>,
    pub(crate) route: RouteSource,
    /// `None`: no exemplars, and no lookup per request.
    pub(crate) exemplars: Option<Arc<Exemplars>>,
    /// The `url_scheme` of requests whose URI carries none.
    pub(crate) url_scheme: UrlScheme,
}

impl MetricsLayer {
    /// Records into `metrics`, excluding the exporter's paths ([`Exclusions::default`]), with
    /// route labels from axum's `MatchedPath` (or none without the `axum` feature).
    pub fn new(metrics: HttpServerMetrics) -> Self {
        #[cfg(feature = "axum")]
        let route = RouteSource::extractor(crate::MatchedPathRoute);
        #[cfg(not(feature = "axum"))]
        let route = RouteSource::extractor(crate::NoRoute);
        Self {
            settings: Settings {
                metrics,
                exclusions: Arc::new(Exclusions::default()),
                route,
                exemplars: None,
                url_scheme: UrlScheme::Http,
            },
            output: PhantomData,
        }
    }
}

impl<O> MetricsLayer<O> {
    /// Replaces the set of paths that are not recorded.
    pub fn exclusions(mut self, exclusions: Exclusions) -> Self {
        self.settings.exclusions = Arc::new(exclusions);
        self
    }

    /// Route labels from matching each request's path against `routes`, the layer's fastest
    /// source: the templates are resolved to their series here, once, so a request costs one
    /// match and no lookup by name. For a layer around a service that reports no match (a whole
    /// axum `Router`, hyper, tonic); with axum, [`Router::with_metrics`](crate::Router::with_metrics)
    /// builds the table from the routes themselves.
    pub fn routes(mut self, routes: crate::RouteTable) -> Self {
        self.settings.route = RouteSource::table(routes, &self.settings.metrics);
        self
    }

    /// The `url_scheme` label of requests whose URI has no scheme (HTTP/1 requests in
    /// origin-form, the usual case): `"https"` behind a TLS listener, default `"http"`.
    /// A request whose URI has a scheme (HTTP/2's `:scheme`, an absolute-form target) is
    /// labelled with that one. Only `http` and `https` are their own value; any other name is
    /// recorded as `_OTHER` (see [`UrlScheme`]).
    ///
    /// ```
    /// use metrics_axum::MetricsLayer;
    /// use metrics_toolkit::HttpServerMetrics;
    ///
    /// let layer = MetricsLayer::new(HttpServerMetrics::builder().build()).url_scheme("https");
    /// # drop(layer);
    /// ```
    pub fn url_scheme(mut self, scheme: &str) -> Self {
        self.settings.url_scheme = UrlScheme::from_name(scheme);
        self
    }

    /// Route labels from a [`RouteExtractor`] of your own, e.g. for a router that leaves its
    /// match in the request's extensions. Each template it returns is looked up in a small
    /// per-service cache; for a [`RouteTable`](crate::RouteTable), use [`routes`](Self::routes).
    pub fn route_extractor(mut self, extractor: impl RouteExtractor) -> Self {
        self.settings.route = RouteSource::extractor(extractor);
        self
    }

    /// Keeps the trace of requests as exemplars of their duration buckets (default: none),
    /// from the sources [`Exemplars`] names: a scrape in OpenMetrics or protobuf then links each
    /// latency bucket to the trace that landed in it last.
    ///
    /// ```
    /// use metrics_axum::{Exemplars, MetricsLayer};
    /// use metrics_toolkit::HttpServerMetrics;
    ///
    /// let layer = MetricsLayer::new(HttpServerMetrics::builder().build()).exemplars(Exemplars::new());
    /// ```
    pub fn exemplars(mut self, exemplars: Exemplars) -> Self {
        self.settings.exemplars = Some(Arc::new(exemplars));
        self
    }

    /// Responses carry `axum::body::Body` (the layer's body boxed into it), as `axum::serve`
    /// requires of a service placed around a `Router`. Inside a `Router` this is not needed:
    /// axum boxes the body there itself.
    #[cfg(feature = "axum")]
    pub fn axum_body(self) -> MetricsLayer<crate::AxumBody> {
        MetricsLayer {
            settings: self.settings,
            output: PhantomData,
        }
    }
}

impl<O> Clone for MetricsLayer<O> {
    fn clone(&self) -> Self {
        Self {
            settings: self.settings.clone(),
            output: PhantomData,
        }
    }
}

impl<O> std::fmt::Debug for MetricsLayer<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayer")
            .field("metrics", &self.settings.metrics)
            .field("exclusions", &self.settings.exclusions)
            .finish_non_exhaustive()
    }
}

impl<S, O> Layer<S> for MetricsLayer<O> {
    type Service = Metrics<S, O>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics::new(inner, self.clone())
    }
}
