//! `health_check_status` and `health_check_duration_seconds` of the checks an exporter serves,
//! registered once per exporter whatever [`Exporter::health`](crate::Exporter::health) is
//! given later: registering each `HealthRegistry` would write its families twice in a scrape.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use metrics_toolkit::health::HealthRegistry;
use metrics_toolkit::prometheus_client::collector::Collector;
use metrics_toolkit::prometheus_client::encoding::DescriptorEncoder;

/// The registry's collector for the exporter's current health checks.
#[derive(Debug, Clone, Default)]
pub(crate) struct HealthMetrics {
    current: Arc<RwLock<Option<HealthRegistry>>>,
}

impl HealthMetrics {
    /// Exports `health`'s checks from now on, instead of the ones given before.
    pub(crate) fn set(&self, health: HealthRegistry) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(health);
    }
}

impl Collector for HealthMetrics {
    fn encode(&self, encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        // Cloned out (an `Arc`), so a scrape holds no lock while it encodes.
        let current = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match current {
            Some(health) => health.encode(encoder),
            None => Ok(()),
        }
    }
}
