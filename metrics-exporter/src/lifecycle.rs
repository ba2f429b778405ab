//! Startup, readiness and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Where a service is in its life, as `/ready` and `/health` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
///
/// ```
/// use std::time::Duration;
/// use metrics_exporter::{Lifecycle, Phase};
///
/// let lifecycle = Lifecycle::new().drain_delay(Duration::from_millis(10));
/// assert_eq!(lifecycle.phase(), Phase::Starting);
/// lifecycle.mark_ready();
/// assert_eq!(lifecycle.phase(), Phase::Ready);
/// lifecycle.begin_shutdown();
/// assert_eq!(lifecycle.phase(), Phase::Draining);
/// ```
#[derive(Clone, Debug)]
pub struct Lifecycle {
    phase: Arc<watch::Sender<Phase>>,
    drain_delay: Duration,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// A lifecycle in [`Phase::Starting`] with no drain delay.
    pub fn new() -> Self {
        Self {
            phase: Arc::new(watch::Sender::new(Phase::Starting)),
            drain_delay: Duration::ZERO,
        }
    }

    /// How long readiness reports 503 before listeners close (e.g. 5 s behind a Kubernetes
    /// Service; default zero).
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
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

    /// Resolves once shutdown has begun and the drain delay has passed: pass it to
    /// `with_graceful_shutdown`. Every server of the service can wait on its own copy.
    pub fn drained(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut phase = self.phase.subscribe();
        let delay = self.drain_delay;
        async move {
            // The sender lives as long as any `Lifecycle`; if all are gone, shut down too.
            let _ = phase.wait_for(|p| *p == Phase::Draining).await;
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits for SIGTERM or SIGINT (Ctrl-C), then begins shutdown. Spawn it once per service.
    pub async fn shutdown_on_signals(self) {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = terminate => {}
        }
        self.begin_shutdown();
    }
}
