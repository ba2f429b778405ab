//! Startup, readiness and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Where a service is in its life, as `/ready` and `/health` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Started, not yet ready for traffic: `/ready` answers 503.
    Starting,
    /// Serving: `/ready` answers 200.
    Ready,
    /// Shutdown signalled: `/ready` answers 503 while in-flight requests drain.
    Draining,
}

/// Shared lifecycle of a service: readiness and the graceful-shutdown sequence.
///
/// Shutdown runs in order: [`begin_shutdown`](Self::begin_shutdown) (or SIGTERM/SIGINT through
/// [`shutdown_on_signals`](Self::shutdown_on_signals)) turns readiness to 503 at once; after the
/// drain delay, [`drained`](Self::drained) resolves, which is the signal given to
/// `axum::serve(..).with_graceful_shutdown(..)`: listeners close and in-flight requests finish.
/// The delay lets load balancers see the 503 and stop sending traffic before the listener closes.
/// Requests get the drain timeout (default [`DEFAULT_DRAIN_TIMEOUT`](Self::DEFAULT_DRAIN_TIMEOUT))
/// to finish after that: then [`deadline`](Self::deadline) resolves and
/// [`Exporter::serve`](crate::Exporter::serve) drops the connections still open, so a client
/// that never reads its answers cannot hold the process. [`abort_drain`](Self::abort_drain)
/// (a second signal) ends the drain at once.
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::{Lifecycle, Phase};
///
/// let lifecycle = Lifecycle::new()
///     .drain_delay(Duration::from_millis(10))
///     .drain_timeout(Duration::from_secs(5));
/// assert_eq!(lifecycle.phase(), Phase::Starting);
/// lifecycle.mark_ready();
/// assert_eq!(lifecycle.phase(), Phase::Ready);
/// lifecycle.begin_shutdown();
/// assert_eq!(lifecycle.phase(), Phase::Draining);
/// lifecycle.abort_drain();
/// assert!(lifecycle.drain_aborted());
/// ```
///
/// With a server that has no drain deadline of its own, such as `axum::serve`:
///
/// ```no_run
/// # async fn run(app: axum::Router, listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// use metrics_exporter::Lifecycle;
///
/// let lifecycle = Lifecycle::new();
/// tokio::spawn(lifecycle.clone().shutdown_on_signals());
/// let server = axum::serve(listener, app).with_graceful_shutdown(lifecycle.drained());
/// tokio::select! {
///     served = server => served?,
///     () = lifecycle.deadline() => {} // connections still open are dropped with the runtime
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Lifecycle {
    phase: Arc<watch::Sender<Phase>>,
    aborted: Arc<watch::Sender<bool>>,
    drain_delay: Duration,
    drain_timeout: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// Default [`drain_timeout`](Self::drain_timeout): well inside Kubernetes' default 30 s
    /// termination grace period, with room for a drain delay.
    pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

    /// A lifecycle in [`Phase::Starting`] with no drain delay and the default drain timeout.
    pub fn new() -> Self {
        Self {
            phase: Arc::new(watch::Sender::new(Phase::Starting)),
            aborted: Arc::new(watch::Sender::new(false)),
            drain_delay: Duration::ZERO,
            drain_timeout: Self::DEFAULT_DRAIN_TIMEOUT,
        }
    }

    /// How long readiness reports 503 before listeners close (e.g. 5 s behind a Kubernetes
    /// Service; default zero).
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// How long in-flight requests may take to finish once listeners closed, before their
    /// connections are dropped (default [`DEFAULT_DRAIN_TIMEOUT`](Self::DEFAULT_DRAIN_TIMEOUT)).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    /// Marks startup done. Has no effect once shutdown began.
    pub fn mark_ready(&self) {
        self.phase.send_if_modified(|phase| {
            let starting = *phase == Phase::Starting;
            if starting {
                *phase = Phase::Ready;
            }
            starting
        });
    }

    /// Starts the shutdown sequence: readiness fails from now on.
    pub fn begin_shutdown(&self) {
        self.phase.send_replace(Phase::Draining);
    }

    /// Shuts down without waiting: begins shutdown if it had not begun, and makes
    /// [`drained`](Self::drained) and [`deadline`](Self::deadline) resolve at once, so servers
    /// drop their connections.
    pub fn abort_drain(&self) {
        self.begin_shutdown();
        self.aborted.send_replace(true);
    }

    /// Whether [`abort_drain`](Self::abort_drain) was called (e.g. by a second signal).
    pub fn drain_aborted(&self) -> bool {
        *self.aborted.borrow()
    }

    /// Resolves once shutdown has begun and the drain delay has passed (at once when the drain
    /// is aborted): pass it to `with_graceful_shutdown`. Every server of the service can wait
    /// on its own copy.
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut phase = self.phase.subscribe();
        let mut aborted = self.aborted.subscribe();
        let delay = self.drain_delay;
        async move {
            let delayed = async {
                // The sender lives as long as any `Lifecycle`; if all are gone, shut down too.
                let _ = phase.wait_for(|p| *p == Phase::Draining).await;
                tokio::time::sleep(delay).await;
            };
            tokio::select! {
                () = delayed => {}
                _ = aborted.wait_for(|a| *a) => {}
            }
        }
    }

    /// Resolves when the drain timeout has passed after [`drained`](Self::drained), or at once
    /// when the drain is aborted: connections still open then are dropped.
    pub fn deadline(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let drained = self.drained();
        let mut aborted = self.aborted.subscribe();
        let timeout = self.drain_timeout;
        async move {
            let expired = async {
                drained.await;
                tokio::time::sleep(timeout).await;
            };
            tokio::select! {
                () = expired => {}
                _ = aborted.wait_for(|a| *a) => {}
            }
        }
    }

    /// Waits for SIGTERM or SIGINT (Ctrl-C), then begins shutdown; a second signal aborts the
    /// drain ([`abort_drain`](Self::abort_drain)). Spawn it once per service.
    pub async fn shutdown_on_signals(self) {
        let mut signals = Signals::new();
        let signal = signals.next().await;
        tracing::info!(
            signal,
            drain_delay = %humantime::format_duration(self.drain_delay),
            drain_timeout = %humantime::format_duration(self.drain_timeout),
            "shutting down: /ready answers 503, then the listener closes and requests drain"
        );
        self.begin_shutdown();
        let signal = signals.next().await;
        tracing::warn!(signal, "second signal: stopping without draining");
        self.abort_drain();
    }
}

/// SIGTERM and SIGINT, each registered once so that a second one is not missed.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Self {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The next signal's name; pending for ever when none could be registered.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        if signal.recv().await.is_none() {
                            std::future::pending::<()>().await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.terminate) => "SIGTERM",
                () = recv(&mut self.interrupt) => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}
