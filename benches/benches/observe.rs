//! Observing into a classic `Histogram` versus one that also keeps native buckets
//! (`Histogram::with_native`), in the same run, on realistic durations: a fixed pseudo-random
//! sequence, log-uniform between 100 us and 2 s. The budget: native <= 1.2x classic.
//!
//! Besides criterion's estimates, an interleaved pass (classic and native blocks alternating,
//! so machine noise hits both alike) prints the median ratio.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_toolkit::metric::{Buckets, Histogram, NativeBuckets};

/// 4,096 durations in seconds, log-uniform in [100 us, 2 s] (xorshift, fixed seed).
fn durations() -> Vec<f64> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let (low, high) = (1e-4f64.ln(), 2f64.ln());
    (0..4_096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            (low + unit * (high - low)).exp()
        })
        .collect()
}

/// Observes `iters` durations, cycling through the sequence; returns the time taken.
fn observe(histogram: &Histogram, durations: &[f64], iters: u64) -> Duration {
    let mask = durations.len() - 1;
    let start = Instant::now();
    for i in 0..iters as usize {
        histogram.observe(black_box(durations[i & mask]));
    }
    start.elapsed()
}

fn observe_bench(c: &mut Criterion) {
    let durations = durations();
    let classic = Histogram::new(Buckets::default());
    let native = Histogram::with_native(Buckets::default(), NativeBuckets::default());
    // First use allocates the chunks of the octaves hit; measure the steady state.
    observe(&classic, &durations, 4_096);
    observe(&native, &durations, 4_096);

    let mut group = c.benchmark_group("observe");
    group.bench_function("classic", |b| {
        b.iter_custom(|iters| observe(&classic, &durations, iters))
    });
    group.bench_function("classic+native", |b| {
        b.iter_custom(|iters| observe(&native, &durations, iters))
    });
    group.finish();

    // Interleaved blocks: the median of the per-round ratios.
    const BLOCK: u64 = 1 << 20;
    let mut ratios: Vec<f64> = (0..21)
        .map(|_| {
            let classic = observe(&classic, &durations, BLOCK).as_secs_f64();
            let native = observe(&native, &durations, BLOCK).as_secs_f64();
            native / classic
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let per_observation =
        |h: &Histogram| observe(h, &durations, BLOCK).as_secs_f64() * 1e9 / BLOCK as f64;
    eprintln!(
        "observe: classic {:.2} ns, classic+native {:.2} ns; native/classic ratio, median of 21 \
         interleaved rounds: {:.3} (range {:.3} to {:.3})",
        per_observation(&classic),
        per_observation(&native),
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
    );
}

criterion_group!(benches, observe_bench);
criterion_main!(benches);
