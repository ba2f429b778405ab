//! The `build_info` gauge.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

/// `build_info{version, revision, service_name} 1`: joins any series to the build that made it.
///
/// Registered by [`MetricsRegistryBuilder::build`](crate::MetricsRegistryBuilder::build).
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// The `version` label, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// The `revision` label, e.g. a git commit.
    pub revision: String,
    /// The `service_name` label.
    pub service_name: String,
}

impl Collector for BuildInfo {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let labels = [
            ("version", self.version.as_str()),
            ("revision", self.revision.as_str()),
            ("service_name", self.service_name.as_str()),
        ];
        encoder
            .encode_descriptor(
                "build_info",
                "A metric with a constant '1' value labelled by version, revision and service name.",
                None,
                MetricType::Gauge,
            )?
            .encode_family(&labels)?
            .encode_gauge(&1i64)
    }
}
