//! `http_server_active_requests`: requests counted while their guards live, per method, however
//! and on whichever thread they end.

use metrics_toolkit::http::Outcome;
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};

fn gauge(registry: &MetricsRegistry, method: &str) -> Option<String> {
    let text = registry.encode(Format::PrometheusText).expect("encode");
    let prefix = format!("http_server_active_requests{{http_request_method=\"{method}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(str::to_owned)
}

#[test]
fn counts_guards_alive_per_method_across_routes_and_threads() {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let users = http.route(Some("/users/{id}"));

    let mut held = vec![
        users.start_request(&http::Method::GET),
        users.start_request(&http::Method::GET),
        http.start_request(&http::Method::GET, Some("/orders/{id}")),
        http.start_request(&http::Method::GET, None),
        users.start_request(&http::Method::POST),
    ];
    // Started on other threads (other stripes), still held here.
    for _ in 0..3 {
        let users = users.clone();
        held.push(
            std::thread::spawn(move || users.start_request(&http::Method::DELETE))
                .join()
                .expect("thread"),
        );
    }
    assert_eq!(http.active_requests(), 8);
    assert_eq!(gauge(&registry, "GET").as_deref(), Some("4"));
    assert_eq!(gauge(&registry, "POST").as_deref(), Some("1"));
    assert_eq!(gauge(&registry, "DELETE").as_deref(), Some("3"));
    assert_eq!(
        gauge(&registry, "PUT"),
        None,
        "methods never seen are not exported"
    );

    // Finished here, finished on another thread, dropped (aborted): each leaves the gauge.
    let delete = held.pop().expect("held");
    std::thread::spawn(move || delete.finish(Outcome::Completed))
        .join()
        .expect("thread");
    held.pop().expect("held").finish(Outcome::Failed);
    drop(held.pop());
    assert_eq!(gauge(&registry, "DELETE").as_deref(), Some("0"));
    assert_eq!(http.active_requests(), 5);

    for request in held.drain(..) {
        request.finish(Outcome::Completed);
    }
    assert_eq!(http.active_requests(), 0);
    assert_eq!(gauge(&registry, "GET").as_deref(), Some("0"));
    // Every request was recorded once.
    let text = registry.encode(Format::PrometheusText).expect("encode");
    let recorded: f64 = text
        .lines()
        .filter(|line| line.starts_with("http_server_requests_total{"))
        .map(|line| {
            line.rsplit(' ')
                .next()
                .expect("value")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    assert_eq!(recorded, 8.0);
}
