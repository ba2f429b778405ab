//! gRPC calls get the `rpc_grpc_status_code` label from `grpc-status`, whether it comes in the
//! trailers (after the messages) or in the headers (a trailers-only response); other requests
//! never get it.

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use common::in_process::{exchange, layer_on, scrape};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, Request, Response, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use metrics_axum::MetricsLayer;
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};
use test_support::request_labels;
use tower::{Layer, ServiceExt};

const ROUTE: &str = "/pkg.Users/Get";
const REQUESTS: &str = "http_server_requests_total";
const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

fn grpc_request(version: Version) -> Request<()> {
    Request::builder()
        .version(version)
        .method(Method::POST)
        .uri(ROUTE)
        .header(CONTENT_TYPE, "application/grpc")
        .body(())
        .expect("valid request")
}

fn status_trailers(value: &str) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", value.parse().expect("valid value"));
    trailers
}

/// A unary gRPC response body: one message, then trailers. It announces its exact length, as
/// a body of known messages may: the layer must still wait for the trailers.
struct UnaryBody {
    message: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl UnaryBody {
    fn new(grpc_status: &str) -> Self {
        Self {
            message: Some(Bytes::from_static(b"\0\0\0\0\x02hi")),
            trailers: Some(status_trailers(grpc_status)),
        }
    }
}

impl Body for UnaryBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(message) = self.message.take() {
            return Poll::Ready(Some(Ok(Frame::data(message))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.message.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.message.as_ref().map_or(0, |m| m.len() as u64))
    }
}

fn grpc_response<B>(body: B) -> Response<B> {
    Response::builder()
        .header(CONTENT_TYPE, "application/grpc")
        .body(body)
        .expect("valid response")
}

/// The labels of a call answered 200 on `ROUTE`, plus `extra`.
fn labels<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut labels = request_labels("POST", ROUTE, "200").to_vec();
    labels.extend_from_slice(extra);
    labels
}

/// The number of requests recorded with `labels(extra)`.
fn requests_with(registry: &MetricsRegistry, extra: &[(&str, &str)]) -> Option<f64> {
    scrape(registry).get(REQUESTS, &labels(extra))
}

#[tokio::test]
async fn the_status_in_the_trailers_is_the_label() {
    let (registry, layer) = layer_on(ROUTE);
    for grpc_status in ["0", "5", "5"] {
        let response = grpc_response(UnaryBody::new(grpc_status));
        let trailers = exchange(&layer, grpc_request(Version::HTTP_2), response).await;
        assert_eq!(
            trailers,
            Some(status_trailers(grpc_status)),
            "trailers pass through"
        );
    }
    assert_eq!(
        requests_with(&registry, &[("rpc_grpc_status_code", "0")]),
        Some(1.0)
    );
    assert_eq!(
        requests_with(&registry, &[("rpc_grpc_status_code", "5")]),
        Some(2.0)
    );
    let s = scrape(&registry);
    assert_eq!(
        s.get(DURATION_COUNT, &labels(&[("rpc_grpc_status_code", "5")])),
        Some(2.0)
    );
    assert_eq!(s.sum(REQUESTS, &[]), 3.0);
}

#[tokio::test]
async fn server_failures_are_errors_and_the_callers_mistakes_are_not() {
    let (registry, layer) = layer_on(ROUTE);
    // INTERNAL, UNAVAILABLE and DEADLINE_EXCEEDED are the server's failures; INVALID_ARGUMENT
    // and NOT_FOUND the caller's, like a 4xx.
    for grpc_status in ["13", "14", "4", "3", "5"] {
        let response = grpc_response(UnaryBody::new(grpc_status));
        exchange(&layer, grpc_request(Version::HTTP_2), response).await;
    }
    for code in ["13", "14", "4"] {
        let failed = [("rpc_grpc_status_code", code), ("error_type", code)];
        assert_eq!(requests_with(&registry, &failed), Some(1.0), "{code}");
    }
    for code in ["3", "5"] {
        let refused = [("rpc_grpc_status_code", code)];
        assert_eq!(requests_with(&registry, &refused), Some(1.0), "{code}");
    }
}

#[tokio::test]
async fn a_5xx_status_is_the_error_type_even_with_a_grpc_status() {
    let (registry, layer) = layer_on(ROUTE);
    let mut response = grpc_response(Empty::<Bytes>::new());
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert("grpc-status", "14".parse().expect("valid value"));
    exchange(&layer, grpc_request(Version::HTTP_2), response).await;
    let wanted = [
        ("http_request_method", "POST"),
        ("url_scheme", "http"),
        ("http_route", ROUTE),
        ("http_response_status_code", "503"),
        ("rpc_grpc_status_code", "14"),
        ("error_type", "503"),
    ];
    assert_eq!(scrape(&registry).get(REQUESTS, &wanted), Some(1.0));
}

#[tokio::test]
async fn a_trailers_only_response_has_the_status_in_its_headers() {
    let (registry, layer) = layer_on(ROUTE);
    let mut response = grpc_response(Empty::<Bytes>::new());
    let headers = response.headers_mut();
    headers.insert("grpc-status", "12".parse().expect("valid value"));
    exchange(&layer, grpc_request(Version::HTTP_2), response).await;
    let unimplemented = [("rpc_grpc_status_code", "12"), ("error_type", "12")];
    assert_eq!(requests_with(&registry, &unimplemented), Some(1.0));
}

#[tokio::test]
async fn a_status_outside_the_specification_is_other() {
    let (registry, layer) = layer_on(ROUTE);
    let response = grpc_response(UnaryBody::new("99"));
    exchange(&layer, grpc_request(Version::HTTP_2), response).await;
    // Clients read a status they do not know as UNKNOWN: the server's failure.
    let other = [("rpc_grpc_status_code", "_OTHER"), ("error_type", "_OTHER")];
    assert_eq!(requests_with(&registry, &other), Some(1.0));
}

#[tokio::test]
async fn a_call_dropped_before_its_trailers_is_aborted_without_a_grpc_status() {
    let (registry, layer) = layer_on(ROUTE);
    let service = layer.layer(tower::service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(grpc_response(UnaryBody::new("0")))
    }));
    let response = service.oneshot(grpc_request(Version::HTTP_2)).await;
    let mut body = response.expect("response").into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert!(first.is_data());
    drop(body);
    assert_eq!(
        requests_with(&registry, &[("error_type", "aborted")]),
        Some(1.0)
    );
    assert_eq!(scrape(&registry).sum(REQUESTS, &[]), 1.0);
}

#[tokio::test]
async fn requests_that_are_not_grpc_calls_get_no_grpc_label() {
    let (registry, layer) = layer_on(ROUTE);
    // The same response, to an HTTP/1.1 request (gRPC needs HTTP/2) and to an HTTP/2 `POST`
    // of JSON.
    let http1 = grpc_request(Version::HTTP_11);
    let mut json = grpc_request(Version::HTTP_2);
    let json_type = "application/json".parse().expect("valid value");
    json.headers_mut().insert(CONTENT_TYPE, json_type);
    for request in [http1, json] {
        exchange(&layer, request, grpc_response(UnaryBody::new("3"))).await;
    }
    assert_eq!(requests_with(&registry, &[]), Some(2.0));
    let s = scrape(&registry);
    assert_eq!(s.count(REQUESTS, &[("rpc_grpc_status_code", "3")]), 0);
}

/// A unary call over a real HTTP/2 connection (h2c, as gRPC clients speak it without TLS) to an
/// axum app with the layer added by `Router::layer`.
#[tokio::test]
async fn a_call_over_a_real_http2_connection() {
    use axum::routing::post;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let app = axum::Router::new()
        .route(
            ROUTE,
            post(|| async {
                // A streamed body does not know it has ended after its trailers: the trailers
                // frame itself must end the request, as servers poll no further.
                let frames = [
                    Frame::data(Bytes::from_static(b"\0\0\0\0\x02hi")),
                    Frame::trailers(status_trailers("7")),
                ];
                let stream = futures_util::stream::iter(frames.map(Ok::<_, Infallible>));
                let body = http_body_util::StreamBody::new(stream);
                grpc_response(axum::body::Body::new(body))
            }),
        )
        .layer(MetricsLayer::new(http));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{addr}/pkg.Users/Get"))
        .header(CONTENT_TYPE, "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::Full::new(Bytes::from_static(b"\0\0\0\0\0")))
        .expect("valid request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.version(), Version::HTTP_2);
    let body = response.into_body().collect().await.expect("body");
    assert_eq!(body.trailers(), Some(&status_trailers("7")));
    drop(sender);
    let _ = connection.await;

    let s = scrape(&registry);
    let wanted = labels(&[("rpc_grpc_status_code", "7")]);
    assert_eq!(s.get(REQUESTS, &wanted), Some(1.0));
    assert_eq!(
        s.get(
            "http_server_active_requests",
            &[("http_request_method", "POST")]
        ),
        Some(0.0)
    );
    let _ = stop.send(());
    server.await.expect("server task").expect("server");
}
