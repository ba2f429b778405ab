//! (c) Encoding time versus label-set count, ours and prometheus-client's encoder on the same
//! data (a duration histogram and a request counter per label set, 14 buckets), and
//! (d) the cost of recording while another thread encodes.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use benches::label_sets;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use metrics_toolkit::http::Outcome;
use metrics_toolkit::metric::OTEL_HTTP_DURATION_SECONDS;
use metrics_toolkit::{Format, HttpServerMetrics};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

const SIZES: [usize; 4] = [100, 1_000, 10_000, 100_000];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    http_request_method: &'static str,
    http_route: String,
    http_response_status_code: u16,
}

fn theirs(label_sets: usize) -> Registry {
    fn histogram() -> Histogram {
        Histogram::new(OTEL_HTTP_DURATION_SECONDS)
    }
    let duration: Family<Labels, Histogram, fn() -> Histogram> =
        Family::new_with_constructor(histogram);
    let requests: Family<Labels, Counter> = Family::default();
    for i in 0..label_sets {
        let labels = Labels {
            http_request_method: "GET",
            http_route: format!("/route/{i}"),
            http_response_status_code: 200,
        };
        duration.get_or_create(&labels).observe(0.003);
        requests.get_or_create(&labels).inc();
    }
    let mut registry = Registry::default();
    registry.register_with_unit(
        "http_server_request_duration",
        "Duration",
        Unit::Seconds,
        duration,
    );
    registry.register("http_server_requests", "Requests", requests);
    registry
}

/// Protobuf, 10,000 label sets: ours (the HTTP families written directly) against
/// prometheus-client 0.26's protobuf encoder on its own families holding the same data.
fn encode_protobuf(c: &mut Criterion) {
    let mut group = c.benchmark_group("protobuf");
    group.sample_size(10);
    let size = 10_000;
    let (registry, _http) = label_sets::with_label_sets(size);
    let theirs = theirs(size);
    let mut buffer = Vec::new();
    group.bench_with_input(BenchmarkId::new("ours", size), &size, |b, _| {
        b.iter(|| {
            buffer.clear();
            registry
                .encode_into_bytes(Format::Protobuf, &mut buffer)
                .expect("encode");
            black_box(buffer.len())
        })
    });
    group.bench_with_input(
        BenchmarkId::new("prometheus-client", size),
        &size,
        |b, _| {
            b.iter(|| {
                let bytes =
                    prometheus_client::encoding::prometheus_protobuf::encode_to_vec(&theirs)
                        .expect("encode");
                black_box(bytes.len())
            })
        },
    );
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.sample_size(10);
    for size in SIZES {
        let (registry, _http) = label_sets::with_label_sets(size);
        let prometheus_client_registry = theirs(size);
        // Every variant writes into a reused buffer, as a long-running exporter can: this
        // measures the encoders, not the kernel zeroing fresh pages for a new buffer each time.
        let mut buffer = String::new();
        for (name, format) in [
            ("ours-openmetrics", Format::OpenMetrics),
            ("ours-text-0.0.4", Format::PrometheusText),
        ] {
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter(|| {
                    buffer.clear();
                    registry.encode_into(format, &mut buffer).expect("encode");
                    black_box(buffer.len())
                })
            });
        }
        group.bench_with_input(
            BenchmarkId::new("prometheus-client-openmetrics", size),
            &size,
            |b, _| {
                b.iter(|| {
                    buffer.clear();
                    prometheus_client::encoding::text::encode(
                        &mut buffer,
                        &prometheus_client_registry,
                    )
                    .expect("encode");
                    black_box(buffer.len())
                })
            },
        );
    }
    group.finish();
}

/// One request on a known label set, as the layer records it.
fn record_one(http: &HttpServerMetrics) {
    let mut request = http.start_request(&http::Method::GET, Some("/route/7"));
    request.set_status(200);
    request.finish(Outcome::Completed);
}

fn record_while_encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("record_while_encoding");
    let (registry, http) = label_sets::with_label_sets(10_000);
    group.bench_function("idle", |b| b.iter(|| record_one(&http)));
    let stop = Arc::new(AtomicBool::new(false));
    let encoder = {
        let (registry, stop) = (registry.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut scrapes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                black_box(registry.encode(Format::OpenMetrics).expect("encode"));
                scrapes += 1;
            }
            scrapes
        })
    };
    group.bench_function("while-encoding-10k-label-sets", |b| {
        b.iter(|| record_one(&http))
    });
    stop.store(true, Ordering::Relaxed);
    let scrapes = encoder.join().expect("encoder thread");
    eprintln!("record_while_encoding: {scrapes} full scrapes ran during the measurement");
    group.finish();
}

criterion_group!(benches, encode_protobuf, encode, record_while_encoding);
criterion_main!(benches);
