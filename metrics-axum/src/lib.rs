//! A Tower layer recording Prometheus HTTP server metrics, in the style of tower-http.
//!
//! [`MetricsLayer`] records, for any `Service<http::Request<B>>` (axum, hyper, tonic):
//! `http_server_request_duration_seconds` (histogram, until the end of the response body),
//! `http_server_requests_total` and `http_server_active_requests`, labelled by route template,
//! method and status (and for gRPC calls the `grpc-status`, from headers or trailers, as
//! `rpc_grpc_status_code`). [`CountingListener`] (or [`CountedIo`]) adds
//! `http_server_active_connections` and `http_server_connections_total`.
//!
//! With axum, build the routes with this crate's [`Router`] (axum's methods, forwarded to an
//! `axum::Router`): it records each route template as it is added, nest prefixes included, and
//! [`Router::with_metrics`] puts the layer around the whole router, where it costs least.
//!
//! ```
//! use axum::routing::get;
//! use metrics_axum::{MetricsLayer, Router};
//! use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
//!
//! # async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
//! let registry = MetricsRegistry::builder().service_name("shop").build().unwrap();
//! let http = HttpServerMetrics::builder().register(&registry);
//! let app = Router::new()
//!     .route("/items/{id}", get(|| async { "item" }))
//!     .with_metrics(MetricsLayer::new(http));
//! axum::serve(listener, app.into_make_service()).await
//! # }
//! ```
//!
//! Other placements, the same metrics:
//!
//! - **inside an `axum::Router`**, `Router::layer(MetricsLayer::new(http))`: the route label is
//!   axum's `MatchedPath`, with nothing to configure, but axum's `Router::layer` boxes every
//!   route's service, future and body once more per request (about twice the cost);
//! - **around any service**, `MetricsLayer::new(http).routes(RouteTable::new([..])?)
//!   .layer(service)`: the layer matches the path against a [`RouteTable`] itself (hyper,
//!   tonic); [`route_extractor`](MetricsLayer::route_extractor) takes a [`RouteExtractor`] of
//!   your own instead. See [`MetricsLayer`].
//!
//! Recording takes no lock and allocates nothing once a label set has been seen. Requests whose
//! client disconnects are recorded with `error_type="aborted"`; the in-flight gauge is released
//! in every case. To have handler panics recorded as 500s, add tower-http's `CatchPanicLayer`
//! *before* this layer (`.layer(CatchPanicLayer::new()).layer(MetricsLayer::new(http))`), so it
//! runs inside it.
//!
//! # Features
//!
//! - `axum` (default): route labels from axum's `MatchedPath` ([`MatchedPathRoute`]), axum's
//!   body type ([`AxumBody`]) and [`CountingListener`]. Turns on axum's `matched-path`,
//!   `tokio` and `http1` only; `http2` and tokio's `macros`/`signal` stay the application's
//!   choice. Without it the layer serves any `Service<http::Request<B>>` (hyper, tonic).
//! - `opentelemetry`: [`Exemplars`] read the current OpenTelemetry span (opentelemetry 0.33, its
//!   trace API only).
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod exclusions;
mod exemplars;
mod future;
mod grpc;
mod layer;
mod listener;
mod output;
mod route;
#[cfg(feature = "axum")]
mod router;
mod service;

pub use body::ResponseBody;
pub use exclusions::Exclusions;
pub use exemplars::Exemplars;
pub use future::ResponseFuture;
pub use layer::MetricsLayer;
pub use listener::CountedIo;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use listener::CountingListener;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use output::AxumBody;
pub use output::{OutputBody, Wrapped};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use route::MatchedPathRoute;
pub use route::{NoRoute, RouteExtractor, RouteTable, RouteTableError};
#[cfg(feature = "axum")]
pub use router::Router;
pub use service::Metrics;
