//! HTTP/1.1 over a raw TCP stream, for tests that need to hold or cut connections.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection and sends `GET path` with keep-alive.
pub async fn send_get(addr: &str, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: keep-alive\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    stream
}

/// Reads until the response head and at least `min_body` body bytes arrived (or `timeout`).
/// Returns what was read.
pub async fn read_some(stream: &mut TcpStream, min_body: usize, timeout: Duration) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(timeout, async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(head_end) = find(&buf, b"\r\n\r\n") {
                if buf.len() - (head_end + 4) >= min_body {
                    break;
                }
            }
        }
    })
    .await;
    buf
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
