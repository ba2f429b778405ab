//! The metric contract and the fast metric types behind the toolkit.
//!
//! - [`http`]: the `http_server_*` families (DESIGN section 3) and the recording API the Tower
//!   layer drives: [`HttpServerMetrics`], [`ActiveRequest`](http::ActiveRequest).
//! - [`metric`]: lock-free types that plug into prometheus-client's registry and encoders.
//! - [`collectors`]: `process_*`, `build_info` and host `system_*` metrics.
//! - [`health`]: health checks run in the background, cached, with a circuit breaker.
//! - [`net`]: a GET client timed by phase, for HTTP checks and probes.
//! - [`MetricsRegistry`]: a shareable prometheus-client registry, encoded as OpenMetrics or
//!   Prometheus text 0.0.4 ([`Format`]).
//!
//! ```
//! use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
//!
//! let registry = MetricsRegistry::builder().service_name("api").build().unwrap();
//! let http = HttpServerMetrics::builder().register(&registry);
//! drop(http.start_request(&http::Method::GET, Some("/")));
//! let text = registry.encode(Format::PrometheusText).unwrap();
//! assert!(text.contains(r#"error_type="aborted""#));
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod collectors;
pub mod encoding;
pub mod health;
pub mod http;
pub mod metric;
pub mod net;
mod registry;

pub use encoding::Format;
pub use http::HttpServerMetrics;
pub use registry::{ConfigError, MetricsRegistry, MetricsRegistryBuilder};

/// Re-exported so users can register their own metrics without a version mismatch.
pub use prometheus_client;
