//! A blackbox-style HTTP prober for configured targets (never an open `?target=`).
//!
//! Each target is probed on its own schedule (a period or a six-field cron expression) with
//! its own timeout, expected status and CA file; at most `concurrency` probes are in flight
//! across targets. Results are kept for scrapes as blackbox-exporter-compatible metrics
//! labelled by `target`: `probe_success`, `probe_duration_seconds`, `probe_http_status_code`,
//! `probe_http_duration_seconds{phase}`, `probe_ssl_earliest_cert_expiry`, plus
//! `probe_checks_total{result, cause}` and `probe_last_success_timestamp_seconds`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use std::time::Duration;
//! use metrics_toolkit::{Format, MetricsRegistry};
//! use metrics_exporter::prober::{ProbeTarget, Prober};
//!
//! let prober = Prober::new(
//!     vec![ProbeTarget::new("nowhere", "http://nowhere.invalid/").timeout(Duration::from_secs(1))],
//!     4,
//! )
//! .unwrap();
//! let registry = MetricsRegistry::builder().build().unwrap();
//! registry.register_collector(prober.clone());
//! prober.probe_all().await; // or prober.start() to probe on schedule
//! let text = registry.encode(Format::PrometheusText).unwrap();
//! assert!(text.contains("probe_success{target=\"nowhere\"} 0"));
//! assert!(text.contains("probe_checks_total{target=\"nowhere\",result=\"failure\",cause=\"dns\"} 1"));
//! # }
//! ```

mod cause;
mod config;
mod error;
mod metrics;
mod probe;
mod schedule;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::client::HttpGet;
use metrics_toolkit::prometheus_client::collector::Collector;
use metrics_toolkit::prometheus_client::encoding::DescriptorEncoder;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

pub use crate::client::HttpErrorKind;
pub use cause::FailureCause;
pub use config::{parse_target_file, parse_target_list, ProbeTarget};
pub use error::{TargetError, TargetErrorKind};
pub use probe::ProbeOutcome;
#[cfg(feature = "standalone")]
pub(crate) use schedule::{parse_positive_duration, SCHEDULE_FORMS};
pub use schedule::{Schedule, ScheduleError};

use metrics::TargetState;
use probe::PreparedTarget;

/// Probes configured targets in the background and exports the results as a collector.
///
/// Cheap to clone; clones share the targets and their results. The background tasks stop
/// when the prober and all its clones are dropped.
#[derive(Clone, Debug)]
pub struct Prober {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    targets: Vec<PreparedTarget>,
    states: Vec<Mutex<TargetState>>,
    permits: Semaphore,
    started: AtomicBool,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

impl Prober {
    /// A concurrency for [`new`](Self::new) that suits most: probes in flight at once, across
    /// targets.
    pub const DEFAULT_CONCURRENCY: usize = 16;

    /// Prepares `targets` (URLs parsed, CA files read), with at most `concurrency` probes in
    /// flight at once.
    pub fn new(targets: Vec<ProbeTarget>, concurrency: usize) -> Result<Self, TargetError> {
        if concurrency == 0 || concurrency > Semaphore::MAX_PERMITS {
            return Err(TargetError::new(
                TargetErrorKind::OutOfRange,
                format!(
                    "the probe concurrency must be between 1 and {}",
                    Semaphore::MAX_PERMITS
                ),
            ));
        }
        config::check_names(&targets)?;
        let mut prepared = Vec::with_capacity(targets.len());
        for target in targets {
            let name = &target.name;
            if target.timeout.is_zero() {
                return Err(TargetError::new(
                    TargetErrorKind::OutOfRange,
                    format!("target {name:?}: the timeout must be above zero"),
                ));
            }
            let get = match &target.ca_file {
                None => HttpGet::new(&target.url),
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|e| {
                        TargetError::new(
                            TargetErrorKind::Unreadable,
                            format!(
                                "target {name:?}: cannot read CA file {}: {e}",
                                path.display()
                            ),
                        )
                    })?;
                    HttpGet::with_ca_pem(&target.url, &pem)
                }
            }
            .map_err(|e| TargetError::new(TargetErrorKind::Url, format!("target {name:?}: {e}")))?;
            prepared.push(PreparedTarget {
                config: target,
                get,
            });
        }
        let states = prepared
            .iter()
            .map(|_| Mutex::new(TargetState::default()))
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                targets: prepared,
                states,
                permits: Semaphore::new(concurrency),
                started: AtomicBool::new(false),
                tasks: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The configured targets.
    pub fn targets(&self) -> impl Iterator<Item = &ProbeTarget> {
        self.inner.targets.iter().map(|t| &t.config)
    }

    /// Starts probing every target on its schedule, the first probe at once. Calling it again
    /// does nothing. Must be called inside a Tokio runtime; returns false otherwise.
    pub fn start(&self) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return true;
        }
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for index in 0..self.inner.targets.len() {
            // The tasks hold the prober weakly, so dropping the last handle ends them.
            let inner = Arc::downgrade(&self.inner);
            tasks.push(runtime.spawn(probe_forever(inner, index)).abort_handle());
        }
        true
    }

    /// Probes every target once (within the concurrency limit) and records the results.
    pub async fn probe_all(&self) {
        let handles: Vec<_> = (0..self.inner.targets.len())
            .map(|index| {
                let inner = Arc::clone(&self.inner);
                tokio::spawn(async move { inner.probe(index).await })
            })
            .collect();
        for handle in handles {
            let _ = handle.await;
        }
    }

    /// The last outcome for the target named `name`.
    pub fn last_outcome(&self, name: &str) -> Option<ProbeOutcome> {
        let index = self
            .inner
            .targets
            .iter()
            .position(|t| t.config.name == name)?;
        self.inner.states[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last
            .clone()
    }
}

impl Inner {
    /// One probe of target `index`, holding a concurrency permit, recorded.
    async fn probe(self: &Arc<Self>, index: usize) {
        let Ok(_permit) = self.permits.acquire().await else {
            return;
        };
        let outcome = self.targets[index].probe().await;
        self.states[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(outcome);
    }
}

async fn probe_forever(inner: std::sync::Weak<Inner>, index: usize) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let started = Instant::now();
        strong.probe(index).await;
        let wait = match &strong.targets[index].config.schedule {
            // A period between starts: a slow probe does not push the next one back.
            Schedule::Every(period) => period.saturating_sub(started.elapsed()),
            cron => cron.next_delay(),
        };
        drop(strong);
        tokio::time::sleep(wait).await;
    }
}

impl Collector for Prober {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        // Copy out under each lock, encode without holding any.
        let states: Vec<(String, TargetState)> = self
            .inner
            .targets
            .iter()
            .zip(&self.inner.states)
            .map(|(target, state)| {
                let state = state.lock().unwrap_or_else(PoisonError::into_inner).clone();
                (target.config.name.clone(), state)
            })
            .collect();
        metrics::encode(&mut encoder, &states)
    }
}
