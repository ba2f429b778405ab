//! Exposition: the formats `/metrics` speaks and how a registry is rendered in each.

mod format;
mod text004;

pub use format::Format;
pub use text004::openmetrics_to_prometheus_text;
