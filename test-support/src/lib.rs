//! Helpers for the workspace's integration tests: parsing scrapes, talking HTTP over raw TCP,
//! and running the real Prometheus and promtool binaries.

pub mod binaries;
pub mod prometheus;
pub mod promtool;
pub mod raw_http;
pub mod scrape;

pub use scrape::Scrape;
