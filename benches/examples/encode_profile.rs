//! Encodes N label sets repeatedly and prints the time per scrape: `encode_profile N ROUNDS`,
//! for profiling the encoder outside criterion.

use std::time::Instant;

use metrics_core::http::Outcome;
use metrics_core::{Format, HttpServerMetrics, MetricsRegistry};

fn main() {
    let mut args = std::env::args().skip(1);
    let label_sets: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder()
        .max_label_sets(label_sets + 1)
        .register(&registry);
    let start = Instant::now();
    for i in 0..label_sets {
        let mut request = http.start_request(&http::Method::GET, Some(&format!("/route/{i}")));
        request.set_status(200);
        request.finish(Outcome::Completed);
    }
    println!("created {label_sets} label sets in {:?}", start.elapsed());
    for format in [Format::OpenMetrics, Format::PrometheusText] {
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..rounds {
            bytes = registry.encode(format).expect("encode").len();
        }
        println!(
            "{format:?}: {:?} per scrape, {bytes} bytes",
            start.elapsed() / rounds as u32
        );
        let mut reused = String::new();
        let start = Instant::now();
        for _ in 0..rounds {
            reused.clear();
            registry.encode_into(format, &mut reused).expect("encode");
        }
        println!(
            "{format:?} into a reused buffer: {:?} per scrape",
            start.elapsed() / rounds as u32
        );
    }
}
