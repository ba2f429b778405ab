//! (b) Two threads recording into the same label sets versus one: the time per request seen by
//! each thread (wall time / requests per thread). With no shared lock the ratio stays well under
//! 2x; the bare router is measured the same way for reference.

use std::hint::black_box;
use std::time::{Duration, Instant};

use benches::drive;
use benches::variants::Variant;
use criterion::{criterion_group, criterion_main, Criterion};
use metrics_toolkit::http::Outcome;
use metrics_toolkit::{HttpServerMetrics, MetricsRegistry};

/// Runs `work` `iters` times on each of `threads` threads at once; returns the wall time.
fn on_threads(threads: usize, iters: u64, work: &(dyn Fn() + Sync)) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    let start = std::sync::Mutex::new(None::<Instant>);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                start
                    .lock()
                    .expect("start time")
                    .get_or_insert_with(Instant::now);
                for _ in 0..iters {
                    work();
                }
            });
        }
    });
    let started = start
        .lock()
        .expect("start time")
        .unwrap_or_else(Instant::now);
    started.elapsed()
}

fn contention(c: &mut Criterion) {
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    let http = HttpServerMetrics::builder().register(&registry);
    let record = || {
        let mut request = http.start_request(&http::Method::GET, Some("/users/{id}"));
        request.set_status(200);
        request.finish(Outcome::Completed);
    };
    let around = Variant::OursAround.app();
    let inside = Variant::Ours.app();
    let bare = Variant::Bare.app();
    let around_router = || {
        black_box(drive::one_request(&around));
    };
    let router_layer = || {
        black_box(drive::one_request(&inside));
    };
    let through_bare = || {
        black_box(drive::one_request(&bare));
    };
    let mut group = c.benchmark_group("contention");
    let cases: [(&str, &(dyn Fn() + Sync)); 4] = [
        ("record", &record),
        ("layer-around-router", &around_router),
        ("layer-router-layer", &router_layer),
        ("bare-router", &through_bare),
    ];
    for (name, work) in cases {
        for threads in [1, 2] {
            group.bench_function(format!("{name}/{threads}-threads"), |b| {
                b.iter_custom(|iters| on_threads(threads, iters, work))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, contention);
criterion_main!(benches);
