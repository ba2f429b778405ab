//! An exporter served on 127.0.0.1:0 for the security tests, stopped when dropped.
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use metrics_exporter::{Exporter, Lifecycle};
use metrics_toolkit::MetricsRegistry;

/// A running exporter; dropping it begins the shutdown.
pub struct Served {
    /// `IP:PORT`.
    pub addr: String,
    /// `http://IP:PORT`.
    pub base: String,
    /// The registry the exporter serves, for reading its own counters directly.
    pub registry: MetricsRegistry,
    lifecycle: Lifecycle,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.lifecycle.begin_shutdown();
    }
}

/// Serves `registry` (a fresh one without process metrics when `None`) through an exporter
/// that `configure` sets up, already marked ready.
pub async fn serve(
    registry: Option<MetricsRegistry>,
    configure: impl FnOnce(Exporter) -> Exporter,
) -> Served {
    let registry = registry.unwrap_or_else(|| {
        MetricsRegistry::builder()
            .process_metrics(false)
            .build()
            .expect("registry")
    });
    let lifecycle = Lifecycle::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let exporter = configure(Exporter::new(registry.clone(), lifecycle.clone()));
    lifecycle.mark_ready();
    tokio::spawn(exporter.serve(listener));
    Served {
        base: format!("http://{addr}"),
        addr,
        registry,
        lifecycle,
    }
}
