//! (a) Per-request cost, in-process and single-threaded: bare axum, this toolkit's layer and the
//! peers, in the same run. Report the difference to `bare` as the added cost.

use benches::variants::Variant;
use criterion::{criterion_group, criterion_main, Criterion};

fn per_request(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_request");
    for variant in Variant::ALL {
        let router = variant.app();
        // Warm up label sets and lazily created state outside the measurement.
        for _ in 0..100 {
            variant.send(&router);
        }
        group.bench_function(variant.name(), |b| b.iter(|| variant.send(&router)));
    }
    group.finish();
}

criterion_group!(benches, per_request);
criterion_main!(benches);
