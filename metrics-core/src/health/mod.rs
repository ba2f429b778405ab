//! Health checks: async, each with a timeout, run in the background on an interval and cached,
//! critical or not, grouped (`live`, `ready`, `startup`, custom), behind a circuit breaker.
//!
//! A request for health never runs a check: it reads the cached results
//! ([`HealthRegistry::report`]), so `/health` stays fast and a dependency sees at most one
//! check per interval however often health is asked for.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use metrics_toolkit::health::{Group, HealthCheck, HealthRegistry, Status};
//!
//! let health = HealthRegistry::builder()
//!     .check(
//!         HealthCheck::new("database", || async {
//!             // e.g. `pool.ping().await.map_err(|e| e.to_string())`
//!             Ok(())
//!         })
//!         .timeout(Duration::from_secs(2))
//!         .interval(Duration::from_secs(10)),
//!     )
//!     .check(HealthCheck::tcp("cache", "127.0.0.1:1").non_critical())
//!     .build()
//!     .unwrap();
//! health.start().unwrap();
//! health.wait_for_first_round(Duration::from_secs(5)).await;
//! let ready = health.report(Some(&Group::Ready));
//! // The cache refuses connections: not critical, so the service warns.
//! assert_eq!(ready.status, Status::Warn);
//! # }
//! ```

mod breaker;
mod check;
mod component_type;
mod metrics;
mod registry;
mod status;
mod tcp;

pub use breaker::BreakerConfig;
pub use check::{BoxError, CheckFuture, Group, HealthCheck, Kind};
pub use component_type::ComponentType;
pub use registry::{
    CheckReport, HealthConfigError, HealthRegistry, HealthRegistryBuilder, HealthReport,
};
pub use status::Status;
