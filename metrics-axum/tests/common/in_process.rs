//! The layer driven in-process, without a server: every request on one fixed route, and the
//! registry scraped directly.

use std::convert::Infallible;

use http::{Extensions, Request, Response, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use metrics_axum::{MetricsLayer, RouteExtractor};
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
use test_support::Scrape;
use tower::{Layer, ServiceExt};

/// Gives every request the same route.
pub struct FixedRoute(pub &'static str);

impl RouteExtractor for FixedRoute {
    fn route<'a>(&'a self, _: &'a Uri, _: &'a Extensions) -> Option<&'a str> {
        Some(self.0)
    }
}

/// A registry, and a layer recording into it with every request on `route`.
pub fn layer_on(route: &'static str) -> (MetricsRegistry, MetricsLayer) {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    (
        registry,
        MetricsLayer::new(http).route_extractor(FixedRoute(route)),
    )
}

/// The registry's 0.0.4 text, parsed.
pub fn scrape(registry: &MetricsRegistry) -> Scrape {
    Scrape::parse(&registry.encode(Format::PrometheusText).expect("encode"))
}

/// Sends `request` through `layer` to a service answering `response`, and reads the response
/// body to its end; returns the trailers it ended with.
pub async fn exchange<B>(
    layer: &MetricsLayer,
    request: Request<()>,
    response: Response<B>,
) -> Option<http::HeaderMap>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Debug,
{
    let mut response = Some(response);
    let service = layer
        .clone()
        .layer(tower::service_fn(move |_: Request<()>| {
            let response = response.take().expect("one request per exchange");
            async move { Ok::<_, Infallible>(response) }
        }));
    let response = service.oneshot(request).await.expect("response");
    let body = response.into_body().collect().await.expect("body");
    body.trailers().cloned()
}
