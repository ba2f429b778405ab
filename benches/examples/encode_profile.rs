//! Encodes N label sets repeatedly and prints the time per scrape: `encode_profile N ROUNDS`,
//! for profiling the encoder outside criterion.

use std::time::Instant;

use benches::label_sets;
use metrics_toolkit::Format;

fn main() {
    let mut args = std::env::args().skip(1);
    let label_sets: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let start = Instant::now();
    let (registry, _http) = label_sets::with_label_sets(label_sets);
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
