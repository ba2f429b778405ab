//! Serves `/metrics`, `/health`, `/live`, `/ready` and a landing page `/` for a
//! [`MetricsRegistry`](metrics_toolkit::MetricsRegistry), on the app's port or its own, with
//! graceful shutdown.
//!
//! - `/metrics` answers OpenMetrics 1.0 when the scraper prefers it (Prometheus does), else
//!   Prometheus text 0.0.4, always with the exact `Content-Type`, gzip-compressed when accepted.
//! - `/ready` is 503 during startup and from the shutdown signal on, and follows the `ready`
//!   health checks; `/startup` follows the `startup` checks; `/live` never checks dependencies;
//!   `/health` answers `application/health+json` from cached check results
//!   ([`metrics_toolkit::health`]).
//! - [`security`] protects the routes on their own: bearer token, basic auth and TLS from a
//!   Prometheus `web-config.yml`, a client IP allow-list, and limits on concurrent scrapes,
//!   encoding time and header size, with `exporter_scrapes_total{result}` counting outcomes.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use metrics_toolkit::MetricsRegistry;
//! use metrics_exporter::{Exporter, Lifecycle};
//!
//! let registry = MetricsRegistry::builder().service_name("worker").build().unwrap();
//! let lifecycle = Lifecycle::new();
//! tokio::spawn(lifecycle.clone().shutdown_on_signals());
//! lifecycle.mark_ready();
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:9464").await?;
//! Exporter::new(registry, lifecycle).serve(listener).await
//! # }
//! ```
//!
//! # Features
//!
//! The defaults serve `/metrics` (with the `process_*` metrics), `/health`, `/live` and `/ready`
//! with gzip; the rest is opt-in.
//!
//! - `gzip` (default): `/metrics` answers gzip when accepted ([`Exporter::gzip`]; flate2).
//! - `protobuf`: `/metrics` answers the protobuf exposition (`io.prometheus.client`, delimited)
//!   when the scraper prefers it, as a Prometheus with native histograms on does
//!   (metrics-toolkit's `protobuf`).
//! - `http2`: HTTP/2 on [`Exporter::serve`]'s listener (prior knowledge, and `h2` in ALPN with
//!   `tls`); without it the listener speaks HTTP/1.1, as Prometheus scrapes by default.
//! - `tls`: HTTPS on [`Exporter::serve`] (`Exporter::tls`, `security::TlsConfig`; rustls).
//! - `basic-auth`: Basic auth with bcrypt hashes (`security::Security::basic_auth_user`).
//! - `web-config`: a Prometheus `web-config.yml` (`security::WebConfig`); implies `tls` and
//!   `basic-auth`.
//! - `http-check`: `checks::http_get`, a health check that GETs a URL (hyper's client, rustls).
//! - `prober`: the blackbox-style `prober` (cron schedules, TOML targets, certificate expiry);
//!   implies `http-check`.
//! - `process` (default): metrics-toolkit's `process_*` collector (from `/proc` on Linux).
//! - `system`: metrics-toolkit's host `system_*` collector (sysinfo).
//! - `standalone`: what the `metrics-exporter` binary needs (`standalone`); implies all of the
//!   above.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "http-check")]
#[cfg_attr(docsrs, doc(cfg(feature = "http-check")))]
pub mod checks;
// The timed HTTP client of the HTTP check and the prober: internal, its errors are re-exported
// where they appear (`checks::UrlError`, `prober::HttpErrorKind`).
// Parts of it (timings, certificates, credentials in target URLs) serve only the prober.
#[cfg(feature = "http-check")]
#[cfg_attr(not(feature = "prober"), allow(dead_code, unused_imports))]
mod client;
mod exporter;
mod handlers;
mod health_metrics;
mod lifecycle;
#[cfg(feature = "prober")]
#[cfg_attr(docsrs, doc(cfg(feature = "prober")))]
pub mod prober;
mod response;
mod scrape_buffers;
pub mod security;
mod self_metrics;
mod server;
#[cfg(feature = "standalone")]
#[cfg_attr(docsrs, doc(cfg(feature = "standalone")))]
pub mod standalone;
mod state;

pub use exporter::{Exporter, TelemetryPathError, DEFAULT_ADDR, DEFAULT_TELEMETRY_PATH};
pub use lifecycle::{Lifecycle, Phase};
