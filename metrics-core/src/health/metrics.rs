//! Health as metrics: `health_check_status` and `health_check_duration_seconds`.

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::registry::HealthRegistry;

impl Collector for HealthRegistry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        if self.is_empty() {
            return Ok(());
        }
        let mut reports = Vec::new();
        self.for_each_report(|report| {
            reports.push((report.name.clone(), report.status, report.duration))
        });
        let mut status = encoder.encode_descriptor(
            "health_check_status",
            "Cached result of each health check: 1 pass, 0.5 warn, 0 fail.",
            None,
            MetricType::Gauge,
        )?;
        for (name, value, _) in &reports {
            status
                .encode_family(&[("check", name.as_str())])?
                .encode_gauge(&value.as_metric())?;
        }
        let mut duration = encoder.encode_descriptor(
            "health_check_duration",
            "Duration of each health check's last run.",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (name, _, took) in &reports {
            duration
                .encode_family(&[("check", name.as_str())])?
                .encode_gauge(&took.as_secs_f64())?;
        }
        Ok(())
    }
}
