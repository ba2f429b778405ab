//! An example's `run` on loopback ports (127.0.0.1:0 for the app and the exporter), shut down
//! when dropped.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter::Lifecycle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct Served {
    pub app: SocketAddr,
    pub metrics: SocketAddr,
    pub lifecycle: Lifecycle,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Spawns `run(app_listener, metrics_listener, lifecycle)`.
    pub async fn start<F, Fut>(run: F, lifecycle: Lifecycle) -> Self
    where
        F: FnOnce(TcpListener, TcpListener, Lifecycle) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let app_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let metrics_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind metrics");
        let app = app_listener.local_addr().expect("addr");
        let metrics = metrics_listener.local_addr().expect("addr");
        let task = tokio::spawn(run(app_listener, metrics_listener, lifecycle.clone()));
        Self {
            app,
            metrics,
            lifecycle,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.app)
    }

    /// Scrapes `/metrics` until the text contains `needle` (at most 20 s); returns the text.
    pub async fn scrape_until(&self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = reqwest::get(format!("http://{}/metrics", self.metrics))
                .await
                .expect("scrape")
                .text()
                .await
                .expect("body");
            if text.contains(needle) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {needle} in:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.lifecycle.begin_shutdown();
    }
}
