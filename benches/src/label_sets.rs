//! A registry holding N label sets (one GET 200 request on each of N routes), for the encode
//! bench and the encode profiler.

use metrics_toolkit::http::Outcome;
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};

/// A registry whose HTTP families hold `label_sets` label sets.
pub fn with_label_sets(label_sets: usize) -> (MetricsRegistry, HttpServerMetrics) {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder()
        .max_label_sets(label_sets + 1)
        .register(&registry);
    for i in 0..label_sets {
        let mut request = http.start_request(&http::Method::GET, Some(&format!("/route/{i}")));
        request.set_status(200);
        request.finish(Outcome::Completed);
    }
    (registry, http)
}
