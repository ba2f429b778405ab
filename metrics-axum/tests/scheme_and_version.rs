//! `url_scheme` and `network_protocol_version`, driven in-process through the layer: the URI's
//! scheme wins over the layer's, unknown schemes are `_OTHER`, and the protocol version is a
//! label only with the builder's option on.

mod common;

use bytes::Bytes;
use common::in_process::{exchange, scrape, FixedRoute};
use http::{Request, Response, Version};
use http_body_util::Empty;
use metrics_axum::MetricsLayer;
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};

const REQUESTS: &str = "http_server_requests_total";

fn setup(protocol_version: bool) -> (MetricsRegistry, HttpServerMetrics) {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder()
        .network_protocol_version(protocol_version)
        .register(&registry);
    (registry, http)
}

fn request(uri: &str, version: Version) -> Request<()> {
    let mut request = Request::new(());
    *request.uri_mut() = uri.parse().expect("a uri");
    *request.version_mut() = version;
    request
}

fn labels(scheme: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("http_request_method", "GET"),
        ("http_route", "/r"),
        ("http_response_status_code", "200"),
        ("url_scheme", scheme),
    ]
}

#[tokio::test]
async fn the_uri_scheme_wins_and_the_layer_gives_the_rest() {
    let (registry, http) = setup(false);
    let layer = MetricsLayer::new(http)
        .route_extractor(FixedRoute("/r"))
        .url_scheme("HTTPS");
    for (uri, version) in [
        // Origin-form: the layer's scheme.
        ("/r", Version::HTTP_11),
        ("/r", Version::HTTP_11),
        // HTTP/2's `:scheme` and absolute-form targets.
        ("http://example.com/r", Version::HTTP_2),
        ("gopher://example.com/r", Version::HTTP_11),
        ("wss://example.com/r", Version::HTTP_11),
    ] {
        let response = Response::new(Empty::<Bytes>::new());
        exchange(&layer, request(uri, version), response).await;
    }
    let s = scrape(&registry);
    assert_eq!(s.get(REQUESTS, &labels("https")), Some(2.0));
    assert_eq!(s.get(REQUESTS, &labels("http")), Some(1.0));
    assert_eq!(s.get(REQUESTS, &labels("_OTHER")), Some(2.0));
    assert_eq!(s.sum(REQUESTS, &[]), 5.0);
    // Off by default: one series for both versions.
    assert_eq!(s.count(REQUESTS, &[("network_protocol_version", "")]), 3);
}

#[tokio::test]
async fn the_protocol_version_is_a_label_with_the_option_on() {
    let (registry, http) = setup(true);
    let layer = MetricsLayer::new(http).route_extractor(FixedRoute("/r"));
    for version in [
        Version::HTTP_10,
        Version::HTTP_11,
        Version::HTTP_11,
        Version::HTTP_2,
        Version::HTTP_3,
        Version::HTTP_09,
    ] {
        let response = Response::new(Empty::<Bytes>::new());
        exchange(&layer, request("/r", version), response).await;
    }
    let s = scrape(&registry);
    for (version, count) in [("1.0", 1.0), ("1.1", 2.0), ("2", 1.0), ("3", 1.0)] {
        let mut wanted = labels("http").to_vec();
        wanted.push(("network_protocol_version", version));
        assert_eq!(s.get(REQUESTS, &wanted), Some(count), "{version}");
    }
    // HTTP/0.9 is not one of the convention's values: no label at all.
    assert_eq!(s.get(REQUESTS, &labels("http")), Some(1.0));
}
