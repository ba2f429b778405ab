//! Native (exponential, sparse) histogram buckets: their configuration ([`NativeBuckets`]), the
//! lock-free counts a histogram keeps for them, and their reading ([`NativeSnapshot`]).
//!
//! Prometheus' bucket rule: at schema `s` the base is `2^(2^-s)`, and bucket `i` covers
//! `(base^(i-1), base^i]` for positive values (negative values use the bucket of their absolute
//! value on the negative side). Values with `|v| <= zero_threshold` go to the zero bucket.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The exponential buckets of a Prometheus native histogram.
///
/// The default is schema 3 (bucket factor `2^(2^-3)` = 1.0905, Prometheus' usual factor 1.1
/// rounded to the next schema), client_golang's zero threshold `2^-128`, and at most 160
/// buckets.
///
/// Observations keep the configured schema; a reading (a scrape) lowers the resolution when
/// more buckets are populated than [`max_buckets`](Self::max_buckets), so observing never waits.
/// NaN observations are counted in the histogram's count and sum (which becomes NaN) and in no
/// bucket, as in Prometheus; `+Inf` and `-Inf` go to the highest bucket of their sign (that of
/// `f64::MAX`).
///
/// Memory, per histogram: positive values from `2^-16` to `2^16` (15 us to 18 h in seconds)
/// have flat counters, `32 * max(2^schema, 8)` of them (2 KB at schema 3), allocated on the
/// first such value; other values go to chunks of `max(2^schema, 8)` counters allocated the
/// first time one of their buckets is hit, found through a table per sign (592 bytes at
/// schema 3; the negative one allocated on first use) of groups of 32 chunk slots (768 bytes
/// each, on first use). A latency histogram in seconds thus takes about 2.6 KB. The bound is
/// one chunk per chunk-sized bucket range between the zero threshold and `f64::MAX`, per sign:
/// about 100 KB per sign at schema 3 and threshold `2^-128`, reached only by values spread
/// over all of that range. A larger zero threshold or a lower schema lowers it.
///
/// ```
/// use metrics_toolkit::metric::NativeBuckets;
///
/// let native = NativeBuckets::bucket_factor(1.1).unwrap();
/// assert_eq!(native.schema(), 3);
/// let coarse = NativeBuckets::default()
///     .with_schema(0).unwrap()
///     .with_zero_threshold(1e-6).unwrap()
///     .with_max_buckets(100);
/// assert_eq!(coarse.max_buckets(), 100);
/// assert!(NativeBuckets::default().with_schema(9).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NativeBuckets {
    schema: i8,
    zero_threshold: f64,
    max_buckets: u32,
}

impl NativeBuckets {
    /// The lowest schema Prometheus accepts (bucket factor 65,536).
    pub const MIN_SCHEMA: i8 = -4;
    /// The highest schema Prometheus accepts (bucket factor 1.0027).
    pub const MAX_SCHEMA: i8 = 8;
    /// The default schema, 3: bucket factor 1.0905.
    pub const DEFAULT_SCHEMA: i8 = 3;
    /// The default zero threshold, `2^-128` as client_golang.
    pub const DEFAULT_ZERO_THRESHOLD: f64 = 2.938735877055719e-39;
    /// The default maximum number of buckets exposed, 160.
    pub const DEFAULT_MAX_BUCKETS: u32 = 160;

    /// The buckets of the largest schema whose bucket factor `2^(2^-schema)` is at most
    /// `factor` (as client_golang's `NativeHistogramBucketFactor`; clamped to schema 8 below
    /// its factor, and to -4 above). `factor` must be finite and greater than 1.
    pub fn bucket_factor(factor: f64) -> Result<Self, NativeBucketsError> {
        if !factor.is_finite() || factor <= 1.0 {
            return Err(NativeBucketsError::InvalidBucketFactor { factor });
        }
        let floor = factor.log2().log2().floor();
        let schema = if floor <= -f64::from(Self::MAX_SCHEMA) {
            Self::MAX_SCHEMA
        } else if floor >= -f64::from(Self::MIN_SCHEMA) {
            Self::MIN_SCHEMA
        } else {
            // Between -8 and 4 exclusive: the conversion is exact.
            -(floor as i8)
        };
        Self::default().with_schema(schema)
    }

    /// Sets the schema, from -4 (coarsest) to 8 (finest).
    pub fn with_schema(mut self, schema: i8) -> Result<Self, NativeBucketsError> {
        if !(Self::MIN_SCHEMA..=Self::MAX_SCHEMA).contains(&schema) {
            return Err(NativeBucketsError::SchemaOutOfRange { schema });
        }
        self.schema = schema;
        Ok(self)
    }

    /// Sets the zero threshold: observations with `|v| <= threshold` count in the zero bucket.
    /// Finite and not negative; 0 keeps only exact zeros there.
    pub fn with_zero_threshold(mut self, threshold: f64) -> Result<Self, NativeBucketsError> {
        if !threshold.is_finite() || threshold < 0.0 {
            return Err(NativeBucketsError::InvalidZeroThreshold { threshold });
        }
        self.zero_threshold = threshold;
        Ok(self)
    }

    /// Sets the most buckets (both signs together, the zero bucket aside) a reading exposes; 0
    /// means unlimited. With more populated buckets, the reading lowers the schema one step at
    /// a time (merging bucket pairs) until they fit or the schema is -4. Observations are kept
    /// at the configured schema; only the exposition is coarser.
    pub fn with_max_buckets(mut self, max: u32) -> Self {
        self.max_buckets = max;
        self
    }

    /// The configured schema.
    pub fn schema(&self) -> i8 {
        self.schema
    }

    /// The configured zero threshold.
    pub fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// The configured maximum number of exposed buckets (0: unlimited).
    pub fn max_buckets(&self) -> u32 {
        self.max_buckets
    }
}

impl Default for NativeBuckets {
    fn default() -> Self {
        Self {
            schema: Self::DEFAULT_SCHEMA,
            zero_threshold: Self::DEFAULT_ZERO_THRESHOLD,
            max_buckets: Self::DEFAULT_MAX_BUCKETS,
        }
    }
}

/// Why a native bucket configuration was rejected.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum NativeBucketsError {
    /// The schema is outside -4..=8.
    SchemaOutOfRange {
        /// The schema given.
        schema: i8,
    },
    /// The zero threshold is NaN, infinite or negative.
    InvalidZeroThreshold {
        /// The threshold given.
        threshold: f64,
    },
    /// The bucket factor is NaN, infinite, or not greater than 1.
    InvalidBucketFactor {
        /// The factor given.
        factor: f64,
    },
}

impl fmt::Display for NativeBucketsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SchemaOutOfRange { schema } => write!(
                f,
                "native histogram: schema {schema} is outside -4..=8 (what Prometheus accepts)"
            ),
            Self::InvalidZeroThreshold { threshold } => write!(
                f,
                "native histogram: zero threshold {threshold} must be a finite number >= 0"
            ),
            Self::InvalidBucketFactor { factor } => write!(
                f,
                "native histogram: bucket factor {factor} must be a finite number > 1"
            ),
        }
    }
}

impl std::error::Error for NativeBucketsError {}

/// One side (positive or negative) of a native histogram in Prometheus' sparse form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NativeSpans {
    /// Runs of consecutive buckets as `(offset, length)`: the first offset is the first bucket's
    /// index, each later one the gap after the previous run.
    pub spans: Vec<(i32, u32)>,
    /// Bucket counts, each as the difference from the bucket before (the first absolute).
    pub deltas: Vec<i64>,
}

impl NativeSpans {
    /// Every bucket as `(bucket index, count)`, in index order.
    ///
    /// ```
    /// use metrics_toolkit::metric::NativeSpans;
    ///
    /// let side = NativeSpans { spans: vec![(2, 2), (3, 1)], deltas: vec![4, -1, 2] };
    /// let buckets: Vec<(i32, u64)> = side.buckets().collect();
    /// assert_eq!(buckets, [(2, 4), (3, 3), (7, 5)]);
    /// ```
    pub fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        let mut spans = self.spans.iter();
        let mut deltas = self.deltas.iter();
        let (mut next, mut left, mut count) = (0i32, 0u32, 0i64);
        std::iter::from_fn(move || {
            while left == 0 {
                let &(offset, length) = spans.next()?;
                next = next.wrapping_add(offset);
                left = length;
            }
            left -= 1;
            count += *deltas.next()?;
            let index = next;
            next = next.wrapping_add(1);
            Some((index, count as u64))
        })
    }

    /// The sum of the bucket counts.
    pub fn total(&self) -> u64 {
        self.buckets().map(|(_, count)| count).sum()
    }

    fn clear(&mut self) {
        self.spans.clear();
        self.deltas.clear();
    }

    /// Rewrites this side from `(index, count)` pairs in increasing index order (no zero count).
    fn fill(&mut self, buckets: &[(i32, u64)]) {
        self.clear();
        let mut previous: Option<(i32, u64)> = None;
        for &(index, count) in buckets {
            match previous {
                Some((last, _)) if index == last + 1 => {
                    if let Some(span) = self.spans.last_mut() {
                        span.1 += 1;
                    }
                }
                Some((last, _)) => self.spans.push((index - last - 1, 1)),
                None => self.spans.push((index, 1)),
            }
            let before = previous.map_or(0, |(_, count)| count as i64);
            self.deltas.push(count as i64 - before);
            previous = Some((index, count));
        }
    }
}

/// The native part of a histogram reading, in Prometheus' form.
///
/// The histogram's count and sum are the classic histogram's (one count for both). NaN
/// observations are in that count but in no bucket, as in Prometheus: with NaNs observed,
/// `count()` here is below the histogram's count by their number.
#[derive(Debug, Clone, Default)]
pub struct NativeSnapshot {
    /// The schema of the buckets (below the configured one when resolution was reduced).
    pub schema: i32,
    /// The zero bucket covers `[-zero_threshold, zero_threshold]`.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Buckets of positive observations.
    pub positive: NativeSpans,
    /// Buckets of negative observations (indexed by absolute value).
    pub negative: NativeSpans,
    /// NaN observations (in the histogram's count, in no bucket).
    nan_count: u64,
    /// Reused between readings: `(index, count)` per side at the configured schema.
    scratch: [Vec<(i32, u64)>; 2],
}

impl PartialEq for NativeSnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.schema == other.schema
            && self.zero_threshold == other.zero_threshold
            && self.zero_count == other.zero_count
            && self.positive == other.positive
            && self.negative == other.negative
    }
}

impl NativeSnapshot {
    /// Observations in the zero bucket and the buckets of both signs (NaNs excluded).
    pub fn count(&self) -> u64 {
        self.zero_count + self.positive.total() + self.negative.total()
    }

    /// Observations counted plus NaN observations: equals the histogram's count.
    #[cfg(test)]
    pub(crate) fn count_with_nan(&self) -> u64 {
        self.zero_count + self.nan_count + self.scratch.iter().flatten().map(|b| b.1).sum::<u64>()
    }

    /// NaN observations of the last reading.
    pub(crate) fn nan_count(&self) -> u64 {
        self.nan_count
    }

    /// Every populated bucket of the last [`NativeCounts::read_counts`] as `(bucket key,
    /// count)`, the zero bucket included (see [`bucket_key`]). Only between that reading and
    /// [`NativeCounts::finish_reading`], which may lower the resolution of the counts.
    pub(crate) fn for_each_read_count(&self, mut f: impl FnMut(i64, u64)) {
        if self.zero_count != 0 {
            f(ZERO_BUCKET_KEY, self.zero_count);
        }
        for (side, buckets) in self.scratch.iter().enumerate() {
            for &(index, count) in buckets {
                f(bucket_key(side == 1, index), count);
            }
        }
    }
}

impl NativeSnapshot {
    /// Adds `count` observations to the bucket `key` (see [`bucket_key`]) of the last
    /// [`NativeCounts::read_counts`], inserting it if it was empty; before
    /// [`NativeCounts::finish_reading`]. Allocates only while the buffers grow.
    pub(crate) fn add_read_count(&mut self, key: i64, count: u64) {
        if key == ZERO_BUCKET_KEY {
            self.zero_count += count;
            return;
        }
        let (side, index) = bucket_of_key(key);
        let buckets = &mut self.scratch[side];
        match buckets.binary_search_by_key(&index, |&(index, _)| index) {
            Ok(position) => buckets[position].1 += count,
            Err(position) => buckets.insert(position, (index, count)),
        }
    }
}

/// The window position of a counter outside the flat window (see [`NativeCounts::counter_of`]).
pub(crate) const NOT_IN_WINDOW: usize = usize::MAX;

/// The key of the zero bucket; see [`bucket_key`].
pub(crate) const ZERO_BUCKET_KEY: i64 = 0;

/// A native bucket's place in value order, as one number: the negative buckets (highest index,
/// i.e. lowest values, first), the zero bucket ([`ZERO_BUCKET_KEY`]), then the positive
/// buckets. Keys grow with the values they hold, so a value's key never decreases as the value
/// grows: what lets classic buckets be derived from native ones.
#[inline]
pub(crate) fn bucket_key(negative: bool, index: i32) -> i64 {
    // Indexes are within about +-300,000: the offset keeps both sides clear of zero.
    let key = (1i64 << 32) + i64::from(index);
    if negative {
        -key
    } else {
        key
    }
}

/// The side (0 positive, 1 negative) and index of a bucket key other than the zero bucket's.
fn bucket_of_key(key: i64) -> (usize, i32) {
    let (side, key) = if key < 0 { (1, -key) } else { (0, key) };
    // The inverse of `bucket_key`: back within the index range.
    (side, (key - (1i64 << 32)) as i32)
}

/// Chunks per group in the two-level table (log2).
const GROUP_BITS: u32 = 5;
const GROUP_CHUNKS: usize = 1 << GROUP_BITS;
/// A chunk holds at least this many buckets (log2): 8 counters, one cache line.
const MIN_CHUNK_BITS: u32 = 3;
/// The octave that starts group 0: durations from 2^-16 s (15 us) to 2^16 s share one group.
const ORIGIN_OCTAVE: i32 = -16;

type Chunk = Box<[AtomicU64]>;
type Group = [OnceLock<Chunk>; GROUP_CHUNKS];
type Side = Box<[OnceLock<Box<Group>>]>;

/// The counts of a histogram's native buckets at the configured schema.
///
/// Lock-free: observing is an index computation (exponent bits and, above schema 0, one load
/// from a table of the sub-octave bounds), one `OnceLock` read for the flat window of group 0
/// (three outside it: side table, group, chunk) and one relaxed add. See [`NativeBuckets`] for
/// the memory layout and bound. Resolution reduction happens when reading, so observing never
/// waits.
pub(crate) struct NativeCounts {
    config: NativeBuckets,
    /// Sub-octave bounds, for schemas above 0.
    sub_octave: Option<SubOctave>,
    chunk_bits: u32,
    min_index: i32,
    max_index: i32,
    /// The chunk number that starts group 0, and the lowest group number.
    origin_chunk: i32,
    lowest_group: i32,
    /// The number of the first chunk of the tables, relative to `origin_chunk`.
    first_chunk: i32,
    groups: usize,
    zero: AtomicU64,
    nan: AtomicU64,
    /// Positive buckets' table, allocated up front: one lookup less on the hot path.
    positive: Side,
    /// Negative buckets' table, allocated on first use (negative observations are rare).
    negative: OnceLock<Side>,
    /// The counters of positive group 0, flat (its slot in `positive` stays empty).
    window: OnceLock<Chunk>,
    window_first: i32,
    window_len: usize,
}

impl fmt::Debug for NativeCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeCounts")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl NativeCounts {
    pub(crate) fn new(config: NativeBuckets) -> Self {
        let schema = i32::from(config.schema);
        let sub_octave = (schema > 0).then(|| SubOctave::of(config.schema));
        let chunk_bits = (schema.max(0) as u32).max(MIN_CHUNK_BITS);
        let mut counts = Self {
            sub_octave,
            chunk_bits,
            min_index: 0,
            max_index: 0,
            origin_chunk: 0,
            lowest_group: 0,
            first_chunk: 0,
            groups: 0,
            zero: AtomicU64::new(0),
            nan: AtomicU64::new(0),
            positive: Box::new([]),
            negative: OnceLock::new(),
            window: OnceLock::new(),
            window_first: 0,
            window_len: GROUP_CHUNKS << chunk_bits,
            config,
        };
        // Values above the threshold start in the threshold's bucket (or the smallest
        // subnormal's, with threshold 0); +Inf is counted in the bucket of f64::MAX.
        let smallest = counts.config.zero_threshold.max(f64::from_bits(1));
        counts.min_index = counts.index_of(smallest);
        counts.max_index = counts.index_of(f64::MAX);
        let origin_index = if schema >= 0 {
            ORIGIN_OCTAVE << schema
        } else {
            ORIGIN_OCTAVE >> -schema
        };
        counts.origin_chunk = origin_index >> chunk_bits;
        counts.window_first = counts.origin_chunk << chunk_bits;
        counts.lowest_group = counts.group_of(counts.min_index);
        counts.groups = (counts.group_of(counts.max_index) - counts.lowest_group) as usize + 1;
        counts.first_chunk = counts.origin_chunk + counts.lowest_group * GROUP_CHUNKS as i32;
        counts.positive = new_side(counts.groups);
        counts
    }

    pub(crate) fn config(&self) -> &NativeBuckets {
        &self.config
    }

    /// The bucket index of `value` (positive, not NaN) at the configured schema.
    #[inline]
    fn index_of(&self, value: f64) -> i32 {
        let bits = value.to_bits();
        let exponent = (bits >> 52) as i32 & 0x7ff;
        let mantissa = bits & MANTISSA;
        let schema = i32::from(self.config.schema);
        if exponent == 0 || exponent == 0x7ff {
            return self.index_of_unusual(value);
        }
        // value is in [2^octave, 2^(octave+1)).
        let octave = exponent - 1023;
        match self.sub_octave {
            Some(sub) => (octave << schema) + sub.position(mantissa),
            None => {
                // At schema 0 bucket i is (2^(i-1), 2^i]: exact powers of two close a bucket.
                let index = octave + i32::from(mantissa != 0);
                let shift = -schema;
                (index + ((1 << shift) - 1)) >> shift
            }
        }
    }

    /// Subnormals and infinity: off the hot path.
    #[cold]
    fn index_of_unusual(&self, value: f64) -> i32 {
        if value.is_infinite() {
            // +Inf counts in the highest bucket (that of f64::MAX).
            return self.index_of(f64::MAX);
        }
        // Scaled by 2^64 (exact), a subnormal is a normal number 64 octaves up; 64 octaves are
        // a whole number of buckets at every schema from -4 to 8.
        let scaled = self.index_of(value * 18_446_744_073_709_551_616.0);
        let schema = i32::from(self.config.schema);
        scaled
            - if schema >= 0 {
                64 << schema
            } else {
                64 >> -schema
            }
    }

    #[inline]
    fn group_of(&self, index: i32) -> i32 {
        ((index >> self.chunk_bits) - self.origin_chunk) >> GROUP_BITS
    }

    /// Counts one observation.
    #[cfg(test)]
    pub(crate) fn observe(&self, value: f64) {
        self.counter_of(value).0.fetch_add(1, Ordering::Relaxed);
    }

    /// The counter an observation of `value` adds one to (NaNs have their own), and its
    /// position in the flat window of positive counters ([`NOT_IN_WINDOW`] outside it: see
    /// [`Self::window`]). Found apart from the add so a histogram does every lookup before its
    /// atomic add (locked adds stall the loads after them).
    #[inline]
    pub(crate) fn counter_of(&self, value: f64) -> (&AtomicU64, usize) {
        let magnitude = value.abs();
        // One comparison for the common case: false for NaN and for the zero bucket.
        let beyond_zero = magnitude > self.config.zero_threshold;
        if !beyond_zero {
            return (self.nan_or_zero(value), NOT_IN_WINDOW);
        }
        let index = self.index_of(magnitude);
        let negative = value.is_sign_negative();
        // Positive values of group 0 (at schema 3: 15 us to 18 h, every latency in seconds)
        // have flat counters: two lookups fewer. `window_first` is the group's first index.
        let offset = index.wrapping_sub(self.window_first) as u32 as usize;
        if offset < self.window_len && !negative {
            let window = self.window.get_or_init(|| new_chunk(self.window_len));
            return (&window[offset], offset);
        }
        // The clamp proves the lookups below in range (it never changes a computed index).
        let index = index.clamp(self.min_index, self.max_index);
        let table = if negative {
            self.negative.get_or_init(|| new_side(self.groups))
        } else {
            &self.positive
        };
        let chunk_number = ((index >> self.chunk_bits) - self.first_chunk) as usize;
        // In range: the index is clamped to the range the table was sized for; the slot and
        // the position are masked to their arrays' lengths. `OnceLock` makes first uses
        // race-free: a thread losing the race drops its allocation and uses the winner's.
        let chunk = table[chunk_number >> GROUP_BITS].get_or_init(new_group)
            [chunk_number & (GROUP_CHUNKS - 1)]
            .get_or_init(|| new_chunk(1 << self.chunk_bits));
        (
            &chunk[(index as usize) & ((1 << self.chunk_bits) - 1)],
            NOT_IN_WINDOW,
        )
    }

    /// The flat window of positive counters, as the index of its first bucket and its length:
    /// position `p` counts bucket `first + p` (positive side).
    pub(crate) fn window(&self) -> (i32, usize) {
        (self.window_first, self.window_len)
    }

    #[cold]
    fn nan_or_zero(&self, value: f64) -> &AtomicU64 {
        if value.is_nan() {
            &self.nan
        } else {
            &self.zero
        }
    }

    /// The [`bucket_key`] of the bucket `value` is counted in, by the same rules as
    /// [`Self::counter_of`] (a NaN, counted in no bucket, gets the zero bucket's key: callers
    /// pass numbers).
    pub(crate) fn key_of(&self, value: f64) -> i64 {
        let magnitude = value.abs();
        // As in `counter_of`: false for NaN and for the zero bucket.
        let beyond_zero = magnitude > self.config.zero_threshold;
        if !beyond_zero {
            return ZERO_BUCKET_KEY;
        }
        bucket_key(value.is_sign_negative(), self.index_of(magnitude))
    }

    /// NaN observations.
    pub(crate) fn nan_count(&self) -> u64 {
        self.nan.load(Ordering::Relaxed)
    }

    /// Every populated bucket as `(bucket key, count)`, the zero bucket included; NaNs are
    /// apart ([`Self::nan_count`]). Reads the live counters, allocates nothing.
    pub(crate) fn for_each_count(&self, mut f: impl FnMut(i64, u64)) {
        let zero = self.zero.load(Ordering::Relaxed);
        if zero != 0 {
            f(ZERO_BUCKET_KEY, zero);
        }
        self.for_each_bucket(|side, index, count| f(bucket_key(side == 1, index), count));
    }

    /// Whether anything was observed (a NaN included).
    pub(crate) fn has_observations(&self) -> bool {
        let mut any = self.nan_count() != 0;
        self.for_each_count(|_, _| any = true);
        any
    }

    fn sides(&self) -> [Option<&Side>; 2] {
        [Some(&self.positive), self.negative.get()]
    }

    /// Observations counted in the native part, NaNs included.
    #[cfg(test)]
    fn total(&self) -> u64 {
        let mut total = self.zero.load(Ordering::Relaxed) + self.nan.load(Ordering::Relaxed);
        if let Some(window) = self.window.get() {
            total += window
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum::<u64>();
        }
        for table in self.sides().into_iter().flatten() {
            for chunk in chunks(table) {
                total += chunk.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>();
            }
        }
        total
    }

    /// Reads every count into `snapshot`'s buffers at the configured schema; the spans are
    /// written by [`Self::finish_reading`]. Reuses the buffers: no allocation once they have
    /// grown to the histogram's size.
    pub(crate) fn read_counts(&self, snapshot: &mut NativeSnapshot) {
        snapshot.zero_count = self.zero.load(Ordering::Relaxed);
        snapshot.nan_count = self.nan.load(Ordering::Relaxed);
        snapshot.scratch.iter_mut().for_each(Vec::clear);
        let scratch = &mut snapshot.scratch;
        self.for_each_bucket(|side, index, count| scratch[side].push((index, count)));
    }

    /// Calls `f(side, index, count)` (side 0 positive, 1 negative) for every non-zero counter,
    /// side by side, in increasing index order within a side.
    fn for_each_bucket(&self, mut f: impl FnMut(usize, i32, u64)) {
        for (side, table) in self.sides().into_iter().enumerate() {
            let Some(table) = table else { continue };
            // Chunks come in increasing index order: groups and slots are ordered by index.
            for (group_number, group) in table.iter().enumerate() {
                if side == 0 && group_number as i32 + self.lowest_group == 0 {
                    if let Some(window) = self.window.get() {
                        visit_counts(self.window_first, window, |i, c| f(side, i, c));
                    }
                    continue;
                }
                let Some(group) = group.get() else { continue };
                for (slot, chunk) in group.iter().enumerate() {
                    let Some(chunk) = chunk.get() else { continue };
                    let chunk_number = (group_number as i32 + self.lowest_group)
                        * GROUP_CHUNKS as i32
                        + slot as i32
                        + self.origin_chunk;
                    visit_counts(chunk_number << self.chunk_bits, chunk, |i, c| f(side, i, c));
                }
            }
        }
    }

    /// Lowers the schema of the counts read until they fit `max_buckets`, then writes the
    /// spans and deltas.
    pub(crate) fn finish_reading(&self, snapshot: &mut NativeSnapshot) {
        let mut schema = i32::from(self.config.schema);
        let max = self.config.max_buckets as usize;
        let populated = |s: &NativeSnapshot| s.scratch[0].len() + s.scratch[1].len();
        while max != 0 && populated(snapshot) > max && schema > i32::from(NativeBuckets::MIN_SCHEMA)
        {
            for buckets in &mut snapshot.scratch {
                merge_pairs(buckets);
            }
            schema -= 1;
        }
        snapshot.schema = schema;
        snapshot.zero_threshold = self.config.zero_threshold;
        let [positive, negative] = &snapshot.scratch;
        snapshot.positive.fill(positive);
        snapshot.negative.fill(negative);
        if snapshot.positive.spans.is_empty()
            && snapshot.negative.spans.is_empty()
            && snapshot.zero_count == 0
            && snapshot.zero_threshold == 0.0
        {
            // Prometheus takes a histogram without any bucket, zero bucket or threshold for a
            // classic one; an empty span marks it native (as client_golang does).
            snapshot.positive.spans.push((0, 0));
        }
    }
}

/// Calls `f(index, count)` for the non-zero counters of `counters`, the first of which is
/// bucket `first`.
fn visit_counts(first: i32, counters: &[AtomicU64], mut f: impl FnMut(i32, u64)) {
    for (position, counter) in counters.iter().enumerate() {
        let count = counter.load(Ordering::Relaxed);
        if count != 0 {
            f(first + position as i32, count);
        }
    }
}

/// Halves the resolution of `(index, count)` pairs in increasing order, in place: bucket `i`
/// of schema `s` lies in bucket `ceil(i / 2)` of schema `s - 1`.
fn merge_pairs(buckets: &mut Vec<(i32, u64)>) {
    let mut written = 0;
    for read in 0..buckets.len() {
        let (index, count) = buckets[read];
        let merged = (index + 1) >> 1;
        if written > 0 && buckets[written - 1].0 == merged {
            buckets[written - 1].1 += count;
        } else {
            buckets[written] = (merged, count);
            written += 1;
        }
    }
    buckets.truncate(written);
}

#[cfg(test)]
fn chunks(table: &Side) -> impl Iterator<Item = &Chunk> {
    table
        .iter()
        .filter_map(OnceLock::get)
        .flat_map(|group| group.iter().filter_map(OnceLock::get))
}

#[cold]
fn new_side(groups: usize) -> Side {
    (0..groups).map(|_| OnceLock::new()).collect()
}

#[cold]
fn new_group() -> Box<Group> {
    Box::new(std::array::from_fn(|_| OnceLock::new()))
}

#[cold]
fn new_chunk(len: usize) -> Chunk {
    (0..len).map(|_| AtomicU64::new(0)).collect()
}

/// Where values fall within an octave at schema `s` > 0, by the top `s + 1` bits of their
/// mantissa. The octave's bounds `2^(k/2^s)` (k = 1..2^s) are at least `2^(2^-s) - 1` apart,
/// more than a cell's width `2^-(s+1)`, so a cell holds at most one bound: each entry packs
/// how many bounds lie below the cell (top 12 bits) and the mantissa bits of the next bound
/// (low 52 bits; all ones when none is left), and one comparison finishes the search.
#[derive(Clone, Copy)]
struct SubOctave {
    cells: &'static [u64],
    /// 52 - (s + 1): the shift from mantissa bits to a cell.
    shift: u32,
}

const MANTISSA: u64 = (1 << 52) - 1;

impl SubOctave {
    fn of(schema: i8) -> Self {
        static TABLES: [OnceLock<Box<[u64]>>; NativeBuckets::MAX_SCHEMA as usize] =
            [const { OnceLock::new() }; NativeBuckets::MAX_SCHEMA as usize];
        let schema = schema.clamp(1, NativeBuckets::MAX_SCHEMA) as u32;
        let cells = TABLES[schema as usize - 1].get_or_init(|| Self::cells(schema));
        Self {
            cells,
            shift: 52 - (schema + 1),
        }
    }

    fn cells(schema: u32) -> Box<[u64]> {
        let per_octave = 1u32 << schema;
        let mut bounds: Vec<u64> = (1..per_octave)
            .map(|k| (f64::from(k) / f64::from(per_octave)).exp2().to_bits() & MANTISSA)
            .collect();
        bounds.push(MANTISSA);
        let cell_bits = schema + 1;
        (0..1u64 << cell_bits)
            .map(|cell| {
                let start = cell << (52 - cell_bits);
                let below = bounds.iter().take_while(|&&bound| bound < start).count();
                ((below as u64) << 52) | bounds[below.min(bounds.len() - 1)]
            })
            .collect()
    }

    /// The position within its octave of the bucket of a value with these mantissa bits:
    /// 0 for an exact power of two (it closes the bucket below), else 1 + the bounds below it.
    #[inline]
    fn position(self, mantissa: u64) -> i32 {
        // Always in range: the mantissa has 52 bits, so the cell has `s + 1`.
        let entry = self
            .cells
            .get((mantissa >> self.shift) as usize)
            .copied()
            .unwrap_or(0);
        let below = (entry >> 52) as i32;
        let above_bound = (entry & MANTISSA) < mantissa;
        // Branch-free: an exact power of two is in cell 0, below no bound, at position 0.
        i32::from(mantissa != 0) + below + i32::from(above_bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus' definition with f64 math: the smallest i with base^i >= v.
    fn reference_index(schema: i32, value: f64) -> i32 {
        // base^i = 2^(i * 2^-schema): exact at powers of two.
        let bound = |i: i32| (f64::from(i) * 2f64.powi(-schema)).exp2();
        let mut index = (value.log2() * 2f64.powi(schema)).ceil() as i32;
        // Settle rounding at the bounds with the definition itself.
        while bound(index - 1) >= value {
            index -= 1;
        }
        while bound(index) < value {
            index += 1;
        }
        index
    }

    fn counts(schema: i8) -> NativeCounts {
        NativeCounts::new(NativeBuckets::default().with_schema(schema).unwrap())
    }

    fn read(counts: &NativeCounts) -> NativeSnapshot {
        let mut snapshot = NativeSnapshot::default();
        counts.read_counts(&mut snapshot);
        counts.finish_reading(&mut snapshot);
        snapshot
    }

    #[test]
    fn exact_powers_of_two_close_their_bucket() {
        for schema in -4..=8i8 {
            let c = counts(schema);
            for octave in [-20, -1, 0, 1, 3, 10, 100] {
                let value = 2f64.powi(octave);
                let expected = if schema >= 0 {
                    octave << schema
                } else {
                    // ceil(octave / 2^-schema)
                    (octave + (1 << -schema) - 1) >> -schema
                };
                assert_eq!(c.index_of(value), expected, "schema {schema}, 2^{octave}");
            }
        }
        assert_eq!(counts(3).index_of(1.0), 0);
        assert_eq!(counts(3).index_of(2.0), 8);
        assert_eq!(counts(0).index_of(1.5), 1);
        assert_eq!(counts(-1).index_of(3.0), 1);
        assert_eq!(counts(-1).index_of(4.0), 1);
        assert_eq!(counts(-1).index_of(4.5), 2);
    }

    #[test]
    fn indexes_match_the_definition() {
        let values = [
            1e-9, 0.000_1, 0.001_7, 0.01, 0.1, 0.3, 0.5, 0.7, 1.0, 1.05, 1.09, 1.1, 1.5, 1.9, 2.5,
            3.0, 7.77, 10.0, 123.456, 1e6, 1e12,
        ];
        for schema in -4..=8i8 {
            let c = counts(schema);
            for value in values {
                assert_eq!(
                    c.index_of(value),
                    reference_index(i32::from(schema), value),
                    "schema {schema}, value {value}"
                );
            }
        }
    }

    #[test]
    fn sub_octave_bounds_sit_at_their_bucket_edge() {
        for schema in 1..=8i8 {
            let c = counts(schema);
            for k in 1..(1i32 << schema) {
                let bound = (f64::from(k) / f64::from(1 << schema)).exp2();
                let above = f64::from_bits(bound.to_bits() + 1);
                let below = f64::from_bits(bound.to_bits() - 1);
                assert_eq!(c.index_of(bound), k, "schema {schema} bound {k}");
                assert_eq!(c.index_of(above), k + 1, "schema {schema} above {k}");
                assert_eq!(c.index_of(below), k, "schema {schema} below {k}");
            }
        }
    }

    #[test]
    fn extremes_land_in_the_outer_buckets() {
        let c = counts(3);
        assert_eq!(c.index_of(f64::INFINITY), c.index_of(f64::MAX));
        assert_eq!(c.index_of(f64::MAX), 1024 << 3);
        // The smallest subnormal is 2^-1074.
        assert_eq!(c.index_of(f64::from_bits(1)), -1074 << 3);
        assert_eq!(counts(-4).index_of(f64::from_bits(1)), -1074 / 16);
        let c = NativeCounts::new(NativeBuckets::default().with_zero_threshold(0.0).unwrap());
        c.observe(f64::from_bits(1));
        c.observe(f64::INFINITY);
        c.observe(f64::NEG_INFINITY);
        c.observe(f64::NAN);
        let s = read(&c);
        assert_eq!(
            s.positive.buckets().collect::<Vec<_>>(),
            [(-1074 << 3, 1), (1024 << 3, 1)]
        );
        assert_eq!(s.negative.buckets().collect::<Vec<_>>(), [(1024 << 3, 1)]);
        assert_eq!(s.zero_count, 0);
        assert_eq!(s.count(), 3);
        assert_eq!(s.count_with_nan(), 4);
    }

    #[test]
    fn zero_bucket_and_negative_values() {
        let c = NativeCounts::new(NativeBuckets::default().with_zero_threshold(0.001).unwrap());
        for value in [0.0, -0.0, 0.001, -0.000_5, 1.0, -1.0, -1.0, -2.0, 4.0] {
            c.observe(value);
        }
        let s = read(&c);
        assert_eq!(s.schema, 3);
        assert_eq!(s.zero_threshold, 0.001);
        assert_eq!(s.zero_count, 4);
        assert_eq!(s.positive.spans, [(0, 1), (15, 1)]);
        assert_eq!(s.positive.deltas, [1, 0]);
        assert_eq!(s.negative.buckets().collect::<Vec<_>>(), [(0, 2), (8, 1)]);
        assert_eq!(s.negative.spans, [(0, 1), (7, 1)]);
        assert_eq!(s.negative.deltas, [2, -1]);
        assert_eq!(s.count(), 9);
    }

    #[test]
    fn an_empty_histogram_with_threshold_zero_is_marked_native() {
        let c = NativeCounts::new(NativeBuckets::default().with_zero_threshold(0.0).unwrap());
        let s = read(&c);
        assert_eq!(s.positive.spans, [(0, 0)]);
        assert!(s.positive.deltas.is_empty());
        assert_eq!(s.count(), 0);
        let s = read(&counts(3));
        assert!(s.positive.spans.is_empty());
    }

    #[test]
    fn resolution_is_reduced_to_fit_and_counts_are_preserved() {
        // 1,000 values spread over 60 octaves (2^-30 to 2^30), a fixed pseudo-random sequence.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let values: Vec<f64> = (0..1_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
                (unit * 60.0 - 30.0).exp2()
            })
            .collect();
        let c = NativeCounts::new(NativeBuckets::default().with_max_buckets(160));
        values.iter().for_each(|&v| c.observe(v));
        let s = read(&c);
        // 60 octaves: 480 buckets at schema 3, 240 at 2, 120 at 1.
        assert_eq!(s.schema, 1);
        let buckets: Vec<(i32, u64)> = s.positive.buckets().collect();
        assert!(buckets.len() <= 160, "{} buckets", buckets.len());
        assert_eq!(s.count(), 1_000);
        let mut reference = std::collections::BTreeMap::new();
        for &v in &values {
            *reference.entry(reference_index(1, v)).or_insert(0u64) += 1;
        }
        let reference: Vec<(i32, u64)> = reference.into_iter().collect();
        assert_eq!(buckets, reference);

        // Unlimited: the configured schema stays.
        let c = NativeCounts::new(NativeBuckets::default().with_max_buckets(0));
        values.iter().for_each(|&v| c.observe(v));
        let s = read(&c);
        assert_eq!(s.schema, 3);
        assert_eq!(s.count(), 1_000);
    }

    #[test]
    fn concurrent_observations_are_all_counted() {
        let c = counts(3);
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let c = &c;
                scope.spawn(move || {
                    for i in 0..10_000 {
                        // Every thread hits fresh chunks at once: the first-use race included.
                        c.observe(f64::from(1 + (i + thread) % 64) * 0.001);
                    }
                });
            }
        });
        let s = read(&c);
        assert_eq!(s.count(), 40_000);
        assert_eq!(c.total(), 40_000);
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        let d = NativeBuckets::default;
        assert_eq!(
            d().with_schema(9),
            Err(NativeBucketsError::SchemaOutOfRange { schema: 9 })
        );
        assert_eq!(
            d().with_schema(-5),
            Err(NativeBucketsError::SchemaOutOfRange { schema: -5 })
        );
        assert!(matches!(
            d().with_zero_threshold(f64::NAN),
            Err(NativeBucketsError::InvalidZeroThreshold { .. })
        ));
        assert_eq!(
            d().with_zero_threshold(-1.0),
            Err(NativeBucketsError::InvalidZeroThreshold { threshold: -1.0 })
        );
        assert!(d().with_zero_threshold(f64::INFINITY).is_err());
        for factor in [1.0, 0.5, -2.0, f64::NAN, f64::INFINITY] {
            assert!(NativeBuckets::bucket_factor(factor).is_err(), "{factor}");
        }
        assert!(NativeBuckets::bucket_factor(1.0)
            .unwrap_err()
            .to_string()
            .contains("> 1"));
    }

    #[test]
    fn bucket_factor_picks_the_largest_schema_not_coarser() {
        let schema = |f| NativeBuckets::bucket_factor(f).unwrap().schema();
        assert_eq!(schema(1.1), 3);
        assert_eq!(schema(2.0), 0);
        assert_eq!(schema(1.5), 1);
        assert_eq!(schema(4.0), -1);
        assert_eq!(schema(1.0001), 8);
        assert_eq!(schema(1e300), -4);
        assert_eq!(NativeBuckets::default().schema(), 3);
        assert_eq!(NativeBuckets::default().zero_threshold(), 2f64.powi(-128));
    }

    #[test]
    fn prometheus_protobuf_carries_schema_spans_and_deltas() {
        use crate::metric::{Buckets, Histogram};
        use prometheus_client::encoding::prometheus_protobuf::encode;
        use prometheus_client::registry::Registry;

        let histogram = Histogram::with_native(
            Buckets::new([1.0]).unwrap(),
            NativeBuckets::default().with_schema(0).unwrap(),
        );
        let mut registry = Registry::default();
        registry.register("job_duration", "Job run time", histogram.clone());
        // Schema 0: 1.0 in bucket 0, 3.0 and 4.0 in bucket 2, 16.0 in bucket 4, -0.5 in -1.
        for value in [1.0, 3.0, 4.0, 16.0, -0.5, 0.0] {
            histogram.observe(value);
        }
        let families = encode(&registry).unwrap();
        let h = families[0].metric[0].histogram.as_ref().unwrap();
        assert_eq!(h.sample_count, 6);
        assert_eq!(h.sample_sum, 23.5);
        assert_eq!(h.schema, 0);
        assert_eq!(h.zero_threshold, NativeBuckets::DEFAULT_ZERO_THRESHOLD);
        assert_eq!(h.zero_count, 1);
        let spans: Vec<(i32, u32)> = h
            .positive_span
            .iter()
            .map(|s| (s.offset, s.length))
            .collect();
        assert_eq!(spans, [(0, 1), (1, 1), (1, 1)]);
        assert_eq!(h.positive_delta, [1, 1, -1]);
        let spans: Vec<(i32, u32)> = h
            .negative_span
            .iter()
            .map(|s| (s.offset, s.length))
            .collect();
        assert_eq!(spans, [(-1, 1)]);
        assert_eq!(h.negative_delta, [1]);
        // The classic buckets stay: le=1 and +Inf, cumulative.
        let classic: Vec<(f64, u64)> = h
            .bucket
            .iter()
            .map(|b| (b.upper_bound, b.cumulative_count))
            .collect();
        assert_eq!(classic, [(1.0, 3), (f64::INFINITY, 6)]);
    }

    #[test]
    fn http_request_durations_carry_native_buckets_over_protobuf() {
        use crate::http::{HttpServerMetrics, Outcome};
        use prometheus_client::encoding::prometheus_protobuf::encode;
        use prometheus_client::registry::Registry;

        let http = HttpServerMetrics::builder()
            .native_histograms(NativeBuckets::default())
            .time_to_first_byte(true)
            .build();
        let mut request = http.start_request(&http::Method::GET, Some("/users/{id}"));
        request.set_status(200);
        request.finish(Outcome::Completed);
        let mut registry = Registry::default();
        registry.register_collector(Box::new(http.clone()));
        let families = encode(&registry).unwrap();
        let native_in = |name: &str| {
            let family = families.iter().find(|f| f.name == name).unwrap();
            let h = family.metric[0].histogram.as_ref().unwrap();
            let in_buckets: u64 = h.positive_delta.iter().sum::<i64>() as u64 + h.zero_count;
            (h.schema, h.sample_count, in_buckets, h.positive_span.len())
        };
        assert_eq!(
            native_in("http_server_request_duration_seconds"),
            (3, 1, 1, 1)
        );
        assert_eq!(
            native_in("http_server_time_to_first_byte_seconds"),
            (3, 1, 1, 1)
        );
        // Text keeps the classic buckets only.
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("http_server_request_duration_seconds_bucket{"));
    }
}
