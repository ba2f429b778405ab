//! One health check: what runs, and how it is scheduled and judged.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::breaker::BreakerConfig;
use super::component_type::ComponentType;

/// An error of any type, boxed (as tower's `BoxError`): what a failed check returns. Its
/// `Display` is the check's output in the report.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a check runs: `Ok(())` passes, `Err(error)` fails, explained by the error's
/// `Display`.
pub type CheckFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

type CheckFn = dyn Fn() -> CheckFuture + Send + Sync;

/// What a failing check does to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A failure makes the service fail (`/health` 503, not ready).
    Critical,
    /// A failure makes the service warn (`/health` 200 with `warn`).
    NonCritical,
}

/// Which endpoint a check counts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Group {
    /// `/live`: only in-process checks belong here (a dependency down must not restart the
    /// service).
    Live,
    /// `/ready`: dependencies needed to serve traffic. The default group.
    Ready,
    /// `/startup`: what must hold once before the service counts as started.
    Startup,
    /// Any other name, for callers of [`HealthRegistry::report`](super::HealthRegistry::report).
    Custom(String),
}

impl Kind {
    /// `critical` or `non-critical`, as `/health` shows it in each check's `criticality`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::NonCritical => "non-critical",
        }
    }
}

impl Group {
    /// `live`, `ready`, `startup` or the custom name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Live => "live",
            Self::Ready => "ready",
            Self::Startup => "startup",
            Self::Custom(name) => name,
        }
    }
}

/// A named, async health check with its timeout, interval, kind, groups and breaker.
///
/// Defaults: critical, of [`ComponentType::Component`], in the `ready` group, 2 s timeout, 10 s
/// interval, [`BreakerConfig::default`].
///
/// ```
/// use std::time::Duration;
/// use metrics_toolkit::health::{BreakerConfig, ComponentType, Group, HealthCheck};
///
/// let check = HealthCheck::new("queue", || async { Err("queue is full".into()) })
///     .non_critical()
///     .component_type(ComponentType::Datastore)
///     .groups([Group::Ready, Group::Custom("dependencies".into())])
///     .timeout(Duration::from_millis(500))
///     .interval(Duration::from_secs(5))
///     .breaker(BreakerConfig::new(5, Duration::from_secs(60)));
/// assert_eq!(check.name(), "queue");
/// ```
#[derive(Clone)]
pub struct HealthCheck {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) component_type: ComponentType,
    pub(crate) groups: Vec<Group>,
    pub(crate) timeout: Duration,
    pub(crate) interval: Duration,
    pub(crate) breaker: BreakerConfig,
    pub(crate) run: Arc<CheckFn>,
}

impl fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthCheck")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("component_type", &self.component_type)
            .field("groups", &self.groups)
            .field("timeout", &self.timeout)
            .field("interval", &self.interval)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// A check that runs `check` (a closure returning a future): anything from a database
    /// ping to a queue depth. `Ok(())` passes; `Err(error)` fails, and the error's `Display`
    /// is shown. The error is a [`BoxError`], as in tower: `?` converts any error type, and
    /// `.into()` a `String` or a `&str`.
    ///
    /// ```
    /// use metrics_toolkit::health::HealthCheck;
    ///
    /// let disk = HealthCheck::new("disk", || async {
    ///     std::fs::metadata("/")?; // a std::io::Error when it fails
    ///     Ok(())
    /// });
    /// let queue = HealthCheck::new("queue", || async { Err("queue is full".into()) });
    /// # let _ = (disk, queue);
    /// ```
    pub fn new<F, Fut>(name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            kind: Kind::Critical,
            component_type: ComponentType::Component,
            groups: vec![Group::Ready],
            timeout: Duration::from_secs(2),
            interval: Duration::from_secs(10),
            breaker: BreakerConfig::default(),
            run: Arc::new(move || {
                // Called here, not inside the async block: a panic building the future is
                // then caught where the check runs, with the rest.
                let future = check();
                Box::pin(future) as CheckFuture
            }),
        }
    }

    /// The check's name: the key in `/health`'s `checks` and the `check` label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Critical (the default) or not.
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Shorthand for `.kind(Kind::NonCritical)`: a failure only warns.
    pub fn non_critical(self) -> Self {
        self.kind(Kind::NonCritical)
    }

    /// What the check looks at (default [`ComponentType::Component`]): its `componentType` in
    /// `/health`.
    pub fn component_type(mut self, component_type: ComponentType) -> Self {
        self.component_type = component_type;
        self
    }

    /// The groups the check counts for (default `[Group::Ready]`).
    pub fn groups(mut self, groups: impl IntoIterator<Item = Group>) -> Self {
        self.groups = groups.into_iter().collect();
        self
    }

    /// How long a run may take before it counts as failed (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time between the end of one run and the start of the next (default 10 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The circuit breaker (default 3 failures, 30 s cooldown).
    pub fn breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = breaker;
        self
    }
}
