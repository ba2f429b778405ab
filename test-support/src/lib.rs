//! Helpers for the workspace's integration tests: parsing scrapes, talking HTTP over raw TCP,
//! generating certificates, running the real Prometheus, promtool and Alertmanager binaries,
//! the `deploy/` stack and its scale-out path (agents, VictoriaMetrics, vmalert), and a webhook
//! receiver for its notifications.

pub mod binaries;
pub mod deploy;
pub mod openmetrics;
pub mod pki;
pub mod poll;
pub mod prometheus;
pub mod promtool;
pub mod raw_http;
pub mod scale;
pub mod scrape;
pub mod stack_checks;
pub mod tls_server;
pub mod webhook;

pub use poll::poll_until;
pub use scrape::{request_labels, unmatched_request_labels, Scrape};
