//! `MetricsLayer` around a whole `axum::Router` that was built without `metrics_axum::Router`
//! (say, by a library), with the route labels from a `RouteTable` of its templates given to
//! `MetricsLayer::routes`; and the optional time-to-first-byte histogram on. Where you build the
//! router yourself, the quickstart's `metrics_axum::Router` records the templates for you, at the
//! same cost per request.
//!
//! Run it with `cargo run --example around_router`, then:
//!
//! ```text
//! curl http://127.0.0.1:3000/users/42
//! curl http://127.0.0.1:3000/api/orders/7
//! curl http://127.0.0.1:9464/metrics
//! ```
//!
//! `APP_ADDR` and `METRICS_ADDR` change the addresses (defaults `127.0.0.1:3000` and
//! `127.0.0.1:9464`).

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use metrics_axum::{CountingListener, MetricsLayer, RouteTable, RouteTableError};
use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use tokio::net::TcpListener;
use tower_layer::Layer;

/// Every route of `router()`, nest prefixes included. A route missing here is recorded with
/// no route label, as requests that matched none are, so keep the two side by side.
pub const TEMPLATES: [&str; 2] = ["/users/{id}", "/api/orders/{id}"];

pub fn router() -> Router {
    let api = Router::new().route("/orders/{id}", get(order));
    Router::new()
        .route("/users/{id}", get(user))
        .nest("/api", api)
}

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}\n")
}

async fn order(Path(id): Path<u64>) -> String {
    format!("order {id}\n")
}

/// Serves the app on `app_listener` and the exporter on `metrics_listener` until `lifecycle`
/// shuts down.
pub async fn run(
    app_listener: TcpListener,
    metrics_listener: TcpListener,
    lifecycle: Lifecycle,
) -> std::io::Result<()> {
    let registry = MetricsRegistry::builder()
        .service_name("around-router")
        .build()
        .map_err(std::io::Error::other)?;
    // Time to first byte as well: slow heads and slow bodies told apart.
    let http = HttpServerMetrics::builder()
        .time_to_first_byte(true)
        .register(&registry);
    let routes =
        RouteTable::new(TEMPLATES).map_err(|e: RouteTableError| std::io::Error::other(e))?;
    // `axum_body()`: `axum::serve` takes services answering with axum's body type.
    let app = MetricsLayer::new(http.clone())
        .routes(routes)
        .axum_body()
        // `with_state(())` turns the handlers into services once, as
        // `Router::into_make_service` does, not on every request.
        .layer(router().with_state(()));

    let server = axum::serve(
        CountingListener::new(app_listener, http),
        app.into_make_service(),
    )
    .with_graceful_shutdown(lifecycle.drained());
    lifecycle.mark_ready();
    let exporter = Exporter::new(registry, lifecycle);
    let (served, exported) = tokio::join!(async { server.await }, exporter.serve(metrics_listener));
    served.and(exported)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app_addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let metrics_addr = std::env::var("METRICS_ADDR").unwrap_or_else(|_| "127.0.0.1:9464".into());
    let app_listener = TcpListener::bind(&app_addr).await?;
    let metrics_listener = TcpListener::bind(&metrics_addr).await?;
    println!("service on http://{}", app_listener.local_addr()?);
    println!(
        "metrics on http://{}/metrics",
        metrics_listener.local_addr()?
    );
    let lifecycle = Lifecycle::new();
    tokio::spawn(lifecycle.clone().shutdown_on_signals());
    run(app_listener, metrics_listener, lifecycle).await
}
