//! How each way a request can end is recorded, driven in-process through the layer.

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use common::in_process::{layer_on, scrape};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use metrics_axum::MetricsLayer;
use metrics_toolkit::MetricsRegistry;
use test_support::request_labels;
use tower::{Layer, ServiceExt};

fn setup() -> (MetricsRegistry, MetricsLayer) {
    layer_on("/r")
}

const REQUESTS: &str = "http_server_requests_total";

/// A body that yields one chunk, then fails.
struct FailingBody(bool);

impl Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.0 {
            Poll::Ready(Some(Err(std::io::Error::other("disk on fire"))))
        } else {
            self.0 = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"partial")))))
        }
    }
}

#[tokio::test]
async fn a_service_error_is_recorded_without_status() {
    let (registry, layer) = setup();
    let service = layer.layer(tower::service_fn(|_: Request<()>| async {
        Err::<Response<Full<Bytes>>, _>(std::io::Error::other("backend down"))
    }));
    let result = service.oneshot(Request::new(())).await;
    assert!(result.is_err());
    let s = scrape(&registry);
    let labels = [
        ("http_request_method", "GET"),
        ("url_scheme", "http"),
        ("http_route", "/r"),
        ("error_type", "_OTHER"),
    ];
    assert_eq!(s.get(REQUESTS, &labels), Some(1.0));
}

#[tokio::test]
async fn a_body_error_is_recorded_with_the_status_sent() {
    let (registry, layer) = setup();
    let service = layer.layer(tower::service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(FailingBody(false)))
    }));
    let response = service.oneshot(Request::new(())).await.expect("response");
    assert!(response.into_body().collect().await.is_err());
    let s = scrape(&registry);
    let labels = [
        ("http_request_method", "GET"),
        ("url_scheme", "http"),
        ("http_route", "/r"),
        ("http_response_status_code", "200"),
        ("error_type", "_OTHER"),
    ];
    assert_eq!(s.get(REQUESTS, &labels), Some(1.0));
}

#[tokio::test]
async fn bodiless_responses_complete_without_their_body_being_polled() {
    let (registry, layer) = setup();
    let service = layer.layer(tower::service_fn(|request: Request<()>| async move {
        let status = *request.extensions().get::<StatusCode>().expect("status");
        let mut response = Response::new(Full::new(Bytes::from_static(b"ignored")));
        *response.status_mut() = status;
        Ok::<_, Infallible>(response)
    }));
    for (method, status) in [
        (http::Method::HEAD, StatusCode::OK),
        (http::Method::GET, StatusCode::NO_CONTENT),
        (http::Method::GET, StatusCode::NOT_MODIFIED),
    ] {
        let mut request = Request::builder().method(method).body(()).expect("request");
        request.extensions_mut().insert(status);
        // The response (and its body) is dropped unpolled, as servers do for these.
        drop(service.clone().oneshot(request).await.expect("response"));
    }
    let s = scrape(&registry);
    assert_eq!(s.sum(REQUESTS, &[("error_type", "aborted")]), 0.0);
    assert_eq!(s.sum(REQUESTS, &[]), 3.0);
    assert_eq!(
        s.get(REQUESTS, &request_labels("HEAD", "/r", "200")),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_dropped_body_is_aborted_and_an_exact_length_body_completes_at_its_length() {
    let (registry, layer) = setup();
    let service = layer.layer(tower::service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
            b"twelve bytes",
        ))))
    }));
    // Dropped unread: aborted, with the status that was sent.
    drop(
        service
            .clone()
            .oneshot(Request::new(()))
            .await
            .expect("response"),
    );
    // Read to its announced length: completed, even if nobody polls past the last frame.
    let response = service.oneshot(Request::new(())).await.expect("response");
    let mut body = response.into_body();
    let frame = body.frame().await.expect("a frame").expect("data");
    assert_eq!(frame.into_data().expect("data").len(), 12);
    drop(body);
    let s = scrape(&registry);
    let base = request_labels("GET", "/r", "200");
    let mut aborted = base.to_vec();
    aborted.push(("error_type", "aborted"));
    assert_eq!(s.get(REQUESTS, &aborted), Some(1.0));
    assert_eq!(s.get(REQUESTS, &base), Some(1.0));
    assert_eq!(s.sum("http_server_active_requests", &[]), 0.0);
}

#[tokio::test]
async fn a_body_completes_at_its_trailers_even_if_nobody_polls_past_them() {
    let (registry, layer) = setup();
    let service = layer.layer(tower::service_fn(|_: Request<()>| async {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("checksum", http::HeaderValue::from_static("abc"));
        // A streamed body cannot tell it has ended after its trailers; servers (hyper's HTTP/2
        // and chunked HTTP/1.1 writers) stop polling once the trailers are sent.
        let frames = [
            Frame::data(Bytes::from_static(b"data")),
            Frame::trailers(trailers),
        ];
        let stream = futures_util::stream::iter(frames.map(Ok::<_, Infallible>));
        Ok::<_, Infallible>(Response::new(http_body_util::StreamBody::new(stream)))
    }));
    let response = service.oneshot(Request::new(())).await.expect("response");
    let mut body = response.into_body();
    assert!(body
        .frame()
        .await
        .expect("a frame")
        .expect("data")
        .is_data());
    assert!(body
        .frame()
        .await
        .expect("a frame")
        .expect("trailers")
        .is_trailers());
    drop(body);
    let s = scrape(&registry);
    let completed = request_labels("GET", "/r", "200");
    assert_eq!(s.get(REQUESTS, &completed), Some(1.0));
    assert_eq!(s.sum(REQUESTS, &[]), 1.0);
}

#[tokio::test]
async fn a_streamed_body_completes_at_its_content_length_header() {
    let (registry, layer) = setup();
    // A body that cannot tell its size, under a Content-Length set by the handler (as ServeDir
    // does); the request's extensions say which header and how many chunks of 6 bytes.
    let service = layer.layer(tower::service_fn(|request: Request<()>| async move {
        let (length, chunks) = *request
            .extensions()
            .get::<(&'static str, usize)>()
            .expect("case");
        let frames =
            (0..chunks).map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"chunk\n"))));
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        let response = Response::builder()
            .header(http::header::CONTENT_LENGTH, length)
            .body(body)
            .expect("response");
        Ok::<_, Infallible>(response)
    }));
    // (Content-Length, chunks in the body, chunks read before the body is dropped)
    let cases: [(&'static str, usize, usize); 5] = [
        ("12", 2, 2),     // read to its length: completed
        ("12", 2, 1),     // cut short: aborted
        ("0", 1, 0),      // nothing to send, never polled: completed
        ("12, 13", 2, 2), // no valid length (hyper sends no such response): aborted
        ("1x", 2, 2),     // the same
    ];
    for (length, chunks, read) in cases {
        let mut request = Request::new(());
        request.extensions_mut().insert((length, chunks));
        let response = service.clone().oneshot(request).await.expect("response");
        let mut body = response.into_body();
        for _ in 0..read {
            assert!(body
                .frame()
                .await
                .expect("a frame")
                .expect("data")
                .is_data());
        }
        drop(body);
    }
    let s = scrape(&registry);
    let completed = request_labels("GET", "/r", "200");
    let mut aborted = completed.to_vec();
    aborted.push(("error_type", "aborted"));
    assert_eq!(s.get(REQUESTS, &completed), Some(2.0), "completed");
    assert_eq!(s.get(REQUESTS, &aborted), Some(3.0), "aborted");
}
