//! The metric contract and the fast metric types behind the toolkit.
//!
//! - [`http`]: the `http_server_*` families and the recording API the Tower
//!   layer drives: [`HttpServerMetrics`], [`ActiveRequest`](http::ActiveRequest).
//! - [`metric`]: lock-free types that plug into prometheus-client's registry and encoders.
//! - [`collectors`]: `build_info`, and with their features `process_*` and host `system_*`
//!   metrics.
//! - `health` (feature `health`): health checks run in the background, cached, with a circuit
//!   breaker.
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
//!
//! # Features
//!
//! None is on by default: recording and encoding need none of them.
//!
//! - `health`: [`health`], checks run in the background and cached, and the TCP check (tokio).
//! - `process`: [`collectors::ProcessCollector`], the `process_*` metrics, registered by
//!   [`MetricsRegistryBuilder::process_metrics`]. Read from /proc on Linux with no
//!   dependency; elsewhere read with sysinfo, which needs `system` too.
//! - `system`: [`collectors::SystemCollector`], host `system_*` metrics (sysinfo).
//! - `protobuf`: [`Format::Protobuf`], the protobuf exposition (`io.prometheus.client`,
//!   delimited) that native histograms are scraped in (prometheus-client's protobuf encoder,
//!   built with protox: no `protoc`).
//!
//! Exemplars ([`http::Exemplar`]), `_created`, Prometheus 3 negotiation
//! ([`encoding::Exposition`]) and native histogram buckets ([`metric::NativeBuckets`]) need no
//! feature; native histograms are only scraped over protobuf.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod collectors;
pub mod encoding;
#[cfg(feature = "health")]
#[cfg_attr(docsrs, doc(cfg(feature = "health")))]
pub mod health;
pub mod http;
pub mod metric;
mod registry;

pub use encoding::Format;
pub use http::HttpServerMetrics;
pub use registry::{ConfigError, MetricsRegistry, MetricsRegistryBuilder};

/// Re-exported so users can register their own metrics without a version mismatch.
pub use prometheus_client;
