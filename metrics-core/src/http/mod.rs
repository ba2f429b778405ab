//! The HTTP server metric contract (DESIGN section 3): names, labels and the recording API
//! that the Tower layer, or any other integration, drives.

mod collector;
mod method;
mod series;
mod server_metrics;

pub use method::MethodLabel;
pub use series::Outcome;
pub use server_metrics::{
    ActiveRequest, ConnectionGuard, HttpServerMetrics, HttpServerMetricsBuilder,
    DEFAULT_MAX_LABEL_SETS, UNMATCHED_ROUTE,
};
