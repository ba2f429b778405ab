//! Classic bucket counts derived from native ones, for histograms that keep both: what lets a
//! native observation cost one counter add, as a classic one does.
//!
//! Native buckets are finer than classic ones: each lies inside one classic bucket except the
//! few that *straddle* a classic bound (hold values on both sides of it). A histogram with native
//! buckets therefore counts no classic bucket; a reading adds every native bucket to the classic
//! bucket of its highest value. The observations of a straddling bound's native bucket that are
//! `<= bound k` are counted apart, instead of in the native counter, in the histogram's classic
//! cell `k` (otherwise unused): the reading adds them to classic bucket `k` and back to their
//! native bucket. Every observation is thus one add, to one counter or the other.
//!
//! Exact for every value: the native bucket of a value never decreases as the value grows (see
//! [`bucket_key`]), nor does its classic bucket, so each native bucket spans a run of classic
//! buckets, and which ones is decided with the very functions the observations use. NaN is in no native bucket and, as `Buckets::index_of` says, in `+Inf`.

use std::sync::Arc;

use super::native::{bucket_key, NativeCounts};
use super::{Buckets, Striped};

/// How the classic buckets of a histogram are read from its native counts: per classic bucket,
/// `+Inf` last, the native bucket its bound lies in and whether it straddles. Shared by the
/// histograms of one classic and native layout (cached in their [`Buckets`]).
#[derive(Debug, Clone)]
pub(crate) struct ClassicFromNative {
    schema: i8,
    zero_threshold: f64,
    bounds: Arc<[Bound]>,
    /// Per position of the native flat window (see `NativeCounts::window`), the classic buckets
    /// its native bucket spans: found with one load instead of the search through the bounds.
    /// Empty when there are too many bounds for `u16`.
    window: Arc<[Span]>,
}

/// The classic buckets a native bucket's values fall in: `low..=high`.
#[derive(Debug, Clone, Copy)]
struct Span {
    low: u16,
    high: u16,
}

#[derive(Debug, Clone, Copy)]
struct Bound {
    /// The native bucket key of the bound (unused for `+Inf`).
    key: i64,
    /// For a straddling bound, the lowest value of its native bucket: the observations of this
    /// classic bucket that are `>= floor` lie in that native bucket and are counted apart. NaN
    /// (no value is `>=` it) for a bound on a native bucket's top edge and for `+Inf`.
    floor: f64,
}

impl Bound {
    fn straddles(self) -> bool {
        !self.floor.is_nan()
    }
}

impl ClassicFromNative {
    /// The layout for `buckets` over `native`'s buckets; computed once per [`Buckets`] and
    /// native configuration (a few hundred native index computations per bound).
    pub(crate) fn of(buckets: &Buckets, native: &NativeCounts) -> Self {
        let config = native.config();
        let cache = buckets.native_layout_cache();
        if let Some(cached) = cache.get() {
            if cached.schema == config.schema()
                && cached.zero_threshold.to_bits() == config.zero_threshold().to_bits()
            {
                return cached.clone();
            }
        }
        let layout = Self::new(buckets.bounds(), native);
        // Another configuration may have won the slot: this histogram then keeps its own.
        let _ = cache.set(layout.clone());
        layout
    }

    fn new(bounds: &[f64], native: &NativeCounts) -> Self {
        let bounds: Arc<[Bound]> = bounds
            .iter()
            .map(|&bound| {
                let key = native.key_of(bound);
                // `+ 0.0` turns -0.0 into 0.0: the next value above either is the smallest
                // positive one (-0.0 and 0.0 are equal, so 0.0 is not above -0.0).
                let above = (bound + 0.0).next_up();
                let floor = if native.key_of(above) == key {
                    lowest_of_bucket(native, key, bound)
                } else {
                    f64::NAN
                };
                Bound { key, floor }
            })
            .chain(std::iter::once(Bound {
                key: i64::MAX,
                floor: f64::NAN,
            }))
            .collect();
        let (first, len) = native.window();
        let window: Arc<[Span]> = if bounds.len() <= usize::from(u16::MAX) {
            (0..len)
                .map(|position| {
                    let key = bucket_key(false, first + position as i32);
                    let finite = &bounds[..bounds.len() - 1];
                    // In range: checked above.
                    Span {
                        low: finite.partition_point(|bound| bound.key < key) as u16,
                        high: top_bucket(&bounds, key) as u16,
                    }
                })
                .collect()
        } else {
            Arc::new([])
        };
        let config = native.config();
        Self {
            schema: config.schema(),
            zero_threshold: config.zero_threshold(),
            bounds,
            window,
        }
    }

    /// The classic bucket of `value` (as [`Buckets::index_of`]) and whether the observation is
    /// counted in that bucket's straddle counter rather than its native one, given the native
    /// counter's window position. The hot path: in the window, one load, and a comparison only
    /// in a native bucket a bound lies in; outside, the search and one comparison.
    #[inline]
    pub(crate) fn locate(&self, buckets: &Buckets, value: f64, window: usize) -> (usize, bool) {
        match self.window.get(window) {
            Some(span) => {
                let (low, high) = (usize::from(span.low), usize::from(span.high));
                let inner = buckets.bounds().get(low..high).unwrap_or_default();
                let index = low + inner.iter().take_while(|&&bound| bound < value).count();
                (index, index < high)
            }
            None => {
                let index = buckets.index_of(value);
                (index, self.straddles(index, value))
            }
        }
    }

    /// Whether an observation of `value`, in classic bucket `index`, is counted in that
    /// bucket's straddle counter rather than its native one. One load and one comparison: the
    /// hot path.
    #[inline]
    fn straddles(&self, index: usize, value: f64) -> bool {
        let floor = self.bounds.get(index).map_or(f64::NAN, |bound| bound.floor);
        value >= floor
    }

    /// Starts a reading: the straddle counters of `cells` (the histogram's classic cells) go to
    /// the tail of `counts`; the native counters are then [`added`](Derivation::add) and
    /// [`finish`](Derivation::finish) leaves the classic counts in `counts` (`+Inf` last).
    pub(crate) fn begin<'a>(&'a self, cells: &Striped, counts: &'a mut Vec<u64>) -> Derivation<'a> {
        let buckets = self.bounds.len();
        counts.clear();
        counts.resize(buckets, 0);
        counts.extend(self.bounds.iter().enumerate().map(|(index, bound)| {
            if bound.straddles() {
                cells.total(index)
            } else {
                0
            }
        }));
        Derivation {
            bounds: &self.bounds,
            counts,
        }
    }
}

/// A classic reading in progress (see [`ClassicFromNative::begin`]).
pub(crate) struct Derivation<'a> {
    bounds: &'a [Bound],
    /// The classic counts, then as many straddle counts.
    counts: &'a mut Vec<u64>,
}

impl Derivation<'_> {
    /// Adds `count` observations of the native counter of bucket `key` to the classic bucket
    /// of its highest value.
    pub(crate) fn add(&mut self, key: i64, count: u64) {
        let index = self.top_bucket(key);
        self.counts[index] += count;
    }

    /// Adds NaN observations: in the `+Inf` bucket.
    pub(crate) fn add_nan(&mut self, count: u64) {
        let last = self.bounds.len() - 1;
        self.counts[last] += count;
    }

    /// Adds each straddle count to its classic bucket and hands it to `native` as `(native
    /// bucket key, count)`, for the native reading to add it to that bucket; leaves the classic
    /// counts alone in `counts`.
    pub(crate) fn finish(self, mut native: impl FnMut(i64, u64)) {
        let buckets = self.bounds.len();
        for (index, bound) in self.bounds.iter().enumerate() {
            let straddled = self.counts[buckets + index];
            if straddled != 0 {
                self.counts[index] += straddled;
                native(bound.key, straddled);
            }
        }
        self.counts.truncate(buckets);
    }

    /// The classic bucket of the highest value of native bucket `key`: one past every bound
    /// below that value, i.e. the bounds of lower native buckets and the straddling bounds of
    /// this one (its bound on the top edge, if any, is that value's bucket). Below `+Inf`'s
    /// index, so in range.
    fn top_bucket(&self, key: i64) -> usize {
        top_bucket(self.bounds, key)
    }
}

/// See [`Derivation::top_bucket`]; `bounds` ends with `+Inf`'s entry.
fn top_bucket(bounds: &[Bound], key: i64) -> usize {
    let finite = &bounds[..bounds.len() - 1];
    finite.partition_point(|bound| bound.key < key || (bound.key == key && bound.straddles()))
}

/// The lowest value (`-Inf` included) in the native bucket `key`, which holds `bound`: a binary
/// search over the ordered floats up to `bound`, with the observations' own bucket function.
fn lowest_of_bucket(native: &NativeCounts, key: i64, bound: f64) -> f64 {
    let (mut low, mut high) = (
        i128::from(order(f64::NEG_INFINITY)),
        i128::from(order(bound)),
    );
    while low < high {
        let middle = low + (high - low) / 2;
        // Between two i64 values: the conversion is exact.
        if native.key_of(unorder(middle as i64)) >= key {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    unorder(low as i64)
}

/// The float's place in IEEE total order as an integer (-0.0 just below 0.0; NaNs aside).
fn order(value: f64) -> i64 {
    let bits = value.to_bits() as i64;
    // Negative floats order backwards: flip all their bits but the sign.
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// The inverse of [`order`] (the same flip).
fn unorder(ordered: i64) -> f64 {
    f64::from_bits((ordered ^ (((ordered >> 63) as u64) >> 1) as i64) as u64)
}

#[cfg(test)]
mod tests {
    use super::super::native::NativeCounts;
    use super::super::{Buckets, HistogramCore, NativeBuckets, NativeSnapshot, Stripe};

    /// Values across bounds and buckets: pseudo-random ones over 80 octaves of both signs,
    /// every bound and its neighbours, native bucket edges, the zero threshold and its
    /// neighbours, zeros, extremes, subnormals, infinities and NaN.
    fn values(bounds: &[f64], zero_threshold: f64) -> Vec<f64> {
        let mut values = Vec::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            let magnitude = (unit * 80.0 - 40.0).exp2();
            values.push(if state & 1 == 0 {
                magnitude
            } else {
                -magnitude
            });
        }
        let mut edges: Vec<f64> = bounds.to_vec();
        edges.extend([zero_threshold, -zero_threshold, 0.0, -0.0]);
        edges.extend((-20..=20).map(|k| (f64::from(k) / 8.0).exp2()));
        edges.extend((-20..=20).map(|k| 2f64.powi(k * 4)));
        for edge in edges {
            values.extend([edge, edge.next_up(), edge.next_down()]);
            values.extend([-edge, (-edge).next_up(), (-edge).next_down()]);
        }
        values.extend([
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            1e-300,
            -1e300,
        ]);
        values
    }

    fn layouts() -> Vec<Vec<f64>> {
        vec![
            // OpenTelemetry's: most bounds straddle a native bucket.
            super::super::OTEL_HTTP_DURATION_SECONDS.to_vec(),
            // Powers of two: on native bucket edges at schemas >= 0.
            vec![0.25, 0.5, 1.0, 2.0, 4.0, 1024.0],
            // Several bounds inside one native bucket.
            vec![1.0, 1.001, 1.002, 1.003, 1.05],
            // Negative bounds, zero, and bounds inside a zero threshold of 0.01.
            vec![-100.0, -1.0, -0.5, -0.005, 0.0, 0.005, 0.01, 1.0],
            vec![-0.0, 1e-9],
            // Outside the flat window, and the extremes.
            vec![-f64::MAX, -1e200, 1e-12, 1e12, 1e300, f64::MAX],
            vec![f64::from_bits(1), f64::MIN_POSITIVE, 3e-39],
        ]
    }

    #[test]
    fn derived_classic_counts_equal_a_classic_histogram() {
        let configs = [-4i8, -1, 0, 1, 3, 8]
            .into_iter()
            .flat_map(|schema| {
                [NativeBuckets::DEFAULT_ZERO_THRESHOLD, 0.0, 0.01].map(move |threshold| {
                    NativeBuckets::default()
                        .with_schema(schema)
                        .and_then(|native| native.with_zero_threshold(threshold))
                        .map(|native| native.with_max_buckets(0))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        for bounds in layouts() {
            let buckets = Buckets::new(bounds.clone()).unwrap();
            for config in &configs {
                let values = values(&bounds, config.zero_threshold());
                let classic = HistogramCore::new(buckets.clone());
                let native = HistogramCore::with_native(buckets.clone(), config.clone());
                let reference = NativeCounts::new(config.clone());
                let stripe = Stripe::current();
                for &value in &values {
                    let expected = buckets.index_of(value);
                    assert_eq!(classic.observe_on(stripe, value), expected);
                    assert_eq!(
                        native.observe_on(stripe, value),
                        expected,
                        "{bounds:?} {config:?}: bucket of {value:e}"
                    );
                    reference.observe(value);
                }
                let context = format!("{bounds:?} {config:?}");
                let mut classic_counts = Vec::new();
                classic.read_into(&mut classic_counts);
                // The text path (derived from the live counters) and the protobuf path (from
                // one native reading) both give the classic histogram's counts.
                let mut counts = Vec::new();
                native.read_into(&mut counts);
                assert_eq!(counts, classic_counts, "{context}: read_into");
                let mut snapshot = NativeSnapshot::default();
                native.read_native_into(&mut counts, &mut snapshot);
                assert_eq!(counts, classic_counts, "{context}: read_native_into");
                assert_eq!(
                    snapshot.count_with_nan(),
                    values.len() as u64,
                    "{context}: count"
                );
                assert_eq!(counts.iter().sum::<u64>(), values.len() as u64);
                // The straddle counts are back in their native buckets.
                let mut expected = NativeSnapshot::default();
                reference.read_counts(&mut expected);
                reference.finish_reading(&mut expected);
                assert_eq!(snapshot, expected, "{context}: native buckets");
                assert!(native.has_observations());
            }
        }
    }

    #[test]
    fn resolution_reduction_keeps_native_and_classic_exact() {
        let buckets = Buckets::default();
        let config = NativeBuckets::default().with_max_buckets(20);
        let native = HistogramCore::with_native(buckets.clone(), config.clone());
        let classic = HistogramCore::new(buckets.clone());
        let reference = NativeCounts::new(config);
        let values = values(buckets.bounds(), NativeBuckets::DEFAULT_ZERO_THRESHOLD);
        for &value in &values {
            native.observe(value);
            classic.observe(value);
            reference.observe(value);
        }
        let (mut counts, mut classic_counts) = (Vec::new(), Vec::new());
        let mut snapshot = NativeSnapshot::default();
        native.read_native_into(&mut counts, &mut snapshot);
        classic.read_into(&mut classic_counts);
        assert_eq!(counts, classic_counts);
        let mut expected = NativeSnapshot::default();
        reference.read_counts(&mut expected);
        reference.finish_reading(&mut expected);
        assert!(expected.schema < 3, "reduced to schema {}", expected.schema);
        assert_eq!(snapshot, expected);
        assert_eq!(snapshot.count_with_nan(), values.len() as u64);
    }

    #[test]
    fn only_values_below_a_bound_in_its_native_bucket_are_counted_apart() {
        // Schema 0: 0.75 lies in native bucket (0.5, 1]; 1.0 is that bucket's top edge.
        let buckets = Buckets::new([0.75, 1.0]).unwrap();
        let native = NativeBuckets::default().with_schema(0).unwrap();
        let h = HistogramCore::with_native(buckets.clone(), native);
        let stripe = Stripe::current();
        for value in [0.6, 0.75, 0.8, 1.0, 0.3, 2.0] {
            h.observe_on(stripe, value);
        }
        // 0.6 and 0.75: bucket (0.5, 1] below the bound 0.75, counted apart; the others in
        // their native counters.
        assert_eq!(h.cells().total(0), 2);
        assert_eq!(h.cells().total(1), 0);
        assert_eq!(h.cells().total(2), 0);
        assert_eq!(h.snapshot().counts, [3, 2, 1]);
        let native = h.snapshot().native.unwrap();
        assert_eq!(
            native.positive.buckets().collect::<Vec<_>>(),
            [(-1, 1), (0, 4), (1, 1)]
        );
    }

    #[test]
    fn the_layout_is_shared_by_histograms_of_one_configuration() {
        let buckets = Buckets::default();
        let first = HistogramCore::with_native(buckets.clone(), NativeBuckets::default());
        let second = HistogramCore::with_native(buckets.clone(), NativeBuckets::default());
        let other = NativeBuckets::default().with_schema(1).unwrap();
        let third = HistogramCore::with_native(buckets, other);
        let layout = |h: &HistogramCore| h.classic_from_native().unwrap().bounds.clone();
        assert!(std::sync::Arc::ptr_eq(&layout(&first), &layout(&second)));
        assert!(!std::sync::Arc::ptr_eq(&layout(&first), &layout(&third)));
        third.observe(1.5);
        assert_eq!(third.snapshot().count(), 1);
    }
}
