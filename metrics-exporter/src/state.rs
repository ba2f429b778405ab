//! What the exporter's handlers share: the registry they encode, the health they report and
//! the bounds on a scrape.

use std::sync::Arc;
use std::time::Duration;

use metrics_toolkit::health::HealthRegistry;
use metrics_toolkit::MetricsRegistry;
use tokio::sync::Semaphore;

use crate::lifecycle::Lifecycle;
use crate::scrape_buffers::ScrapeBuffers;
use crate::self_metrics::SelfMetrics;

/// The handlers' state, cloned into each request (every field is cheap to clone).
#[derive(Clone, Debug)]
pub(crate) struct HandlerState {
    pub(crate) registry: MetricsRegistry,
    pub(crate) lifecycle: Lifecycle,
    pub(crate) metrics: SelfMetrics,
    /// Whether `/metrics` may answer gzip.
    #[cfg(feature = "gzip")]
    pub(crate) gzip: bool,
    /// The `serviceId` of `/health`.
    pub(crate) service_name: Arc<str>,
    pub(crate) health: HealthRegistry,
    pub(crate) health_details: bool,
    /// One permit per scrape being encoded (`Limits::max_concurrent_scrapes`).
    pub(crate) scrape_permits: Arc<Semaphore>,
    pub(crate) scrape_timeout: Duration,
    /// Buffers of earlier scrapes, written into again.
    pub(crate) buffers: Arc<ScrapeBuffers>,
}
