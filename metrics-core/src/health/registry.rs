//! The registry of checks, their background runs and the cached results.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::breaker::Breaker;
use super::check::{Group, HealthCheck, Kind};
use super::component_type::ComponentType;
use super::status::Status;

/// The cached result of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// Critical or not.
    pub kind: Kind,
    /// What the check looks at.
    pub component_type: ComponentType,
    /// `pass`; when failing, `fail` for a critical check and `warn` for a non-critical one.
    pub status: Status,
    /// How long the last run took (zero before the first run).
    pub duration: Duration,
    /// When the last result was recorded; `None` before the first run.
    pub time: Option<SystemTime>,
    /// Why it failed (or that the breaker is open); `None` when it passed.
    pub output: Option<String>,
    /// Whether the circuit breaker is open (the check is skipped).
    pub breaker_open: bool,
    /// How many times the check actually ran.
    pub runs: u64,
}

/// The status of a set of checks (the worst of them; `pass` for none) and their reports.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// The worst status among `checks`.
    pub status: Status,
    /// One report per check, in registration order.
    pub checks: Vec<CheckReport>,
}

/// A health configuration that was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthConfigError {
    /// Two checks have the same name.
    DuplicateName(String),
    /// A check has an empty name, or one with `/` or control characters.
    InvalidName(String),
    /// A check's timeout or interval is zero.
    ZeroDuration(String),
    /// [`HealthRegistry::start`] was called outside a Tokio runtime.
    NoRuntime,
}

impl fmt::Display for HealthConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateName(name) => write!(f, "two health checks are named {name:?}"),
            Self::InvalidName(name) => write!(
                f,
                "health check name {name:?} is invalid: use a non-empty name without '/' or control characters"
            ),
            Self::ZeroDuration(name) => {
                write!(f, "health check {name:?}: timeout and interval must be above zero")
            }
            Self::NoRuntime => f.write_str("health checks must be started inside a Tokio runtime"),
        }
    }
}

impl std::error::Error for HealthConfigError {}

/// Builds a [`HealthRegistry`].
#[derive(Debug, Default)]
pub struct HealthRegistryBuilder {
    checks: Vec<HealthCheck>,
}

impl HealthRegistryBuilder {
    /// Adds a check.
    pub fn check(mut self, check: HealthCheck) -> Self {
        self.checks.push(check);
        self
    }

    /// Validates the checks: unique, non-empty names without `/`; non-zero timeouts and
    /// intervals.
    pub fn build(self) -> Result<HealthRegistry, HealthConfigError> {
        let mut names = HashSet::new();
        for check in &self.checks {
            let name = &check.name;
            if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) {
                return Err(HealthConfigError::InvalidName(name.clone()));
            }
            if !names.insert(name.as_str()) {
                return Err(HealthConfigError::DuplicateName(name.clone()));
            }
            if check.timeout.is_zero() || check.interval.is_zero() {
                return Err(HealthConfigError::ZeroDuration(name.clone()));
            }
        }
        let (updated, _) = watch::channel(());
        let checks = self
            .checks
            .into_iter()
            .map(|check| {
                let pending = CheckReport {
                    name: check.name.clone(),
                    kind: check.kind,
                    component_type: check.component_type.clone(),
                    status: failing(check.kind),
                    duration: Duration::ZERO,
                    time: None,
                    output: Some("not run yet".to_owned()),
                    breaker_open: false,
                    runs: 0,
                };
                Arc::new(CheckState {
                    latest: ArcSwap::from_pointee(pending),
                    check,
                })
            })
            .collect();
        Ok(HealthRegistry {
            inner: Arc::new(Inner {
                checks,
                started: AtomicBool::new(false),
                tasks: Mutex::new(Vec::new()),
                updated,
            }),
        })
    }
}

/// The service's health checks, run in the background and cached.
///
/// Build it with [`builder`](Self::builder), [`start`](Self::start) it inside a Tokio runtime,
/// then read [`report`](Self::report)s: reading never runs a check. Each check runs at once on
/// start, then `interval` after the end of its previous run, bounded by its `timeout`; a panic
/// in a check counts as a failure. The background tasks stop when the registry and all its
/// clones are dropped.
///
/// It is also a prometheus-client collector: register it to export `health_check_status{check}`
/// (1 pass, 0.5 warn, 0 fail) and `health_check_duration_seconds{check}`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use metrics_toolkit::health::{HealthCheck, HealthRegistry, Status};
/// use metrics_toolkit::{Format, MetricsRegistry};
///
/// let health = HealthRegistry::builder()
///     .check(HealthCheck::new("always", || async { Ok(()) }))
///     .build()
///     .unwrap();
/// let metrics = MetricsRegistry::builder().build().unwrap();
/// metrics.register_collector(health.clone());
/// health.start().unwrap();
/// assert!(health.wait_for_first_round(Duration::from_secs(5)).await);
/// assert_eq!(health.report(None).status, Status::Pass);
/// let text = metrics.encode(Format::PrometheusText).unwrap();
/// assert!(text.contains("health_check_status{check=\"always\"} 1"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HealthRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    checks: Vec<Arc<CheckState>>,
    started: AtomicBool,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Bumped whenever a report changes, for [`HealthRegistry::wait_for_first_round`].
    updated: watch::Sender<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let tasks = self.tasks.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

#[derive(Debug)]
struct CheckState {
    check: HealthCheck,
    latest: ArcSwap<CheckReport>,
}

impl HealthRegistry {
    /// A builder; see [`HealthRegistryBuilder`].
    pub fn builder() -> HealthRegistryBuilder {
        HealthRegistryBuilder::default()
    }

    /// A registry without checks: always `pass`.
    pub fn empty() -> Self {
        Self::builder()
            .build()
            .unwrap_or_else(|_| unreachable!("no checks, nothing to reject"))
    }

    /// Starts running every check in the background on the current Tokio runtime. Calling it
    /// again does nothing.
    pub fn start(&self) -> Result<(), HealthConfigError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| HealthConfigError::NoRuntime)?;
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let mut tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for state in &self.inner.checks {
            let state = Arc::clone(state);
            let updated = self.inner.updated.clone();
            tasks.push(runtime.spawn(run_forever(state, updated)).abort_handle());
        }
        Ok(())
    }

    /// The cached reports of the checks in `group` (all checks for `None`), and their status.
    pub fn report(&self, group: Option<&Group>) -> HealthReport {
        let checks: Vec<CheckReport> = self
            .inner
            .checks
            .iter()
            .filter(|s| group.is_none_or(|g| s.check.groups.contains(g)))
            .map(|s| CheckReport::clone(&s.latest.load()))
            .collect();
        let status = checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Pass);
        HealthReport { status, checks }
    }

    /// The cached report of the check called `name`.
    pub fn check(&self, name: &str) -> Option<CheckReport> {
        self.inner
            .checks
            .iter()
            .find(|s| s.check.name == name)
            .map(|s| CheckReport::clone(&s.latest.load()))
    }

    /// Whether any check is registered.
    pub fn is_empty(&self) -> bool {
        self.inner.checks.is_empty()
    }

    /// Waits until every check has a result (or `timeout` passes); returns whether all have.
    pub async fn wait_for_first_round(&self, timeout: Duration) -> bool {
        let mut updated = self.inner.updated.subscribe();
        let all_done = |registry: &Self| {
            registry
                .inner
                .checks
                .iter()
                .all(|s| s.latest.load().time.is_some())
        };
        tokio::time::timeout(timeout, async {
            while !all_done(self) {
                if updated.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
        .is_ok()
            && all_done(self)
    }

    pub(crate) fn for_each_report(&self, mut f: impl FnMut(&CheckReport)) {
        for state in &self.inner.checks {
            f(&state.latest.load());
        }
    }
}

fn failing(kind: Kind) -> Status {
    match kind {
        Kind::Critical => Status::Fail,
        Kind::NonCritical => Status::Warn,
    }
}

/// Runs one check forever: run (unless the breaker is open), record, wait.
async fn run_forever(state: Arc<CheckState>, updated: watch::Sender<()>) {
    let check = &state.check;
    let mut breaker = Breaker::new(check.breaker);
    let mut runs = 0u64;
    let mut last_duration = Duration::ZERO;
    loop {
        let report = match breaker.allows(Instant::now()) {
            Ok(()) => {
                let started = Instant::now();
                let outcome = run_once(check).await;
                last_duration = started.elapsed();
                runs += 1;
                breaker.record(outcome.is_ok(), Instant::now());
                CheckReport {
                    name: check.name.clone(),
                    kind: check.kind,
                    component_type: check.component_type.clone(),
                    status: if outcome.is_ok() {
                        Status::Pass
                    } else {
                        failing(check.kind)
                    },
                    duration: last_duration,
                    time: Some(SystemTime::now()),
                    output: outcome.err(),
                    breaker_open: false,
                    runs,
                }
            }
            Err(until) => CheckReport {
                name: check.name.clone(),
                kind: check.kind,
                component_type: check.component_type.clone(),
                status: failing(check.kind),
                duration: last_duration,
                time: Some(SystemTime::now()),
                output: Some(format!(
                    "circuit open after {} consecutive failures: skipped for {:?}",
                    breaker.consecutive_failures(),
                    until.saturating_duration_since(Instant::now())
                )),
                breaker_open: true,
                runs,
            },
        };
        state.latest.store(Arc::new(report));
        updated.send_replace(());
        let wait = match breaker.allows(Instant::now()) {
            // Open: report it now, try again once the cooldown ends.
            Err(until) if state.latest.load().breaker_open => {
                until.saturating_duration_since(Instant::now())
            }
            Err(_) => Duration::ZERO,
            Ok(()) => check.interval,
        };
        tokio::time::sleep(wait).await;
    }
}

/// One run within the timeout; a panic in the check, while its future is built or while it
/// runs, is a failure with the panic's message, not a dead loop.
async fn run_once(check: &HealthCheck) -> Result<(), String> {
    let run = Arc::clone(&check.run);
    // The closure is called inside the task, so that a panic building the future is caught
    // with the rest.
    let mut task = tokio::spawn(async move { run().await });
    match tokio::time::timeout(check.timeout, &mut task).await {
        Ok(Ok(outcome)) => outcome.map_err(|error| error.to_string()),
        Ok(Err(error)) => Err(panic_output(error)),
        Err(_) => {
            task.abort();
            Err(format!("timed out after {:?}", check.timeout))
        }
    }
}

/// What a failed check task reports: its panic message where there is one.
fn panic_output(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return "the check was cancelled".to_owned();
    }
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    match message {
        Some(message) => format!("the check panicked: {message}"),
        None => "the check panicked".to_owned(),
    }
}
