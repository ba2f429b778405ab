//! A lock-free histogram that plugs into prometheus-client's registry.

use std::sync::atomic::Ordering;

use prometheus_client::encoding::{
    EncodeMetric, MetricEncoder, NativeHistogram, NativeHistogramBuckets, NoLabelSet,
};
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::classic_from_native::ClassicFromNative;
use super::native::NativeCounts;
use super::{Buckets, NativeBuckets, NativeSnapshot, NativeSpans, Stripe, Striped};

/// A histogram whose observations are a few relaxed atomic adds: no lock, no allocation. The
/// cells are striped per thread, so threads recording into the same histogram do not contend
/// for one cache line.
///
/// The count is not stored apart from the buckets: it is their sum, so a scrape's `_count`
/// always equals its `+Inf` bucket, even while requests are being recorded.
///
/// ```
/// use metrics_toolkit::metric::{Buckets, Histogram};
/// use prometheus_client::registry::{Registry, Unit};
///
/// let histogram = Histogram::new(Buckets::new([0.1, 1.0]).unwrap());
/// histogram.observe(0.05);
/// histogram.observe(3.0);
/// assert_eq!(histogram.snapshot().count(), 2);
///
/// let mut registry = Registry::default();
/// registry.register_with_unit("job_duration", "Job run time", Unit::Seconds, histogram.clone());
/// ```
///
/// With native buckets ([`Histogram::with_native`]) the histogram keeps both: the classic
/// buckets for the text formats, and Prometheus' native (exponential) buckets, which only
/// protobuf carries. Observing stays lock-free; their counters are allocated once, the first
/// time a value lands in a range not seen before (see [`NativeBuckets`]). The classic counts
/// are then read from the finer native ones, exactly (a value equal to a bound is in that
/// bucket, as always), so an observation costs about what a classic one does.
#[derive(Debug, Clone)]
pub struct Histogram(std::sync::Arc<HistogramCore>);

/// The state of a [`Histogram`], held inline by the HTTP series (no `Arc` per histogram).
#[derive(Debug)]
pub struct HistogramCore {
    buckets: Buckets,
    /// Per stripe: the non-cumulative bucket counts (`+Inf` last), then the sum as `f64` bits.
    /// With native buckets on, a bucket's cell counts only its straddle observations (see
    /// [`ClassicFromNative`]): the classic counts are derived from the native ones.
    cells: Striped,
    /// The native buckets, when on. Boxed: a classic histogram stays one pointer larger.
    native: Option<Box<Native>>,
}

/// A histogram's native counts and how its classic counts are read from them.
#[derive(Debug)]
struct Native {
    counts: NativeCounts,
    classic: ClassicFromNative,
}

/// A point-in-time copy of a histogram's state.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Sum of all observed values.
    pub sum: f64,
    /// Non-cumulative count per bucket; the last entry is the `+Inf` bucket.
    pub counts: Vec<u64>,
    /// The native buckets, when the histogram keeps them. Their count is the same `count()`:
    /// `native.count()` equals it unless NaNs were observed (those are in no bucket).
    pub native: Option<NativeSnapshot>,
}

impl HistogramSnapshot {
    /// Number of observations (the sum of all buckets).
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

impl HistogramCore {
    /// An empty histogram with the given buckets.
    pub fn new(buckets: Buckets) -> Self {
        // 0.0f64 is all zero bits, so fresh cells already hold a zero sum.
        let cells = Striped::new(buckets.bounds().len() + 2);
        Self {
            buckets,
            cells,
            native: None,
        }
    }

    /// An empty histogram with classic `buckets` and native buckets as `native` configures.
    pub fn with_native(buckets: Buckets, native: NativeBuckets) -> Self {
        let counts = NativeCounts::new(native);
        let classic = ClassicFromNative::of(&buckets, &counts);
        Self {
            native: Some(Box::new(Native { counts, classic })),
            ..Self::new(buckets)
        }
    }

    /// The native bucket configuration, when on.
    pub fn native_buckets(&self) -> Option<&NativeBuckets> {
        self.native.as_deref().map(|native| native.counts.config())
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.observe_on(Stripe::current(), value);
    }

    /// Records one observation in the cells of `stripe`; returns the index of the classic
    /// bucket it counted in (`bounds().len()` is `+Inf`).
    #[inline(always)]
    pub(crate) fn observe_on(&self, stripe: Stripe, value: f64) -> usize {
        let index = match &self.native {
            None => {
                let index = self.buckets.index_of(value);
                self.cells.on(stripe, index).fetch_add(1, Ordering::Relaxed);
                index
            }
            Some(native) => {
                // Every lookup before the first atomic add: locked adds stall the loads after
                // them.
                let (counter, window) = native.counts.counter_of(value);
                let (index, straddles) = native.classic.locate(&self.buckets, value, window);
                // The native count is the classic count too, but for values below a bound in
                // the bound's native bucket, counted in the bound's cell instead: one add, as
                // for a classic histogram.
                if straddles {
                    self.cells.on(stripe, index).fetch_add(1, Ordering::Relaxed);
                } else {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                index
            }
        };
        // A CAS loop on the f64 bits of this thread's stripe: it succeeds at once unless another
        // thread shares the stripe.
        let sum = self.cells.on(stripe, self.sum_index());
        let mut current = sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            // Release, and Acquire where the sum is read: a reader that sees this value also
            // sees the bucket increments above (free on x86, where the CAS is a full barrier).
            match sum.compare_exchange_weak(current, next, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        index
    }

    /// Number of buckets, `+Inf` included.
    pub(crate) fn bucket_count(&self) -> usize {
        self.buckets.bounds().len() + 1
    }

    #[inline]
    fn sum_index(&self) -> usize {
        self.buckets.bounds().len() + 1
    }

    fn sum(&self) -> f64 {
        self.cells
            .stripes(self.sum_index())
            .map(|cell| f64::from_bits(cell.load(Ordering::Acquire)))
            .sum()
    }

    /// Copies the bucket counts into `counts` (cleared first) and returns the sum: the one
    /// reading every encoder uses. The sum is read first, then the counts, so an observation
    /// in the sum is always in the counts too (`_count` may be ahead of `_sum` by the
    /// observations landing during the read, never behind). With native buckets on, the
    /// counts are derived from them (no allocation once `counts` has grown).
    pub(crate) fn read_into(&self, counts: &mut Vec<u64>) -> f64 {
        let sum = self.sum();
        match &self.native {
            None => {
                counts.clear();
                counts.extend((0..self.sum_index()).map(|index| self.cells.total(index)));
            }
            Some(native) => {
                let mut classic = native.classic.begin(&self.cells, counts);
                native
                    .counts
                    .for_each_count(|key, count| classic.add(key, count));
                classic.add_nan(native.counts.nan_count());
                classic.finish(|_, _| {});
            }
        }
        sum
    }

    /// [`Self::read_into`], and the native buckets into `native` when they are on (whether
    /// they are: [`Self::native_buckets`]). Both come from one reading of the counters, so the
    /// native buckets (and NaNs) add up to the classic count, as Prometheus checks.
    /// Buffers are reused: a scrape reading many histograms into the same ones allocates only
    /// while they grow.
    pub(crate) fn read_native_into(
        &self,
        counts: &mut Vec<u64>,
        native: &mut NativeSnapshot,
    ) -> f64 {
        let Some(parts) = &self.native else {
            return self.read_into(counts);
        };
        let sum = self.sum();
        let mut classic = parts.classic.begin(&self.cells, counts);
        parts.counts.read_counts(native);
        // At the configured schema: before `finish_reading` may lower it.
        native.for_each_read_count(|key, count| classic.add(key, count));
        classic.add_nan(native.nan_count());
        classic.finish(|key, count| native.add_read_count(key, count));
        parts.counts.finish_reading(native);
        sum
    }

    /// The classic cells (with native buckets on, the straddle counts), for tests.
    #[cfg(test)]
    pub(crate) fn cells(&self) -> &Striped {
        &self.cells
    }

    /// How the classic counts are derived, with native buckets on; for tests.
    #[cfg(test)]
    pub(crate) fn classic_from_native(&self) -> Option<&ClassicFromNative> {
        self.native.as_ref().map(|native| &native.classic)
    }

    /// Whether anything was observed yet.
    pub(crate) fn has_observations(&self) -> bool {
        // With native buckets on, the cells hold the straddle counts and the native counters
        // the other observations (NaNs included).
        (0..self.sum_index()).any(|index| self.cells.total(index) != 0)
            || self
                .native
                .as_ref()
                .is_some_and(|native| native.counts.has_observations())
    }

    /// Copies the current state.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = Vec::with_capacity(self.sum_index());
        let mut native = self.native.as_ref().map(|_| NativeSnapshot::default());
        let sum = match &mut native {
            Some(native) => self.read_native_into(&mut counts, native),
            None => self.read_into(&mut counts),
        };
        HistogramSnapshot {
            sum,
            counts,
            native,
        }
    }

    /// Writes this histogram's samples through prometheus-client's encoder.
    pub fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.snapshot();
        encode_snapshot(&self.buckets, &snapshot, &mut encoder)
    }
}

/// Encodes a snapshot as a classic histogram (prometheus-client accumulates the buckets), with
/// its native buckets when it has them (only protobuf writes those; text keeps the classic).
pub(crate) fn encode_snapshot(
    buckets: &Buckets,
    snapshot: &HistogramSnapshot,
    encoder: &mut MetricEncoder,
) -> Result<(), std::fmt::Error> {
    let pairs: Vec<(f64, u64)> = buckets
        .bounds()
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(snapshot.counts.iter().copied())
        .collect();
    let count = snapshot.count();
    match &snapshot.native {
        None => encoder.encode_histogram::<NoLabelSet>(snapshot.sum, count, &pairs, None),
        Some(native) => encoder.encode_histogram_with_native::<NoLabelSet>(
            snapshot.sum,
            count,
            &pairs,
            None,
            native_histogram(native),
        ),
    }
}

/// The native part as prometheus-client's encoders take it.
fn native_histogram(native: &NativeSnapshot) -> NativeHistogram<'_> {
    fn side(spans: &NativeSpans) -> NativeHistogramBuckets<'_> {
        NativeHistogramBuckets {
            spans: &spans.spans,
            deltas: &spans.deltas,
        }
    }
    NativeHistogram {
        schema: native.schema,
        zero_threshold: native.zero_threshold,
        zero_count: native.zero_count,
        negative: side(&native.negative),
        positive: side(&native.positive),
        created: None,
    }
}

impl Histogram {
    /// An empty histogram with the given buckets.
    pub fn new(buckets: Buckets) -> Self {
        Self(std::sync::Arc::new(HistogramCore::new(buckets)))
    }

    /// An empty histogram with classic `buckets` and native buckets as `native` configures
    /// (both kept: text scrapers see the classic ones, protobuf carries both).
    ///
    /// ```
    /// use metrics_toolkit::metric::{Buckets, Histogram, NativeBuckets};
    ///
    /// let histogram = Histogram::with_native(Buckets::default(), NativeBuckets::default());
    /// histogram.observe(0.25);
    /// histogram.observe(-1.0);
    /// let snapshot = histogram.snapshot();
    /// let native = snapshot.native.as_ref().unwrap();
    /// assert_eq!(native.schema, 3);
    /// // 0.25 = 2^-2 closes bucket -2 * 2^3; -1.0 is in bucket 0 of the negative side.
    /// assert_eq!(native.positive.buckets().collect::<Vec<_>>(), [(-16, 1)]);
    /// assert_eq!(native.negative.buckets().collect::<Vec<_>>(), [(0, 1)]);
    /// assert_eq!(native.count(), snapshot.count());
    /// ```
    pub fn with_native(buckets: Buckets, native: NativeBuckets) -> Self {
        Self(std::sync::Arc::new(HistogramCore::with_native(
            buckets, native,
        )))
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.0.observe(value)
    }

    /// Copies the current state.
    pub fn snapshot(&self) -> HistogramSnapshot {
        self.0.snapshot()
    }

    /// The native bucket configuration, when the histogram keeps native buckets.
    pub fn native_buckets(&self) -> Option<&NativeBuckets> {
        self.0.native_buckets()
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_equals_sum_of_buckets_and_sum_adds_up() {
        let h = Histogram::new(Buckets::new([1.0, 2.0]).unwrap());
        for v in [0.5, 1.0, 1.5, 10.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![2, 1, 1]);
        assert_eq!(s.count(), 4);
        assert_eq!(s.sum, 13.0);
    }

    #[test]
    fn a_reading_never_has_an_observation_in_the_sum_that_the_counts_miss() {
        // Every observation is 1.0, so a consistent reading has sum <= count.
        let h = HistogramCore::new(Buckets::default());
        let done = std::sync::atomic::AtomicBool::new(false);
        let mut counts = Vec::new();
        std::thread::scope(|scope| {
            let observer = scope.spawn(|| {
                for _ in 0..2_000_000 {
                    h.observe_on(Stripe::current(), 1.0);
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                }
            });
            for _ in 0..20_000 {
                let sum = h.read_into(&mut counts);
                let count: u64 = counts.iter().sum();
                if sum > count as f64 {
                    done.store(true, Ordering::Relaxed);
                    panic!("sum {sum} ahead of count {count}");
                }
                if observer.is_finished() {
                    break;
                }
            }
            done.store(true, Ordering::Relaxed);
        });
    }

    #[test]
    fn native_readings_during_observations_agree_with_their_sum() {
        // 0.005 straddles a native bucket at schema 3 (and is a classic bound): observations
        // of it go to a straddle counter, those of 1.0 to a native one. A reading's classic
        // and native counts agree, and its sum is never ahead of them.
        let h = HistogramCore::with_native(Buckets::default(), NativeBuckets::default());
        let done = std::sync::atomic::AtomicBool::new(false);
        let (mut counts, mut native) = (Vec::new(), NativeSnapshot::default());
        std::thread::scope(|scope| {
            let observer = scope.spawn(|| {
                for i in 0..2_000_000u32 {
                    h.observe_on(Stripe::current(), if i % 2 == 0 { 0.005 } else { 1.0 });
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                }
            });
            for _ in 0..20_000 {
                let sum = h.read_native_into(&mut counts, &mut native);
                let count: u64 = counts.iter().sum();
                let agree = native.count_with_nan() == count && sum <= count as f64;
                if !agree {
                    done.store(true, Ordering::Relaxed);
                    panic!(
                        "sum {sum}, count {count}, native {}",
                        native.count_with_nan()
                    );
                }
                if observer.is_finished() {
                    break;
                }
            }
            done.store(true, Ordering::Relaxed);
        });
        let s = h.snapshot();
        // Every 0.005 in bucket le=0.005, every 1.0 in le=1.0.
        assert_eq!(s.counts[0] + s.counts[9], s.count());
        assert_eq!(s.counts[0], s.count().div_ceil(2));
        // All of them through the straddle counter.
        assert_eq!(h.cells.total(0), s.counts[0]);
    }

    #[test]
    fn concurrent_observations_are_all_counted() {
        let h = Histogram::new(Buckets::default());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| (0..10_000).for_each(|_| h.observe(0.25)));
            }
        });
        let s = h.snapshot();
        assert_eq!(s.count(), 40_000);
        assert_eq!(s.sum, 10_000.0);
    }

    #[test]
    fn observe_on_returns_the_classic_bucket() {
        let h =
            HistogramCore::with_native(Buckets::new([1.0, 2.0]).unwrap(), NativeBuckets::default());
        let stripe = Stripe::current();
        assert_eq!(h.observe_on(stripe, 0.5), 0);
        assert_eq!(h.observe_on(stripe, 2.0), 1);
        assert_eq!(h.observe_on(stripe, 9.0), 2);
        assert_eq!(h.observe_on(stripe, f64::NAN), 2);
    }

    #[test]
    fn native_and_classic_share_count_and_sum() {
        let h = Histogram::with_native(Buckets::new([1.0]).unwrap(), NativeBuckets::default());
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let h = &h;
                scope.spawn(move || (0..5_000).for_each(|i| h.observe(f64::from(i % 7 + thread))));
            }
        });
        h.observe(f64::NAN);
        let s = h.snapshot();
        let native = s.native.as_ref().unwrap();
        assert_eq!(s.count(), 20_001);
        // The NaN is counted, in no native bucket.
        assert_eq!(native.count(), 20_000);
        assert_eq!(native.count_with_nan(), 20_001);
        assert!(s.sum.is_nan());
        assert_eq!(h.native_buckets(), Some(&NativeBuckets::default()));
        assert_eq!(Histogram::new(Buckets::default()).snapshot().native, None);
    }

    #[test]
    fn text_keeps_the_classic_buckets() {
        let h = Histogram::with_native(Buckets::new([1.0]).unwrap(), NativeBuckets::default());
        h.observe(0.5);
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("job", "Jobs", h);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("job_bucket{le=\"1.0\"} 1\n"), "{text}");
        assert!(text.contains("job_count 1\n"), "{text}");
    }
}
