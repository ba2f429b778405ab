//! A lock-free histogram that plugs into prometheus-client's registry.

use std::sync::atomic::Ordering;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

use super::{Buckets, Stripe, Striped};

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
#[derive(Debug, Clone)]
pub struct Histogram(std::sync::Arc<HistogramCore>);

/// The state of a [`Histogram`], held inline by the HTTP series (no `Arc` per histogram).
#[derive(Debug)]
pub struct HistogramCore {
    buckets: Buckets,
    /// Per stripe: the non-cumulative bucket counts (`+Inf` last), then the sum as `f64` bits.
    cells: Striped,
}

/// A point-in-time copy of a histogram's state.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Sum of all observed values.
    pub sum: f64,
    /// Non-cumulative count per bucket; the last entry is the `+Inf` bucket.
    pub counts: Vec<u64>,
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
        Self { buckets, cells }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.observe_on(Stripe::current(), value);
    }

    /// Records one observation in the cells of `stripe`; returns the index of the bucket it
    /// was counted in (for its exemplar).
    #[inline]
    pub(crate) fn observe_on(&self, stripe: Stripe, value: f64) -> usize {
        let index = self.buckets.index_of(value);
        self.cells.on(stripe, index).fetch_add(1, Ordering::Relaxed);
        // A CAS loop on the f64 bits of this thread's stripe: it succeeds at once unless another
        // thread shares the stripe.
        let sum = self.cells.on(stripe, self.sum_index());
        let mut current = sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            // Release, and Acquire where the sum is read: a reader that sees this value also
            // sees the bucket increment above (free on x86, where the CAS is a full barrier).
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
    /// observations landing during the read, never behind).
    pub(crate) fn read_into(&self, counts: &mut Vec<u64>) -> f64 {
        let sum = self.sum();
        counts.clear();
        counts.extend((0..self.sum_index()).map(|index| self.cells.total(index)));
        sum
    }

    /// Whether anything was observed yet.
    pub(crate) fn has_observations(&self) -> bool {
        (0..self.sum_index()).any(|index| self.cells.total(index) != 0)
    }

    /// Copies the current state.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = Vec::with_capacity(self.sum_index());
        let sum = self.read_into(&mut counts);
        HistogramSnapshot { sum, counts }
    }

    /// Writes this histogram's samples through prometheus-client's encoder.
    pub fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.snapshot();
        encode_snapshot(&self.buckets, &snapshot, &mut encoder)
    }
}

/// Encodes a snapshot as a classic histogram (prometheus-client accumulates the buckets).
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
    encoder.encode_histogram::<NoLabelSet>(snapshot.sum, snapshot.count(), &pairs, None)
}

impl Histogram {
    /// An empty histogram with the given buckets.
    pub fn new(buckets: Buckets) -> Self {
        Self(std::sync::Arc::new(HistogramCore::new(buckets)))
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
}
