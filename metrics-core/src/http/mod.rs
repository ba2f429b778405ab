//! The HTTP server metric contract (DESIGN section 3): names, labels and the recording API
//! that the Tower layer, or any other integration, drives.

mod active_request;
mod clock;
mod collector;
mod counters;
mod grpc;
mod method;
mod route;
mod series;
mod server_metrics;
mod text;

pub use active_request::{ActiveRequest, ConnectionGuard};
pub use grpc::GrpcStatusLabel;
pub use method::MethodLabel;
pub use route::RouteHandle;
pub use series::Outcome;
pub use server_metrics::{
    HttpServerMetrics, HttpServerMetricsBuilder, DEFAULT_MAX_LABEL_SETS, UNMATCHED_ROUTE,
};
