//! A blackbox-style HTTP prober for configured targets (never an open `?target=`).
//!
//! Each target is probed on its own schedule (a period or a cron expression of five or six
//! fields) with the options of the blackbox exporter's HTTP prober ([`ProbeTarget`]: method,
//! headers, body, valid status codes, redirects, preferred IP protocol, body size limit and
//! regular expressions, TLS conditions); at most `concurrency` probes are in flight across
//! targets. Results are kept for scrapes as the blackbox exporter's per-probe series, each
//! labelled by `target` (`probe_success`, `probe_duration_seconds`, `probe_http_*`,
//! `probe_ssl_*`, `probe_tls_*`, `probe_ip_*`, `probe_dns_lookup_time_seconds`,
//! `probe_failed_due_to_regex`), plus `probe_checks_total{result, cause}` and
//! `probe_last_success_timestamp_seconds`.
//!
//! Logs (`tracing`, target `metrics_exporter::prober`): every probe at debug; a failure at
//! warn once per change of state (up to down, or a new cause), the recovery at info, so a
//! target down for a day writes one line.
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

use metrics_toolkit::prometheus_client::collector::Collector;
use metrics_toolkit::prometheus_client::encoding::DescriptorEncoder;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

pub use crate::client::{
    HttpErrorKind, IpProtocol, IpProtocolError, LeafCertificate, Timings, TlsInfo,
};
pub use cause::FailureCause;
pub use config::{parse_target_file, parse_target_list, Compression, ProbeTarget};
pub use error::{TargetError, TargetErrorKind};
pub use probe::ProbeOutcome;
#[cfg(feature = "standalone")]
pub(crate) use schedule::{parse_positive_duration, SCHEDULE_FORMS};
pub use schedule::{CronExpression, Schedule, ScheduleError};

use metrics::{Change, TargetState};
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
        let prepared = targets
            .into_iter()
            .map(PreparedTarget::new)
            .collect::<Result<Vec<_>, _>>()?;
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
        let target = &self.targets[index];
        let outcome = target.probe().await;
        let name = target.config.name.as_str();
        tracing::debug!(
            target = %name,
            success = outcome.success,
            duration_seconds = outcome.duration.as_secs_f64(),
            status = outcome.status_code.unwrap_or(0),
            cause = outcome.cause.map_or("", FailureCause::as_str),
            detail = %outcome.message,
            "probed"
        );
        let change = self.states[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(outcome);
        // Logged outside the lock; one line per change of state, never one per probe.
        match change {
            Change::None => {}
            Change::Down { cause, message } => {
                tracing::warn!(target = %name, cause = %cause, detail = %message, "probe failed");
            }
            Change::Up => tracing::info!(target = %name, "probe succeeded again"),
        }
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
