//! The HTTP server metric families and the state behind them.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::series::{Series, SeriesKey, SeriesLabelSet, SeriesLabels};
use super::{MethodLabel, Outcome};
use crate::metric::{Buckets, CowMap};
use crate::registry::MetricsRegistry;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Default cap on the number of label sets of the request families.
pub const DEFAULT_MAX_LABEL_SETS: usize = 10_000;

/// The `http_server_*` families of one server (or group of servers).
///
/// Cheap to clone: clones share state. There is no global state; two instances never interfere.
/// Recording is lock-free and allocation-free once a label set has been seen.
///
/// ```
/// use metrics_core::http::{HttpServerMetrics, Outcome};
/// use metrics_core::MetricsRegistry;
///
/// let registry = MetricsRegistry::builder().service_name("demo").build().unwrap();
/// let http = HttpServerMetrics::builder().register(&registry);
///
/// let mut request = http.start_request(&http::Method::GET, Some("/users/{id}"));
/// request.set_status(200);
/// request.finish(Outcome::Completed);
///
/// let text = registry.encode(metrics_core::Format::PrometheusText).unwrap();
/// assert!(text.contains(r#"http_server_requests_total{http_request_method="GET",http_route="/users/{id}",http_response_status_code="200"} 1"#));
/// ```
#[derive(Clone, Debug)]
pub struct HttpServerMetrics {
    pub(super) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) buckets: Buckets,
    pub(super) max_label_sets: usize,
    pub(super) routes: CowMap<Box<str>, RouteSlot>,
    pub(super) unmatched: Arc<RouteSlot>,
    /// Where new label sets go once `max_label_sets` is reached.
    pub(super) overflow_route: Arc<RouteSlot>,
    pub(super) overflow_series: Arc<Series>,
    pub(super) series_count: AtomicUsize,
    pub(super) active_requests: [AtomicI64; 10],
    /// Which methods have been seen, so idle methods are not exported.
    pub(super) methods_seen: [AtomicBool; 10],
    pub(super) active_connections: AtomicI64,
    pub(super) connections_total: AtomicU64,
}

/// The series of one route.
#[derive(Debug)]
pub(super) struct RouteSlot {
    pub(super) name: Arc<str>,
    pub(super) series: CowMap<SeriesKey, Series>,
    is_overflow: bool,
}

impl RouteSlot {
    fn new(name: Arc<str>, is_overflow: bool) -> Self {
        Self {
            name,
            series: CowMap::new(),
            is_overflow,
        }
    }
}

/// Configures [`HttpServerMetrics`].
#[derive(Debug, Clone)]
pub struct HttpServerMetricsBuilder {
    buckets: Buckets,
    max_label_sets: usize,
}

impl Default for HttpServerMetricsBuilder {
    fn default() -> Self {
        Self {
            buckets: Buckets::http_duration_seconds(),
            max_label_sets: DEFAULT_MAX_LABEL_SETS,
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

    /// Builds the metrics without registering them (register with
    /// [`MetricsRegistry::register_collector`]).
    pub fn build(self) -> HttpServerMetrics {
        let overflow_series = Arc::new(Series::new(SeriesLabelSet::Overflow, self.buckets.clone()));
        HttpServerMetrics {
            shared: Arc::new(Shared {
                routes: CowMap::new(),
                unmatched: Arc::new(RouteSlot::new(UNMATCHED_ROUTE.into(), false)),
                overflow_route: Arc::new(RouteSlot::new("_overflow".into(), true)),
                overflow_series,
                series_count: AtomicUsize::new(0),
                active_requests: Default::default(),
                methods_seen: Default::default(),
                active_connections: AtomicI64::new(0),
                connections_total: AtomicU64::new(0),
                buckets: self.buckets,
                max_label_sets: self.max_label_sets,
            }),
        }
    }

    /// Builds the metrics and registers them in `registry`.
    pub fn register(self, registry: &MetricsRegistry) -> HttpServerMetrics {
        let metrics = self.build();
        registry.register_collector(metrics.clone());
        metrics
    }
}

impl HttpServerMetrics {
    /// A builder with the default configuration.
    pub fn builder() -> HttpServerMetricsBuilder {
        HttpServerMetricsBuilder::default()
    }

    /// Starts recording a request. `route` is the matched route template, or `None` when no
    /// route matched (recorded as `unmatched`); never pass a raw path.
    ///
    /// The returned guard keeps `http_server_active_requests` raised until it is finished or
    /// dropped; dropped without [`ActiveRequest::finish`] it records the request as aborted.
    #[inline]
    pub fn start_request(&self, method: &http::Method, route: Option<&str>) -> ActiveRequest {
        let method = MethodLabel::from_method(method);
        let slot = match route {
            Some(route) => self.route_slot(route),
            None => self.shared.unmatched.clone(),
        };
        let index = method.index();
        if !self.shared.methods_seen[index].load(Ordering::Relaxed) {
            self.shared.methods_seen[index].store(true, Ordering::Relaxed);
        }
        self.shared.active_requests[index].fetch_add(1, Ordering::Relaxed);
        ActiveRequest {
            shared: self.shared.clone(),
            route: slot,
            method,
            status: None,
            start: std::time::Instant::now(),
            finished: false,
        }
    }

    /// Counts an accepted connection; the returned guard marks it closed when dropped.
    pub fn open_connection(&self) -> ConnectionGuard {
        self.shared
            .connections_total
            .fetch_add(1, Ordering::Relaxed);
        self.shared
            .active_connections
            .fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            shared: self.shared.clone(),
        }
    }

    /// Requests in flight now, over all methods.
    pub fn active_requests(&self) -> i64 {
        self.shared
            .active_requests
            .iter()
            .map(|gauge| gauge.load(Ordering::Relaxed))
            .sum()
    }

    /// Connections open now.
    pub fn active_connections(&self) -> i64 {
        self.shared.active_connections.load(Ordering::Relaxed)
    }

    fn route_slot(&self, route: &str) -> Arc<RouteSlot> {
        let shared = &self.shared;
        shared
            .routes
            .get_or_try_insert(route, |routes| {
                (routes < shared.max_label_sets).then(|| {
                    let name: Arc<str> = route.into();
                    (route.into(), Arc::new(RouteSlot::new(name, false)))
                })
            })
            .unwrap_or_else(|| shared.overflow_route.clone())
    }
}

impl Shared {
    fn record(
        &self,
        slot: &RouteSlot,
        method: MethodLabel,
        status: Option<u16>,
        outcome: Outcome,
        seconds: f64,
    ) {
        let series = if slot.is_overflow {
            None
        } else {
            let key = SeriesKey::new(method, status, outcome);
            slot.series.get_or_try_insert(&key, |_| {
                // Reserve a slot under the cap before creating the series.
                let taken = self.series_count.fetch_add(1, Ordering::Relaxed);
                if taken >= self.max_label_sets {
                    self.series_count.fetch_sub(1, Ordering::Relaxed);
                    return None;
                }
                let labels = SeriesLabels::new(slot.name.clone(), method, status, outcome);
                Some((
                    key,
                    Arc::new(Series::new(
                        SeriesLabelSet::Regular(labels),
                        self.buckets.clone(),
                    )),
                ))
            })
        };
        match series {
            Some(series) => series.duration.observe(seconds),
            None => self.overflow_series.duration.observe(seconds),
        }
    }
}

/// A request being recorded (RAII): raises `http_server_active_requests` while alive.
///
/// Finish it with [`finish`](Self::finish) when the response body has ended or failed; if it is
/// dropped unfinished (the client went away, a future was cancelled, a handler panicked), the
/// request is recorded with `error_type="aborted"`. Either way the gauge is released exactly once.
#[derive(Debug)]
pub struct ActiveRequest {
    shared: Arc<Shared>,
    route: Arc<RouteSlot>,
    method: MethodLabel,
    status: Option<u16>,
    start: std::time::Instant,
    finished: bool,
}

impl ActiveRequest {
    /// Records the status code sent (call when the response head is ready).
    #[inline]
    pub fn set_status(&mut self, status: u16) {
        self.status = Some(status);
    }

    /// Ends the request with the given outcome, recording its duration up to now.
    #[inline]
    pub fn finish(mut self, outcome: Outcome) {
        self.end(outcome);
    }

    fn end(&mut self, outcome: Outcome) {
        if self.finished {
            return;
        }
        self.finished = true;
        let seconds = self.start.elapsed().as_secs_f64();
        self.shared
            .record(&self.route, self.method, self.status, outcome, seconds);
        self.shared.active_requests[self.method.index()].fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.end(Outcome::Aborted);
    }
}

/// An open connection (RAII): `http_server_active_connections` is lowered when it is dropped.
#[derive(Debug)]
pub struct ConnectionGuard {
    shared: Arc<Shared>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared
            .active_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}
