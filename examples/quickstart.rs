//! Quickstart: an axum service instrumented by `MetricsLayer` around its whole router (the
//! routes are added to `metrics_axum::Router`, which records their templates), with `/metrics`,
//! `/health`, `/live` and `/ready` on a separate port, a health check, host metrics, and
//! graceful shutdown on Ctrl-C or SIGTERM.
//!
//! Run it with `cargo run --example quickstart`, then:
//!
//! ```text
//! curl http://127.0.0.1:3000/users/42
//! curl http://127.0.0.1:9464/metrics
//! curl http://127.0.0.1:9464/health?verbose
//! # a sampled trace becomes its latency bucket's exemplar, shown in OpenMetrics:
//! curl -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' http://127.0.0.1:3000/users/42
//! curl -H 'Accept: application/openmetrics-text' http://127.0.0.1:9464/metrics
//! ```
//!
//! `APP_ADDR` and `METRICS_ADDR` change the addresses (defaults `127.0.0.1:3000` and
//! `127.0.0.1:9464`).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_axum::{AxumBody, CountingListener, Exemplars, Metrics, MetricsLayer, Router};
use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::collectors::SystemCollector;
use metrics_toolkit::health::{ComponentType, HealthCheck, HealthRegistry};
use metrics_toolkit::metric::NativeBuckets;
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use tokio::net::TcpListener;

/// The demo service: a templated route, a nested router, a slow streaming route and a failing
/// one, with the metrics layer around the whole router. `metrics_axum::Router` takes axum's
/// methods and records each route's template (`/api/orders/{id}` for the nested one) as it is
/// added, so the layer labels every request by route with no list of routes to keep in sync.
pub fn app(http: HttpServerMetrics) -> Metrics<axum::Router, AxumBody> {
    Router::new()
        .route(
            "/",
            get(|| async { "quickstart: try /users/42, /slow, /fail, /api/orders/7\n" }),
        )
        .route("/users/{id}", get(user))
        .route("/slow", get(slow))
        .route("/fail", get(fail))
        .nest("/api", api())
        // Each latency bucket keeps the trace (sampled `traceparent`) that landed in it last.
        .with_metrics(MetricsLayer::new(http).exemplars(Exemplars::new()))
}

/// A router built on its own, as another module would: its templates come along with `nest`.
fn api() -> Router {
    Router::new().route("/orders/{id}", get(order))
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

async fn order(Path(id): Path<u64>) -> String {
    format!("order {id}\n")
}

/// Streams its body in three parts over about 300 ms: the recorded duration covers all of it.
async fn slow() -> Body {
    let parts = futures_util::stream::unfold(0u8, |sent| async move {
        if sent == 3 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, Infallible>(Bytes::from(format!("part {sent}\n"))),
            sent + 1,
        ))
    });
    Body::from_stream(parts)
}

async fn fail() -> (StatusCode, &'static str) {
    (StatusCode::INTERNAL_SERVER_ERROR, "something broke\n")
}

/// Serves the app on `app_listener` and the exporter on `metrics_listener` until `lifecycle`
/// has drained.
pub async fn run(
    app_listener: TcpListener,
    metrics_listener: TcpListener,
    lifecycle: Lifecycle,
) -> std::io::Result<()> {
    let registry = MetricsRegistry::builder()
        .service_name("quickstart") // build_info and /health's serviceId
        .version(env!("CARGO_PKG_VERSION"))
        .build()
        .map_err(std::io::Error::other)?;
    // Native histograms beside the classic buckets: scraped over protobuf by a Prometheus
    // with native histograms on; text scrapers still see the classic buckets.
    let http = HttpServerMetrics::builder()
        .native_histograms(NativeBuckets::default())
        .register(&registry);
    // Host metrics, read every 10 s in the background.
    registry.register_collector(SystemCollector::start(Duration::from_secs(10)));
    // A closure check runs anything async: here it stands in for a database ping
    // (`pool.ping().await.map_err(|e| e.to_string())`). Checks run in the background every
    // interval; /health and /ready read the cached result.
    let health = HealthRegistry::builder()
        .check(
            HealthCheck::new("database", || async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(())
            })
            .component_type(ComponentType::Datastore)
            .timeout(Duration::from_secs(1))
            .interval(Duration::from_secs(5)),
        )
        .build()
        .map_err(std::io::Error::other)?;
    health.start().map_err(std::io::Error::other)?;
    // `/health` reports the registry's service name.
    let exporter = Exporter::new(registry, lifecycle.clone()).health(health.clone());

    let app_server = axum::serve(
        CountingListener::new(app_listener, http.clone()),
        app(http).into_make_service(),
    )
    .with_graceful_shutdown(lifecycle.drained());
    // Ready once every check has a first result (a critical check without one fails /ready).
    health.wait_for_first_round(Duration::from_secs(5)).await;
    lifecycle.mark_ready();
    let (app_result, exporter_result) =
        tokio::join!(async { app_server.await }, exporter.serve(metrics_listener));
    app_result.and(exporter_result)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app_addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let metrics_addr =
        std::env::var("METRICS_ADDR").unwrap_or_else(|_| "127.0.0.1:9464".to_owned());
    let bind = |addr: String, name: &'static str| async move {
        TcpListener::bind(&addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("{name}: cannot listen on {addr}: {e}"))
        })
    };
    let app_listener = bind(app_addr, "APP_ADDR").await?;
    let metrics_listener = bind(metrics_addr, "METRICS_ADDR").await?;
    println!("service: http://{}/", app_listener.local_addr()?);
    println!("metrics: http://{}/metrics", metrics_listener.local_addr()?);

    // Readiness turns 503 at the signal; then listeners close and in-flight requests finish.
    let lifecycle = Lifecycle::new().drain_delay(Duration::from_secs(1));
    tokio::spawn(lifecycle.clone().shutdown_on_signals());
    run(app_listener, metrics_listener, lifecycle).await
}
