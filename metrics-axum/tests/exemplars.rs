//! Exemplars: each source the layer reads, in its order, and where they are written.

mod common;

use std::time::Duration;

use common::in_process::{exchange, layer_on};
use http::{Request, Response};
use http_body_util::Full;
use metrics_axum::Exemplars;
use metrics_toolkit::http::Exemplar;
use metrics_toolkit::Format;

const SAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

fn request(traceparent: Option<&str>) -> Request<()> {
    let mut request = Request::get("/x");
    if let Some(value) = traceparent {
        request = request.header("traceparent", value);
    }
    request.body(()).expect("request")
}

fn ok() -> Response<Full<bytes::Bytes>> {
    Response::new(Full::new(bytes::Bytes::from_static(b"ok")))
}

/// The exemplars of the duration buckets in an OpenMetrics scrape: (le, trace id, span id, value).
fn exemplars(text: &str) -> Vec<(String, String, String, f64)> {
    text.lines()
        .filter(|line| line.starts_with("http_server_request_duration_seconds_bucket{"))
        .filter_map(|line| {
            let (sample, exemplar) = line.split_once(" # ")?;
            let le = sample.split("le=\"").nth(1)?.split('"').next()?.to_owned();
            let labels = exemplar.strip_prefix('{')?.split_once("} ")?;
            let mut ids = labels.0.split(',').map(|pair| {
                let (_, value) = pair.split_once('=').expect("a label");
                value.trim_matches('"').to_owned()
            });
            let (trace, span) = (ids.next()?, ids.next()?);
            let mut rest = labels.1.split(' ');
            let value: f64 = rest.next()?.parse().ok()?;
            let timestamp: f64 = rest.next()?.parse().ok()?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_secs_f64();
            assert!((now - timestamp).abs() < 60.0, "{line}");
            Some((le, trace, span, value))
        })
        .collect()
}

#[tokio::test]
async fn a_sampled_traceparent_becomes_the_exemplar_of_its_bucket() {
    let (registry, layer) = layer_on("/x");
    let layer = layer.exemplars(Exemplars::new());
    exchange(&layer, request(Some(SAMPLED)), ok()).await;
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    let found = exemplars(&text);
    assert_eq!(found.len(), 1, "{text}");
    let (le, trace, span, value) = &found[0];
    assert_eq!(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(span, "00f067aa0ba902b7");
    // The exemplar's value lies in its bucket.
    let upper: f64 = if le == "+Inf" {
        f64::INFINITY
    } else {
        le.parse().expect("le")
    };
    assert!(*value <= upper && *value >= 0.0, "{value} in le={le}");

    // Text 0.0.4 has no exemplars.
    let text = registry.encode(Format::PrometheusText).expect("encode");
    assert!(!text.contains(" # {"), "{text}");
    assert!(!text.contains("trace_id"), "{text}");
}

#[tokio::test]
async fn unsampled_missing_or_malformed_traces_leave_none() {
    let (registry, layer) = layer_on("/x");
    let layer = layer.exemplars(Exemplars::new());
    for header in [Some(UNSAMPLED), None, Some("00-zz-yy-01"), Some("")] {
        exchange(&layer, request(header), ok()).await;
    }
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    assert!(exemplars(&text).is_empty(), "{text}");
    assert!(
        text.contains("http_server_request_duration_seconds_count{"),
        "{text}"
    );
}

#[tokio::test]
async fn without_exemplars_configured_the_header_is_not_read() {
    let (registry, layer) = layer_on("/x");
    exchange(&layer, request(Some(SAMPLED)), ok()).await;
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    assert!(exemplars(&text).is_empty(), "{text}");
}

#[tokio::test]
async fn one_exemplar_per_bucket_the_latest() {
    let (registry, layer) = layer_on("/x");
    let layer = layer.exemplars(Exemplars::new());
    let later = "00-11111111111111111111111111111111-2222222222222222-01";
    exchange(&layer, request(Some(SAMPLED)), ok()).await;
    exchange(&layer, request(Some(later)), ok()).await;
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    let found = exemplars(&text);
    // Both requests are fast and land in the first bucket: it keeps the later one.
    assert_eq!(found.len(), 1, "{text}");
    assert_eq!(found[0].1, "11111111111111111111111111111111");
}

#[tokio::test]
async fn a_slow_request_marks_a_higher_bucket() {
    let (registry, layer) = layer_on("/x");
    let layer = layer.exemplars(Exemplars::new());
    exchange(&layer, request(Some(SAMPLED)), ok()).await;
    let slow = "00-33333333333333333333333333333333-4444444444444444-01";
    let service = tower::Layer::layer(
        &layer,
        tower::service_fn(|_: Request<()>| async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok::<_, std::convert::Infallible>(ok())
        }),
    );
    let response = tower::ServiceExt::oneshot(service, request(Some(slow)))
        .await
        .expect("response");
    http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body");
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    let found = exemplars(&text);
    assert_eq!(found.len(), 2, "{text}");
    let slow_one = found
        .iter()
        .find(|e| e.1 == "33333333333333333333333333333333");
    let (le, _, _, value) = slow_one.expect("the slow request's exemplar");
    assert!(*value >= 0.03, "{value}");
    assert_ne!(
        le,
        &found
            .iter()
            .find(|e| e.1 != "33333333333333333333333333333333")
            .expect("the fast one")
            .0
    );
}

#[tokio::test]
async fn the_function_is_asked_when_nothing_else_answers() {
    let (registry, layer) = layer_on("/x");
    let layer = layer.exemplars(Exemplars::new().or_else(|headers, _| {
        let id = headers.get("x-request-trace")?.to_str().ok()?;
        let trace: [u8; 16] = u128::from_str_radix(id, 16).ok()?.to_be_bytes();
        Exemplar::new(trace, [9; 8])
    }));
    let mut custom = request(None);
    custom
        .headers_mut()
        .insert("x-request-trace", "abcdef".parse().expect("header"));
    exchange(&layer, custom, ok()).await;
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    let found = exemplars(&text);
    assert_eq!(found.len(), 1, "{text}");
    assert_eq!(found[0].1, "00000000000000000000000000abcdef");
    assert_eq!(found[0].2, "0909090909090909");

    // The traceparent header comes first; turned off, it is not read.
    let (registry, layer) = layer_on("/x");
    let layer = layer.exemplars(Exemplars::new().traceparent(false));
    exchange(&layer, request(Some(SAMPLED)), ok()).await;
    let text = registry.encode(Format::OpenMetrics).expect("encode");
    assert!(exemplars(&text).is_empty(), "{text}");
}

#[cfg(feature = "opentelemetry")]
#[tokio::test]
async fn the_current_opentelemetry_span_comes_first() {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };

    let span = |flags| {
        SpanContext::new(
            TraceId::from_bytes([0x5a; 16]),
            SpanId::from_bytes([0x6b; 8]),
            flags,
            false,
            TraceState::default(),
        )
    };
    for (flags, expected) in [
        (TraceFlags::SAMPLED, "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"),
        // An unsampled span gives way to the header.
        (TraceFlags::default(), "4bf92f3577b34da6a3ce929d0e0e4736"),
    ] {
        let (registry, layer) = layer_on("/x");
        let layer = layer.exemplars(Exemplars::new());
        let context = opentelemetry::Context::new().with_remote_span_context(span(flags));
        let mut service = tower::Layer::layer(
            &layer,
            tower::service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(ok()) }),
        );
        // The layer reads the context in `call`, as a tracing layer outside it would have it.
        let future = {
            let _entered = context.attach();
            tower::Service::call(&mut service, request(Some(SAMPLED)))
        };
        let response = future.await.expect("response");
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body");
        let text = registry.encode(Format::OpenMetrics).expect("encode");
        let found = exemplars(&text);
        assert_eq!(found.len(), 1, "{text}");
        assert_eq!(found[0].1, expected);
    }
}
