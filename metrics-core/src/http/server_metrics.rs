//! [`HttpServerMetrics`]: the `http_server_*` families of one server (or group of servers).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::connections::Connections;
use super::in_flight::InFlightByMethod;
use super::series_store::{SeriesStore, StoreOptions};
use super::{ActiveRequest, ConnectionGuard, MethodLabel, Route};
use crate::metric::{Buckets, LabelSetMap, NativeBuckets};
use crate::registry::MetricsRegistry;

/// The [`Route::name`] of requests that matched no route: empty, and their series have no
/// `http_route` label at all.
///
/// OpenTelemetry's HTTP server conventions make `http.route` "Conditionally Required: If and
/// only if it's available", so a request no route matched records no route rather than an
/// invented one (`http_route=""` selects these series in PromQL). A route template passed as
/// `Some("")` is recorded the same way.
pub const UNMATCHED_ROUTE: &str = "";

/// Default cap on the number of label sets of the request families.
pub const DEFAULT_MAX_LABEL_SETS: usize = 10_000;

/// The `http_server_*` families of one server (or group of servers).
///
/// Cheap to clone: clones share state. There is no global state; two instances never interfere.
/// Recording is lock-free and allocation-free once a label set has been seen (and a thread has
/// served the route with that method once).
///
/// ```
/// use metrics_toolkit::http::{HttpServerMetrics, Outcome};
/// use metrics_toolkit::MetricsRegistry;
///
/// let registry = MetricsRegistry::builder().service_name("demo").build().unwrap();
/// let http = HttpServerMetrics::builder().register(&registry);
///
/// let mut request = http.start_request(&http::Method::GET, Some("/users/{id}"));
/// request.set_status(200);
/// request.finish(Outcome::Completed);
///
/// let text = registry.encode(metrics_toolkit::Format::PrometheusText).unwrap();
/// assert!(text.contains(r#"http_server_requests_total{http_request_method="GET",http_route="/users/{id}",http_response_status_code="200",url_scheme="http"} 1"#));
/// ```
#[derive(Clone, Debug)]
pub struct HttpServerMetrics {
    pub(super) state: Arc<ServerState>,
}

/// What the clones of one [`HttpServerMetrics`] share.
#[derive(Debug)]
pub(super) struct ServerState {
    pub(super) store: Arc<SeriesStore>,
    pub(super) connections: Arc<Connections>,
    routes: LabelSetMap<Box<str>, Route>,
    unmatched: Route,
    /// Collects routes beyond the cardinality cap.
    overflow_route: Route,
    next_route_id: AtomicU32,
    /// When these metrics were built, in seconds since the Unix epoch: the `_created` of the
    /// unlabelled counters.
    pub(super) created: f64,
}

impl ServerState {
    /// Requests in flight per method, over every route.
    pub(super) fn in_flight(&self) -> InFlightByMethod {
        let mut in_flight = [None; MethodLabel::ALL.len()];
        self.unmatched.add_in_flight(&mut in_flight);
        self.overflow_route.add_in_flight(&mut in_flight);
        for route in self.routes.values() {
            route.add_in_flight(&mut in_flight);
        }
        in_flight
    }
}

/// Configures [`HttpServerMetrics`].
#[derive(Debug, Clone)]
pub struct HttpServerMetricsBuilder {
    buckets: Buckets,
    max_label_sets: usize,
    time_to_first_byte: bool,
    request_counter: bool,
    network_protocol_version: bool,
    native_histograms: Option<NativeBuckets>,
}

impl Default for HttpServerMetricsBuilder {
    fn default() -> Self {
        Self {
            buckets: Buckets::http_duration_seconds(),
            max_label_sets: DEFAULT_MAX_LABEL_SETS,
            time_to_first_byte: false,
            request_counter: true,
            network_protocol_version: false,
            native_histograms: None,
        }
    }
}

impl HttpServerMetricsBuilder {
    /// Duration buckets in seconds (default: the OpenTelemetry HTTP set). An SLO latency
    /// threshold should be one of the boundaries.
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = buckets;
        self
    }

    /// Maximum number of label sets of the request families (default 10,000). Requests that
    /// would create more are recorded in one series labelled `otel_metric_overflow="true"`, and
    /// `http_server_request_overflow_total` counts them. At least 1.
    pub fn max_label_sets(mut self, max: usize) -> Self {
        self.max_label_sets = max.max(1);
        self
    }

    /// Also records each request's time to first byte (default: off), as the histogram
    /// `http_server_time_to_first_byte_seconds`: from the request received to its response
    /// head being ready (status and headers, before the body), with the same labels and buckets
    /// as the request duration. Requests that ended before a response head (no status) have
    /// none. Each label set with a status then keeps a second histogram.
    ///
    /// ```
    /// use metrics_toolkit::http::{HttpServerMetrics, Outcome};
    /// use metrics_toolkit::{Format, MetricsRegistry};
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let http = HttpServerMetrics::builder()
    ///     .time_to_first_byte(true)
    ///     .register(&registry);
    /// let mut request = http.start_request(&http::Method::GET, Some("/report"));
    /// request.set_status(200); // the response head is ready
    /// request.finish(Outcome::Completed); // the body has ended
    /// let text = registry.encode(Format::PrometheusText).unwrap();
    /// assert!(text.contains("http_server_time_to_first_byte_seconds_count{"));
    /// ```
    pub fn time_to_first_byte(mut self, enabled: bool) -> Self {
        self.time_to_first_byte = enabled;
        self
    }

    /// Writes the counter `http_server_requests_total` (default: on). It is always equal to
    /// `http_server_request_duration_seconds_count`, which OpenTelemetry's conventions define
    /// (the counter is not one of theirs); off, a scrape carries only the histogram. The
    /// bundled rules and dashboards read `_count`, so they work either way.
    ///
    /// ```
    /// use metrics_toolkit::http::{HttpServerMetrics, Outcome};
    /// use metrics_toolkit::{Format, MetricsRegistry};
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let http = HttpServerMetrics::builder()
    ///     .request_counter(false)
    ///     .register(&registry);
    /// http.start_request(&http::Method::GET, Some("/")).finish(Outcome::Completed);
    /// let text = registry.encode(Format::PrometheusText).unwrap();
    /// assert!(!text.contains("http_server_requests_total"));
    /// assert!(text.contains("http_server_request_duration_seconds_count{"));
    /// ```
    pub fn request_counter(mut self, enabled: bool) -> Self {
        self.request_counter = enabled;
        self
    }

    /// Labels the request series with `network_protocol_version` (default: off):
    /// OpenTelemetry's `network.protocol.version`, *Recommended* on the HTTP server metrics,
    /// as `1.0`, `1.1`, `2` or `3`, from what the integration passes to
    /// [`ActiveRequest::set_network_protocol_version`] (the Tower layer passes
    /// `request.version()`). A request of another version has no such label: "If the actual
    /// protocol version is not known, this attribute SHOULD NOT be set." Off, the setter does
    /// nothing, and a server speaking two versions keeps one series where it would have two.
    ///
    /// ```
    /// use metrics_toolkit::http::{HttpServerMetrics, Outcome};
    /// use metrics_toolkit::{Format, MetricsRegistry};
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let http = HttpServerMetrics::builder()
    ///     .network_protocol_version(true)
    ///     .register(&registry);
    /// let mut request = http.start_request(&http::Method::GET, Some("/"));
    /// request.set_network_protocol_version(http::Version::HTTP_2);
    /// request.finish(Outcome::Completed);
    /// let text = registry.encode(Format::PrometheusText).unwrap();
    /// assert!(text.contains(r#"network_protocol_version="2""#));
    /// ```
    pub fn network_protocol_version(mut self, enabled: bool) -> Self {
        self.network_protocol_version = enabled;
        self
    }

    /// Also keeps native (exponential) buckets, as `native` configures, in the request
    /// duration histogram and, when it is on, the time-to-first-byte histogram (default: off).
    /// The classic buckets stay: text scrapes show them, protobuf scrapes carry both. Each
    /// label set then costs more memory (see [`NativeBuckets`]).
    ///
    /// ```
    /// use metrics_toolkit::http::HttpServerMetrics;
    /// use metrics_toolkit::metric::NativeBuckets;
    ///
    /// let http = HttpServerMetrics::builder()
    ///     .native_histograms(NativeBuckets::bucket_factor(1.1).unwrap())
    ///     .build();
    /// # drop(http);
    /// ```
    pub fn native_histograms(mut self, native: NativeBuckets) -> Self {
        self.native_histograms = Some(native);
        self
    }

    /// Builds the metrics without registering them (register with
    /// [`MetricsRegistry::register_http_server_metrics`], or in a plain prometheus-client
    /// registry as a `Collector`).
    pub fn build(self) -> HttpServerMetrics {
        // Calibrate the request clock now rather than on the first request.
        super::clock::clock();
        let options = StoreOptions {
            first_byte: self.time_to_first_byte,
            request_counter: self.request_counter,
            protocol_version: self.network_protocol_version,
            native: self.native_histograms,
        };
        let store = Arc::new(SeriesStore::new(self.buckets, self.max_label_sets, options));
        HttpServerMetrics {
            state: Arc::new(ServerState {
                routes: LabelSetMap::new(),
                unmatched: Route::new(0, UNMATCHED_ROUTE.into(), store.clone(), false),
                overflow_route: Route::new(1, "_overflow".into(), store.clone(), true),
                next_route_id: AtomicU32::new(2),
                created: super::series::unix_seconds_now(),
                connections: Arc::default(),
                store,
            }),
        }
    }

    /// Builds the metrics and registers them in `registry`.
    pub fn register(self, registry: &MetricsRegistry) -> HttpServerMetrics {
        let metrics = self.build();
        registry.register_http_server_metrics(&metrics);
        metrics
    }
}

impl HttpServerMetrics {
    /// A builder with the default configuration.
    pub fn builder() -> HttpServerMetricsBuilder {
        HttpServerMetricsBuilder::default()
    }

    /// Starts recording a request. `route` is the matched route template, or `None` when no
    /// route matched; never pass a raw path.
    ///
    /// A request that matched no route has no `http_route` label ([`UNMATCHED_ROUTE`]):
    /// OpenTelemetry's HTTP server conventions make `http.route` "Conditionally Required: If
    /// and only if it's available". Its `url_scheme` is `http` unless
    /// [`ActiveRequest::set_url_scheme`] says otherwise.
    ///
    /// The returned guard keeps `http_server_active_requests` raised until it is finished or
    /// dropped; dropped without [`ActiveRequest::finish`] it records the request as aborted.
    #[inline]
    pub fn start_request(&self, method: &http::Method, route: Option<&str>) -> ActiveRequest {
        // An empty template would write the same labels as the unmatched route's series.
        let Some(template) = route.filter(|template| !template.is_empty()) else {
            return self.state.unmatched.start_request(method);
        };
        // Borrowing the route from the map: cloning it would bump a count every thread shares.
        match self
            .state
            .routes
            .get_with(template, |h| h.start_request(method))
        {
            Some(request) => request,
            None => self.route(Some(template)).start_request(method),
        }
    }

    /// The route of a template (`None` or `Some("")`: the route of requests that matched
    /// none, [`UNMATCHED_ROUTE`]), created on first use. Routes beyond the cardinality cap
    /// share one overflow route.
    pub fn route(&self, template: Option<&str>) -> Route {
        let state = &self.state;
        let Some(template) = template.filter(|template| !template.is_empty()) else {
            return state.unmatched.clone();
        };
        if let Some(route) = state.routes.get_with(template, Route::clone) {
            return route;
        }
        state
            .routes
            .get_or_try_insert(template, |routes| {
                (routes < state.store.max_label_sets).then(|| {
                    let id = state.next_route_id.fetch_add(1, Ordering::Relaxed);
                    let route = Route::new(id, template.into(), state.store.clone(), false);
                    (template.into(), Arc::new(route))
                })
            })
            .map_or_else(|| state.overflow_route.clone(), |route| (*route).clone())
    }

    /// Counts an accepted connection; the returned guard marks it closed when dropped.
    pub fn open_connection(&self) -> ConnectionGuard {
        self.state.connections.open()
    }

    /// Requests in flight now, over all methods.
    pub fn active_requests(&self) -> i64 {
        self.state.in_flight().iter().flatten().sum()
    }

    /// Connections open now.
    pub fn active_connections(&self) -> i64 {
        self.state.connections.open.load(Ordering::Relaxed)
    }
}
