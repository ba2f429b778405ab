//! What hyper sends decides how a request is recorded, over real connections: static files
//! (bodies of no exact size under their own `Content-Length`), successful CONNECTs (no body)
//! and a handler's 1xx (which hyper replaces).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use bytes::Bytes;
use common::in_process::{layer_on, scrape};
use http::{Method, Response, StatusCode};
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use metrics_toolkit::MetricsRegistry;
use test_support::{request_labels, Scrape};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tower::Layer;
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

/// Serves, with the layer on route `/x` around it, a handler answering the status its path
/// names (`/103`) with a streamed body of unknown length, for any method: no router in
/// between (axum's empties CONNECT bodies itself), as with hyper or tonic.
async fn serve_status_handler() -> (MetricsRegistry, Served) {
    let (registry, layer) = layer_on("/x");
    let handler = tower::service_fn(|request: Request| async move {
        let status = request
            .uri()
            .path()
            .trim_start_matches('/')
            .parse()
            .ok()
            .and_then(|code| StatusCode::from_u16(code).ok())
            .unwrap_or(StatusCode::OK);
        let chunk = Ok::<_, std::convert::Infallible>(Bytes::from_static(b"body"));
        let body = Body::from_stream(futures_util::stream::iter([chunk]));
        Ok::<_, std::convert::Infallible>(
            Response::builder()
                .status(status)
                .body(body)
                .expect("response"),
        )
    });
    let service = layer.axum_body().layer(handler);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, service.into_make_service()).await;
    });
    (registry, Served { addr, task })
}

/// Sends `head` (an HTTP/1.1 request head) on a new connection; returns the response head.
async fn http1_head(addr: std::net::SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&got).into_owned()
}

/// Sends `method uri` over a new HTTP/2 (h2c) connection; returns the status, or the error.
async fn http2_status(
    addr: std::net::SocketAddr,
    method: Method,
    uri: &str,
) -> Result<StatusCode, String> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let result = tokio::time::timeout(Duration::from_secs(5), sender.send_request(request))
        .await
        .map_err(|_| "no answer within 5 s".to_owned())
        .and_then(|r| r.map(|r| r.status()).map_err(|e| e.to_string()));
    connection.abort();
    result
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_connect_completes_with_its_head() {
    let (registry, server) = serve_status_handler().await;
    let head = http1_head(
        server.addr,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head:?}");
    let status = http2_status(server.addr, Method::CONNECT, "example.com:443").await;
    assert_eq!(status, Ok(StatusCode::OK));

    let s = scrape_when_recorded(&registry, 2.0).await;
    assert_eq!(
        s.get(REQUESTS, &request_labels("CONNECT", "/x", "200")),
        Some(2.0),
        "{:?}",
        s.matching(REQUESTS, &[]).collect::<Vec<_>>()
    );
    assert_eq!(s.sum(REQUESTS, &[]), 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_1xx_is_recorded_as_what_the_client_got() {
    let (registry, server) = serve_status_handler().await;
    // HTTP/1: hyper answers an empty 500 instead of a 103, and sends a 101 without its body.
    let head = http1_head(server.addr, "GET /103 HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 500 "), "{head:?}");
    let head = http1_head(server.addr, "GET /101 HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head:?}");
    // HTTP/2: the 1xx goes out as the final head, and the client rejects it.
    for path in ["/103", "/101"] {
        let uri = format!("http://{}{path}", server.addr);
        let status = http2_status(server.addr, Method::GET, &uri).await;
        assert!(status.is_err(), "{path}: {status:?}");
    }

    let s = scrape_when_recorded(&registry, 4.0).await;
    let all = || s.matching(REQUESTS, &[]).collect::<Vec<_>>();
    let mut replaced = request_labels("GET", "/x", "500").to_vec();
    replaced.push(("error_type", "500"));
    assert_eq!(s.get(REQUESTS, &replaced), Some(1.0), "{:?}", all());
    assert_eq!(
        s.get(REQUESTS, &request_labels("GET", "/x", "101")),
        Some(1.0),
        "{:?}",
        all()
    );
    let rejected = [
        ("http_request_method", "GET"),
        ("url_scheme", "http"),
        ("http_route", "/x"),
        ("error_type", "_OTHER"),
    ];
    assert_eq!(s.get(REQUESTS, &rejected), Some(2.0), "{:?}", all());
    assert_eq!(s.sum(REQUESTS, &[]), 4.0);
}
