//! Memory: what one label set costs, and no growth when the same label sets are recorded
//! forever. A counting global allocator tracks live bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use metrics_toolkit::http::Outcome;
use metrics_toolkit::metric::{Buckets, Histogram, NativeBuckets};
use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};

struct LiveBytes;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only tracks sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn record(http: &HttpServerMetrics, route: &str, status: u16) {
    let mut request = http.start_request(&http::Method::GET, Some(route));
    request.set_status(status);
    request.finish(Outcome::Completed);
}

// One test function: the allocator counts every thread, so parallel tests would disturb it.
#[test]
fn label_set_cost_is_bounded_and_steady_state_does_not_grow() {
    for native in [false, true] {
        for first_byte in [false, true] {
            check(first_byte, native);
        }
    }
    native_histogram_steady_state_does_not_grow();
}

/// Observations that hit buckets already used allocate nothing: a fixed set of durations
/// recorded again and again.
fn native_histogram_steady_state_does_not_grow() {
    let histogram = Histogram::with_native(Buckets::default(), NativeBuckets::default());
    let durations: Vec<f64> = (0..1_000).map(|i| 0.000_1 * 1.01f64.powi(i)).collect();
    let before = live();
    durations.iter().for_each(|&d| histogram.observe(d));
    let first_use = live() - before;
    let before = live();
    for _ in 0..100 {
        durations.iter().for_each(|&d| histogram.observe(d));
    }
    assert_eq!(live() - before, 0, "native buckets grew in steady state");
    // 100 us to 2 s: in the flat window of 2^-16 to 2^16 s, 256 counters at schema 3.
    println!("native buckets, 100 us to 2 s at schema 3: {first_use} bytes on first use");
    assert_eq!(first_use, 2_048, "{first_use} bytes");
}

fn check(first_byte: bool, native: bool) {
    let mut builder = HttpServerMetrics::builder().time_to_first_byte(first_byte);
    if native {
        builder = builder.native_histograms(NativeBuckets::default());
    }
    let http = builder.build();
    let routes: Vec<String> = (0..1_000).map(|i| format!("/route/{i:04}")).collect();
    record(&http, "/warm", 200);

    // New series on one route (statuses 200..=599): the histogram label set alone.
    let before = live();
    for status in 200..600 {
        record(&http, "/warm", status);
    }
    let per_series = (live() - before) / 400;

    // New routes, one series each: route handle plus its series.
    let before = live();
    for route in &routes {
        record(&http, route, 200);
    }
    let per_route = (live() - before) / routes.len() as isize;
    let on_off = |on: bool| if on { "on" } else { "off" };
    println!(
        "bytes per histogram label set, native buckets {}, time to first byte {}: \
         {per_series} (on an existing route), {per_route} (new route)",
        on_off(native),
        on_off(first_byte)
    );
    // Native buckets, per histogram: the positive side table (592 bytes), and the flat window
    // (2 KB) or, for the microsecond requests of this test, a group of chunk slots (768 bytes)
    // and the chunks they hit.
    let histograms = if first_byte { 2 } else { 1 };
    let native_bytes = if native { histograms * 3_072 } else { 0 };
    assert!(
        per_series < 2_048 + native_bytes,
        "{per_series} bytes per label set"
    );
    assert!(
        per_route < 8_192 + native_bytes,
        "{per_route} bytes per route"
    );

    // The same label sets recorded again and again: not one byte more.
    let before = live();
    for _ in 0..200 {
        for route in &routes {
            record(&http, route, 200);
        }
        for status in 200..600 {
            record(&http, "/warm", status);
        }
    }
    let grown = live() - before;
    if native {
        // Native buckets allocate a chunk (64 bytes at schema 3) the first time a duration
        // lands in a new octave, so timing noise may add a few; never more than the bound of
        // one more group of chunk slots and a few chunks per histogram on average. The exact
        // no-growth check for native buckets is `native_histogram_steady_state_does_not_grow`.
        let series = (routes.len() + 401) as isize;
        assert!(
            grown < series * 1_024,
            "live bytes grew by {grown} in steady state"
        );
    } else {
        assert_eq!(grown, 0, "live bytes grew in steady state");
    }

    // Scrapes free what they allocate.
    let registry = MetricsRegistry::builder()
        .process_metrics(false)
        .build()
        .expect("registry");
    registry.register_http_server_metrics(&http);
    let text = registry.encode(Format::PrometheusText).expect("encode");
    drop(text);
    let before = live();
    for _ in 0..5 {
        drop(registry.encode(Format::OpenMetrics).expect("encode"));
    }
    assert_eq!(live() - before, 0, "scrapes leaked");
}
