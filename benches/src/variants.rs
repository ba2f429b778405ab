//! The services every benchmark compares: one axum route, `/users/{id}`, returning a short
//! string, bare and under each instrumentation, for the criterion benches and the load and
//! instruction-count tools.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use metrics_axum::{AxumBody, Exclusions, Exemplars, Metrics, MetricsLayer, RouteTable};
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// One instrumentation option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// No instrumentation.
    Bare,
    /// What the quickstart does: the routes added to `metrics_axum::Router`, which puts
    /// `MetricsLayer` around the whole router with the templates it recorded
    /// (`Router::with_metrics`).
    OursQuickstart,
    /// The quickstart's placement, requests carrying a sampled `traceparent` header, exemplars
    /// off: what [`OursExemplars`](Self::OursExemplars) is compared with.
    OursTraced,
    /// The quickstart's placement with exemplars from the `traceparent` header, which every
    /// request carries.
    OursExemplars,
    /// This toolkit's `MetricsLayer` (counter, histogram to body end, in-flight gauge, labels)
    /// around the whole router, route labels from a hand-written `RouteTable`
    /// (`MetricsLayer::routes`).
    OursAround,
    /// The same layer added with `Router::layer`, route labels from axum's `MatchedPath`.
    Ours,
    /// `MetricsLayer` with the request's path excluded: axum's cost of the layer itself, without
    /// recording (a diagnostic, to split the added cost).
    OursExcluded,
    /// tower-http's `InFlightRequestsLayer`: one unlabelled gauge.
    TowerHttpInFlight,
    /// `#[autometrics]` on the handler (prometheus-client backend).
    Autometrics,
    /// A hand-written prometheus-client middleware: `Family::get_or_create` + `Histogram`.
    PrometheusClient,
    /// axum-prometheus 0.10.
    AxumPrometheus,
}

impl Variant {
    /// Every variant, bare first.
    pub const ALL: [Variant; 11] = [
        Variant::Bare,
        Variant::OursQuickstart,
        Variant::OursTraced,
        Variant::OursExemplars,
        Variant::OursAround,
        Variant::Ours,
        Variant::OursExcluded,
        Variant::TowerHttpInFlight,
        Variant::Autometrics,
        Variant::PrometheusClient,
        Variant::AxumPrometheus,
    ];

    /// A short name for reports and command lines.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Bare => "bare",
            Variant::OursQuickstart => "ours-quickstart",
            Variant::OursTraced => "ours-traced",
            Variant::OursExemplars => "ours-exemplars",
            Variant::OursAround => "ours-around-router",
            Variant::Ours => "ours-router-layer",
            Variant::OursExcluded => "ours-path-excluded",
            Variant::TowerHttpInFlight => "tower-http-inflight",
            Variant::Autometrics => "autometrics",
            Variant::PrometheusClient => "prometheus-client-handwritten",
            Variant::AxumPrometheus => "axum-prometheus",
        }
    }

    /// The variant with this name.
    pub fn from_name(name: &str) -> Option<Variant> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Whether its requests carry a sampled W3C `traceparent` header.
    pub fn traced(self) -> bool {
        matches!(self, Variant::OursTraced | Variant::OursExemplars)
    }

    /// Sends one request of this variant through `app` (built by [`app`](Self::app)), body
    /// read to the end; returns the body's length.
    pub fn send(self, app: &App) -> usize {
        if self.traced() {
            crate::drive::one_traced_request(app)
        } else {
            crate::drive::one_request(app)
        }
    }

    /// The service of this variant, prepared as `axum::serve` prepares it (handlers turned into
    /// services once, not per request). Global recorders (axum-prometheus) are installed once.
    pub fn app(self) -> App {
        match self {
            Variant::OursQuickstart | Variant::OursTraced => App::Right(
                metrics_axum::Router::new()
                    .route("/users/{id}", get(user))
                    .with_metrics(MetricsLayer::new(http_metrics())),
            ),
            Variant::OursExemplars => App::Right(
                metrics_axum::Router::new()
                    .route("/users/{id}", get(user))
                    .with_metrics(MetricsLayer::new(http_metrics()).exemplars(Exemplars::new())),
            ),
            Variant::OursAround => {
                let routes = RouteTable::new(["/users/{id}"]).expect("route table");
                // `axum::serve` takes `axum::body::Body` responses: boxed, as in a server.
                let layer = MetricsLayer::new(http_metrics()).routes(routes).axum_body();
                App::Right(Metrics::new(Variant::Bare.router(), layer))
            }
            _ => App::Left(self.router()),
        }
    }

    /// The variant's router; variants that wrap the router from outside return the bare one.
    pub fn router(self) -> Router {
        self.routes().with_state(())
    }

    fn routes(self) -> Router {
        let routes = Router::new();
        match self {
            Variant::Bare
            | Variant::OursAround
            | Variant::OursQuickstart
            | Variant::OursTraced
            | Variant::OursExemplars => routes.route("/users/{id}", get(user)),
            Variant::Ours => routes
                .route("/users/{id}", get(user))
                .layer(MetricsLayer::new(http_metrics())),
            Variant::OursExcluded => {
                let layer = MetricsLayer::new(http_metrics())
                    .exclusions(Exclusions::none().prefix("/users/"));
                routes.route("/users/{id}", get(user)).layer(layer)
            }
            Variant::TowerHttpInFlight => {
                let (layer, _counter) = tower_http::metrics::InFlightRequestsLayer::pair();
                routes.route("/users/{id}", get(user)).layer(layer)
            }
            Variant::Autometrics => routes.route("/users/{id}", get(autometrics_user)),
            Variant::PrometheusClient => {
                let metrics = Arc::new(HandwrittenMetrics::default());
                routes
                    .route("/users/{id}", get(user))
                    .layer(middleware::from_fn_with_state(metrics, handwritten))
            }
            Variant::AxumPrometheus => {
                static LAYER: OnceLock<axum_prometheus::PrometheusMetricLayer<'static>> =
                    OnceLock::new();
                // Its recorder spawns an upkeep task, so it needs a runtime to be created in.
                static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
                let runtime = RUNTIME.get_or_init(|| {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(1)
                        .enable_all()
                        .build()
                        .expect("runtime")
                });
                let _context = runtime.enter();
                let layer = LAYER.get_or_init(|| axum_prometheus::PrometheusMetricLayer::pair().0);
                routes.route("/users/{id}", get(user)).layer(layer.clone())
            }
        }
    }
}

/// A variant's service: a router with its layers inside (`Left`), or this toolkit's layer around
/// the router, answering with axum's body type as `axum::serve` requires (`Right`).
pub type App = tower::util::Either<Router, Metrics<Router, AxumBody>>;

fn http_metrics() -> HttpServerMetrics {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    HttpServerMetrics::builder().register(&registry)
}

async fn user() -> &'static str {
    "a user"
}

#[autometrics::autometrics]
async fn autometrics_user() -> &'static str {
    "a user"
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandwrittenLabels {
    method: String,
    route: String,
    status: u16,
}

/// What a team writes by hand with prometheus-client: two families keyed by owned labels.
struct HandwrittenMetrics {
    requests: Family<HandwrittenLabels, Counter>,
    duration: Family<HandwrittenLabels, Histogram, fn() -> Histogram>,
}

impl Default for HandwrittenMetrics {
    fn default() -> Self {
        fn histogram() -> Histogram {
            Histogram::new(metrics_toolkit::metric::OTEL_HTTP_DURATION_SECONDS)
        }
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(histogram),
        }
    }
}

async fn handwritten(
    State(metrics): State<Arc<HandwrittenMetrics>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    let labels = HandwrittenLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .duration
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    response
}
