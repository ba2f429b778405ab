//! The HTTP server metrics: the `http_server_*` families (OpenTelemetry's HTTP semantic
//! conventions, in Prometheus form), their labels, and the recording API that the Tower layer,
//! or any other integration, drives: [`HttpServerMetrics::start_request`] returns an
//! [`ActiveRequest`] that records the request when it is finished or dropped.

mod active_request;
mod clock;
mod collector;
mod connections;
mod exemplar;
mod families;
mod grpc;
mod in_flight;
mod labels;
mod method;
mod outcome;
#[cfg(feature = "protobuf")]
mod protobuf;
mod protocol_version;
mod route;
mod route_series;
mod series;
mod series_key;
mod series_store;
mod server_metrics;
mod text;
mod url_scheme;

pub use active_request::ActiveRequest;
pub use connections::ConnectionGuard;
pub use exemplar::Exemplar;
pub use grpc::GrpcStatusLabel;
pub(crate) use method::MethodLabel;
pub use outcome::Outcome;
pub use route::Route;
pub use server_metrics::{
    HttpServerMetrics, HttpServerMetricsBuilder, DEFAULT_MAX_LABEL_SETS, UNMATCHED_ROUTE,
};
pub use url_scheme::UrlScheme;
