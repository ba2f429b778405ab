//! Connections on `Exporter::serve`: none is held forever (first-request and idle timeouts,
//! over HTTP/1 and HTTP/2), the connection cap refuses and counts the excess, and
//! `http_server_config.http2: false` means HTTP/1.1 only.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use metrics_exporter::security::{Limits, WebConfig};
use test_support::Scrape;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;
use common::Served;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: what a client sends right after the preface.
const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

/// The exporter's own sample `name` (no labels), read from its registry.
fn own_sample(exporter: &Served, name: &str) -> Option<f64> {
    let text = exporter
        .registry
        .encode(metrics_toolkit::Format::PrometheusText)
        .expect("encode");
    Scrape::parse(&text).get(name, &[])
}

/// Reads until the server closes the connection; what it sent, or `None` when it was still
/// open after `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(answer),
        Err(_) => None,
    }
}

#[tokio::test]
async fn silent_pri_and_preface_only_connections_are_closed_after_the_first_request_timeout() {
    let limits = Limits::default().first_request_timeout(Duration::from_millis(300));
    let exporter = common::serve(None, |e| e.limits(limits)).await;
    let mut held = Vec::new();
    for sent in [&b""[..], b"PRI", PREFACE, b"GET /metrics HTTP/1.1\r\nHost"] {
        let mut stream = TcpStream::connect(&exporter.addr).await.expect("connect");
        stream.write_all(sent).await.expect("write");
        held.push((sent, stream));
    }
    for (sent, mut stream) in held {
        let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
        assert!(
            closed.is_some(),
            "a connection that sent {:?} was still open 5 s after connecting",
            String::from_utf8_lossy(sent)
        );
    }
    // The timeout is for the first request only: a prompt one is answered.
    let live = reqwest::get(format!("{}/live", exporter.base))
        .await
        .expect("GET /live");
    assert_eq!(live.status(), 200);
}

/// An HTTP/2 (h2c) connection to `addr`, and the task driving it (ends when the server closes).
async fn h2c(
    addr: &str,
) -> (
    hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    tokio::task::JoinHandle<()>,
) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, driver)
}

async fn h2_get(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    addr: &str,
    path: &str,
) -> u16 {
    let request = http::Request::get(format!("http://{addr}{path}"))
        .body(Empty::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.version(), http::Version::HTTP_2);
    let status = response.status().as_u16();
    response.into_body().collect().await.expect("body");
    status
}

#[tokio::test]
async fn idle_http2_and_http1_connections_are_closed_after_the_idle_timeout() {
    let limits = Limits::default().idle_timeout(Duration::from_millis(400));
    let exporter = common::serve(None, |e| e.limits(limits)).await;
    let (mut sender, driver) = h2c(&exporter.addr).await;
    // Requests closer together than the timeout keep the connection.
    for _ in 0..6 {
        assert_eq!(h2_get(&mut sender, &exporter.addr, "/metrics").await, 200);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(!driver.is_finished(), "closed while in use");
    assert!(
        tokio::time::timeout(Duration::from_secs(5), driver)
            .await
            .is_ok(),
        "an idle HTTP/2 connection was still open 5 s after its last request"
    );

    let mut http1 = test_support::raw_http::send_get(&exporter.addr, "/live").await;
    let answer = read_until_closed(&mut http1, Duration::from_secs(5)).await;
    let answer = answer.expect("an idle HTTP/1.1 connection was still open 5 s after its request");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once_and_counted() {
    let limits = Limits::default()
        .max_connections(2)
        .first_request_timeout(Duration::from_secs(60));
    let exporter = common::serve(None, |e| e.limits(limits)).await;
    let first = TcpStream::connect(&exporter.addr).await.expect("connect");
    let _second = TcpStream::connect(&exporter.addr).await.expect("connect");
    let mut third = TcpStream::connect(&exporter.addr).await.expect("connect");
    let refused = read_until_closed(&mut third, Duration::from_secs(5)).await;
    assert_eq!(
        refused.as_deref(),
        Some(&b""[..]),
        "a third connection over a cap of 2 was not closed at once"
    );
    assert_eq!(
        own_sample(&exporter, "exporter_connections_refused_total"),
        Some(1.0)
    );
    assert_eq!(
        own_sample(&exporter, "exporter_connections_open"),
        Some(2.0)
    );
    // A freed slot is used again.
    drop(first);
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match client.get(format!("{}/live", exporter.base)).send().await {
            Ok(response) if response.status() == 200 => break,
            other => assert!(
                tokio::time::Instant::now() < deadline,
                "no answer after a slot was freed: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the server answers to the HTTP/2 preface and an empty SETTINGS frame.
async fn answer_to_preface(addr: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(PREFACE).await.expect("write");
    stream.write_all(EMPTY_SETTINGS).await.expect("write");
    let mut answer = vec![0; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .map_or(0, |read| read.unwrap_or(0));
    answer.truncate(n);
    answer
}

fn web_config(yaml: &str) -> WebConfig {
    WebConfig::from_yaml(yaml, Path::new(".")).expect("web config")
}

#[tokio::test]
async fn http2_off_in_the_web_config_refuses_http2_prior_knowledge() {
    let on = common::serve(None, |e| e).await;
    let answer = answer_to_preface(&on.addr).await;
    // A SETTINGS frame (type 4 in the frame's fourth byte) when HTTP/2 is on.
    assert!(answer.len() >= 9 && answer[3] == 4, "{answer:?}");

    let off = web_config("http_server_config:\n  http2: false\n");
    let exporter = common::serve(None, |e| e.web_config(&off).expect("apply")).await;
    let answer = answer_to_preface(&exporter.addr).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
        "http2: false still speaks HTTP/2 to prior knowledge: {answer:?}"
    );
    let live = reqwest::get(format!("{}/live", exporter.base))
        .await
        .expect("GET /live");
    assert_eq!(live.version(), http::Version::HTTP_11);
    assert_eq!(live.status(), 200);
}
