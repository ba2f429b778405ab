//! Steady state allocates nothing per request in the layer: a counting global allocator
//! measures the layer's own work (request start, response wrap, body end, recording), with the
//! inner service's allocations excluded.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Extensions, Request, Response, Uri};
use http_body::Body;
use http_body_util::Full;
use metrics_axum::{MetricsLayer, RouteExtractor, RouteTable};
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
use tower::{Layer, Service};

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct CountingAllocator;

// SAFETY: forwards every call to the system allocator unchanged; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn count() {
    // `try_with`: the thread-local may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn set_counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}

/// The route template, put in the request's extensions by the test the way a router would.
#[derive(Clone, Copy)]
struct Template(&'static str);

struct TemplateRoute;

impl RouteExtractor for TemplateRoute {
    fn route<'a>(&'a self, _uri: &'a Uri, extensions: &'a Extensions) -> Option<&'a str> {
        extensions.get::<Template>().map(|t| t.0)
    }
}

/// The inner service: its own allocations are not the layer's, so counting pauses inside it.
fn inner(request: Request<()>) -> std::future::Ready<Result<Response<Full<Bytes>>, Infallible>> {
    set_counting(false);
    let status = request.extensions().get::<u16>().copied().unwrap_or(200);
    let mut response = Response::new(Full::new(Bytes::from_static(b"hello")));
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    set_counting(true);
    std::future::ready(Ok(response))
}

fn request(route: Option<&'static str>, status: u16, method: http::Method) -> Request<()> {
    let mut request = Request::builder()
        .method(method)
        .uri("/users/42?x=1")
        // Read only by a layer with exemplars on.
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(())
        .expect("request");
    if let Some(route) = route {
        request.extensions_mut().insert(Template(route));
    }
    request.extensions_mut().insert(status);
    request
}

/// Drives one request through the service and its response body to the end.
fn drive<S>(service: &mut S, request: Request<()>)
where
    S: Service<Request<()>, Response = Response<metrics_axum::ResponseBody<Full<Bytes>>>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    let future = pin!(service.call(request));
    let Poll::Ready(result) = future.poll(&mut cx) else {
        panic!("the inner future is always ready");
    };
    let response = result.expect("infallible");
    let mut body = pin!(response.into_body());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
        frame.expect("frame");
    }
    assert!(body.is_end_stream());
}

/// Where the layer's exemplars come from in a run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ExemplarSource {
    Off,
    /// The request's `traceparent` header.
    Header,
    /// A function of the user's: `ActiveRequest::set_exemplar`, the path the OpenTelemetry span
    /// takes too.
    Function,
}

#[test]
fn no_allocation_per_request_once_label_sets_are_known() {
    for source in [
        ExemplarSource::Off,
        ExemplarSource::Header,
        ExemplarSource::Function,
    ] {
        no_allocation_per_request(source);
    }
}

fn no_allocation_per_request(source: ExemplarSource) {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let mut layer = MetricsLayer::new(http.clone()).route_extractor(TemplateRoute);
    let traceparent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    layer = match source {
        ExemplarSource::Off => layer,
        ExemplarSource::Header => layer.exemplars(metrics_axum::Exemplars::new()),
        ExemplarSource::Function => layer.exemplars(
            metrics_axum::Exemplars::new()
                .traceparent(false)
                .or_else(|_, _| metrics_toolkit::http::Exemplar::from_traceparent(traceparent)),
        ),
    };
    let mut service = layer.layer(tower::service_fn(inner));

    // A mix of label sets: routes, unmatched, methods, a 5xx.
    let mix = [
        (Some("/users/{id}"), 200, http::Method::GET),
        (Some("/users/{id}"), 201, http::Method::POST),
        (Some("/orders/{id}"), 500, http::Method::GET),
        (None, 404, http::Method::GET),
        (Some("/users/{id}"), 204, http::Method::DELETE),
    ];
    let rounds = 2_000;
    // Requests are built before counting starts: building them is the caller's cost.
    let mut warm_up: Vec<_> = mix
        .iter()
        .map(|(r, s, m)| request(*r, *s, m.clone()))
        .collect();
    let mut steady: Vec<_> = (0..rounds)
        .flat_map(|_| mix.iter().map(|(r, s, m)| request(*r, *s, m.clone())))
        .collect();

    for request in warm_up.drain(..) {
        drive(&mut service, request);
    }
    ALLOCATIONS.with(|n| n.set(0));
    set_counting(true);
    for request in steady.drain(..) {
        drive(&mut service, request);
    }
    set_counting(false);
    let allocations = ALLOCATIONS.with(Cell::get);
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} requests",
        rounds * mix.len()
    );

    // And the requests were all recorded.
    let text = registry.encode(Format::PrometheusText).expect("encode");
    let expected = format!(
        "http_server_requests_total{{http_request_method=\"GET\",http_route=\"/users/{{id}}\",http_response_status_code=\"200\",url_scheme=\"http\"}} {}",
        rounds + 1
    );
    assert!(text.contains(&expected), "{text}");
    assert_eq!(http.active_requests(), 0);
    let openmetrics = registry.encode(Format::OpenMetrics).expect("encode");
    let with_exemplar =
        "# {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"}";
    assert_eq!(
        openmetrics.contains(with_exemplar),
        source != ExemplarSource::Off,
        "{source:?}\n{openmetrics}"
    );
}

#[test]
fn allocation_counter_sees_the_first_label_set() {
    // The counter must be able to fail: the first request of a new label set allocates it.
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let mut service = MetricsLayer::new(http)
        .route_extractor(TemplateRoute)
        .layer(tower::service_fn(inner));
    let first = request(Some("/new/{id}"), 200, http::Method::GET);
    ALLOCATIONS.with(|n| n.set(0));
    set_counting(true);
    drive(&mut service, first);
    set_counting(false);
    assert!(ALLOCATIONS.with(Cell::get) > 0);
}

#[test]
fn no_allocation_per_request_with_a_route_table() {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let table = RouteTable::new([
        "/users/{id}",
        "/users/me",
        "/orders/{id}/items/{item}",
        "/files/{*path}",
    ])
    .expect("table");
    let mut service = MetricsLayer::new(http.clone())
        .routes(table)
        .layer(tower::service_fn(inner));
    let paths = [
        "/users/42",
        "/users/me",
        "/orders/7/items/3?full=1",
        "/files/css/site.css",
        "/nowhere",
        "/metrics",
    ];
    let build = |path: &str| {
        let mut request = Request::get(path).body(()).expect("request");
        request.extensions_mut().insert(200u16);
        request
    };
    for path in paths {
        drive(&mut service, build(path));
    }
    let rounds = 2_000;
    let mut steady: Vec<_> = (0..rounds)
        .flat_map(|_| paths.iter().map(|p| build(p)))
        .collect();
    ALLOCATIONS.with(|n| n.set(0));
    set_counting(true);
    for request in steady.drain(..) {
        drive(&mut service, request);
    }
    set_counting(false);
    assert_eq!(ALLOCATIONS.with(Cell::get), 0);

    let text = registry.encode(Format::PrometheusText).expect("encode");
    for (route, count) in [
        ("/users/{id}", rounds + 1),
        ("/users/me", rounds + 1),
        ("/orders/{id}/items/{item}", rounds + 1),
        ("/files/{*path}", rounds + 1),
        ("", rounds + 1),
    ] {
        // Requests that matched no route have no `http_route` label.
        let route = if route.is_empty() {
            String::new()
        } else {
            format!(",http_route=\"{route}\"")
        };
        let line = format!(
            "http_server_requests_total{{http_request_method=\"GET\"{route},http_response_status_code=\"200\",url_scheme=\"http\"}} {count}"
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
    assert!(!text.contains("/metrics\""), "excluded by default");
}

/// An inner service answering with `axum::body::Body`, as a `Router` does.
fn axum_inner(
    _request: Request<()>,
) -> std::future::Ready<Result<Response<axum::body::Body>, Infallible>> {
    set_counting(false);
    let response = Response::new(axum::body::Body::from("hello"));
    set_counting(true);
    std::future::ready(Ok(response))
}

#[test]
fn axum_body_output_boxes_only_bodies_still_being_recorded() {
    let http = HttpServerMetrics::builder().build();
    let table = RouteTable::new(["/users/{id}"]).expect("table");
    let mut service = MetricsLayer::new(http)
        .routes(table)
        .axum_body()
        .layer(tower::service_fn(axum_inner));
    let mut cx = Context::from_waker(Waker::noop());
    let mut allocations_for = |path: &str| {
        let request = Request::get(path).body(()).expect("request");
        ALLOCATIONS.with(|n| n.set(0));
        set_counting(true);
        let future = pin!(service.call(request));
        let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
            panic!("ready");
        };
        let mut body = pin!(response.into_body());
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            frame.expect("frame");
        }
        set_counting(false);
        ALLOCATIONS.with(Cell::get)
    };
    // Warm up the label set.
    allocations_for("/users/1");
    // Recorded: the layer's body boxed into axum's, one allocation.
    assert_eq!(allocations_for("/users/2"), 1);
    // Excluded: axum's body handed on as it is.
    assert_eq!(allocations_for("/metrics"), 0);
}
