//! What hyper sends decides how a request is recorded, over real connections: static files
//! (bodies of no exact size under their own `Content-Length`), successful CONNECTs (no body)
//! and a handler's 1xx (which hyper replaces).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use common::in_process::{layer_on, scrape};
use metrics_core::MetricsRegistry;
use test_support::{request_labels, Scrape};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::services::ServeDir;

const REQUESTS: &str = "http_server_requests_total";

/// A server on 127.0.0.1, stopped when dropped.
struct Served {
    addr: std::net::SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(router: Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Served { addr, task }
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "metrics-axum-served-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Scrapes until `requests` requests are recorded, or five seconds pass (the server records
/// after the client has read the response).
async fn scrape_when_recorded(registry: &MetricsRegistry, requests: f64) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = scrape(registry);
        if s.sum(REQUESTS, &[]) >= requests || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_static_files_are_completed_not_aborted() {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("small.txt"), "hello, static\n").expect("write");
    // Several of ServeDir's 64 KiB chunks.
    let large = vec![7u8; 300_000];
    std::fs::write(dir.0.join("large.bin"), &large).expect("write");
    let (registry, layer) = layer_on("/static");
    let server = serve(
        Router::new()
            .fallback_service(ServeDir::new(&dir.0))
            .layer(layer),
    )
    .await;

    // One client: the keep-alive connection is reused, as a browser's would be.
    let client = reqwest::Client::new();
    for (path, range, status, length) in [
        ("/small.txt", None, 200, 14),
        ("/large.bin", None, 200, large.len()),
        ("/large.bin", Some("bytes=10-1009"), 206, 1000),
    ] {
        let mut request = client.get(format!("http://{}{path}", server.addr));
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        let response = request.send().await.expect("response");
        assert_eq!(response.status().as_u16(), status, "{path} {range:?}");
        let body = response.bytes().await.expect("the whole body");
        assert_eq!(body.len(), length, "{path} {range:?}");
    }

    let s = scrape_when_recorded(&registry, 3.0).await;
    assert_eq!(
        s.sum(REQUESTS, &[("error_type", "aborted")]),
        0.0,
        "whole files recorded as aborted: {:?}",
        s.matching(REQUESTS, &[]).collect::<Vec<_>>()
    );
    assert_eq!(
        s.get(REQUESTS, &request_labels("GET", "/static", "200")),
        Some(2.0)
    );
    assert_eq!(
        s.get(REQUESTS, &request_labels("GET", "/static", "206")),
        Some(1.0)
    );
}
