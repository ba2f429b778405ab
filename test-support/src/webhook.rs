//! A webhook receiver for Alertmanager notifications: an HTTP server on 127.0.0.1 that keeps
//! every JSON body posted to it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};

type Received = Arc<Mutex<Vec<serde_json::Value>>>;

/// A running receiver; stops when dropped.
#[derive(Debug)]
pub struct WebhookReceiver {
    /// Where to post, e.g. `http://127.0.0.1:40123/alerts`.
    pub url: String,
    received: Received,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    /// Starts a receiver on a free loopback port, accepting posts at `/alerts`.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver");
        let addr: SocketAddr = listener.local_addr().expect("receiver address");
        let received = Received::default();
        let app = Router::new()
            .route("/alerts", post(keep))
            .with_state(received.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("webhook receiver serves");
        });
        Self {
            url: format!("http://{addr}/alerts"),
            received,
            task,
        }
    }

    /// Every notification received so far, oldest first.
    pub fn received(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits up to `timeout` for a notification that `matches`; returns it.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.received().into_iter().find(|n| matches(n)) {
                return Some(found);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn keep(State(received): State<Received>, Json(body): Json<serde_json::Value>) {
    received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(body);
}
