//! A test app on a real TCP server: the layer, a counting listener and an exporter on its own
//! port, all bound to 127.0.0.1:0 and stopped when dropped.

#![allow(dead_code)]

pub mod in_process;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use metrics_axum::{CountingListener, MetricsLayer};
use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use test_support::Scrape;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The templates of `routes()`, for a `RouteTable`.
pub const TEMPLATES: [&str; 5] = [
    "/users/{id}",
    "/status/{code}",
    "/stream/{ms}",
    "/sleep/{ms}",
    "/api/v1/items/{id}",
];

/// Routes covering templates, a nest, chosen statuses, slow heads and slow bodies.
pub fn routes() -> Router {
    let api = Router::new().route("/items/{id}", get(ok).put(ok));
    Router::new()
        .route("/users/{id}", get(ok).post(ok).delete(ok))
        .route("/status/{code}", get(status))
        .route("/stream/{ms}", get(stream))
        .route("/sleep/{ms}", get(sleep))
        .nest("/api/v1", api)
}

async fn ok() -> &'static str {
    "ok"
}

async fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

/// Sends ten chunks spread over `ms` milliseconds.
async fn stream(Path(ms): Path<u64>) -> Body {
    let pause = Duration::from_millis(ms / 10);
    let chunks = futures_util::stream::unfold(0u8, move |sent| async move {
        if sent == 10 {
            return None;
        }
        tokio::time::sleep(pause).await;
        Some((
            Ok::<_, Infallible>(Bytes::from_static(b"chunk\n")),
            sent + 1,
        ))
    });
    Body::from_stream(chunks)
}

async fn sleep(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "slept"
}

pub struct TestServer {
    pub app: SocketAddr,
    pub metrics: SocketAddr,
    pub http: HttpServerMetrics,
    pub registry: MetricsRegistry,
    lifecycle: Lifecycle,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Serves `routes()` with the layer.
    pub async fn start() -> Self {
        Self::start_with(
            |router, layer| router.layer(layer),
            HttpServerMetrics::builder(),
        )
        .await
    }

    /// Serves `routes()` arranged by `arrange` (which must apply the layer it is given).
    pub async fn start_with<S>(
        arrange: impl FnOnce(Router, MetricsLayer) -> S,
        builder: metrics_toolkit::http::HttpServerMetricsBuilder,
    ) -> Self
    where
        S: tower::Service<axum::extract::Request, Response = axum::response::Response>
            + Clone
            + Send
            + 'static,
        S::Future: Send,
        S::Error: Into<Infallible>,
    {
        let registry = MetricsRegistry::builder()
            .service_name("test")
            .build()
            .expect("registry");
        let http = builder.register(&registry);
        let lifecycle = Lifecycle::new();
        let exporter = Exporter::new(registry.clone(), lifecycle.clone());
        let service = arrange(routes(), MetricsLayer::new(http.clone()));
        let service = tower::ServiceExt::map_err(service, Into::into);
        let app_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let metrics_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind metrics");
        let app = app_listener.local_addr().expect("app addr");
        let metrics = metrics_listener.local_addr().expect("metrics addr");
        let shutdown = lifecycle.drained();
        let counted = CountingListener::new(app_listener, http.clone());
        let task = tokio::spawn(async move {
            let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
            let app_server = axum::serve(counted, service).with_graceful_shutdown(shutdown);
            let _ = tokio::join!(async { app_server.await }, exporter.serve(metrics_listener));
        });
        lifecycle.mark_ready();
        Self {
            app,
            metrics,
            http,
            registry,
            lifecycle,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.app, path)
    }

    /// Scrapes the exporter's `/metrics` as a plain client (0.0.4 text).
    pub async fn scrape(&self) -> Scrape {
        let text = reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("scrape body");
        Scrape::parse(&text)
    }

    /// Scrapes until `done` holds or five seconds pass; returns the last scrape.
    pub async fn scrape_until(&self, done: impl Fn(&Scrape) -> bool) -> Scrape {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let scrape = self.scrape().await;
            if done(&scrape) || tokio::time::Instant::now() > deadline {
                return scrape;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.lifecycle.begin_shutdown();
        self.task.abort();
    }
}

pub const REQUESTS: &str = "http_server_requests_total";
pub const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";
pub const DURATION_BUCKET: &str = "http_server_request_duration_seconds_bucket";
pub const ACTIVE: &str = "http_server_active_requests";
