//! Validated histogram bucket boundaries.

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::classic_from_native::ClassicFromNative;

/// The OpenTelemetry default boundaries for HTTP durations, in seconds.
pub const OTEL_HTTP_DURATION_SECONDS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Upper bounds of a histogram's buckets: finite, strictly increasing, at least one.
///
/// The `+Inf` bucket is implicit and always present. Cloning is cheap (shared).
///
/// ```
/// use metrics_toolkit::metric::Buckets;
///
/// let buckets = Buckets::new([0.1, 0.5, 1.0]).unwrap();
/// assert_eq!(buckets.bounds(), &[0.1, 0.5, 1.0]);
/// assert!(Buckets::new([1.0, 0.5]).is_err());
/// ```
#[derive(Clone)]
pub struct Buckets(Arc<Inner>);

struct Inner {
    bounds: Box<[f64]>,
    /// The `le` label value of every bucket, `+Inf` last, rendered once for the encoders.
    le: Box<[Box<str>]>,
    /// How histograms with these bounds and native buckets read their classic counts: computed
    /// on the first such histogram, shared by the next ones of the same native configuration.
    from_native: OnceLock<ClassicFromNative>,
}

impl PartialEq for Buckets {
    fn eq(&self, other: &Self) -> bool {
        self.0.bounds == other.0.bounds
    }
}

impl Buckets {
    /// Validates `bounds`: non-empty, every bound finite, strictly increasing.
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Result<Self, BucketsError> {
        let bounds: Vec<f64> = bounds.into_iter().collect();
        if bounds.is_empty() {
            return Err(BucketsError::Empty);
        }
        for (index, bound) in bounds.iter().enumerate() {
            if !bound.is_finite() {
                return Err(BucketsError::NotFinite { index });
            }
            if index > 0 && bounds[index - 1] >= *bound {
                return Err(BucketsError::NotIncreasing { index });
            }
        }
        Ok(Self::from_valid(bounds))
    }

    fn from_valid(bounds: Vec<f64>) -> Self {
        let le = bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .map(|bound| {
                let mut text = String::new();
                crate::encoding::push_float(&mut text, bound);
                text.into_boxed_str()
            })
            .collect();
        Self(Arc::new(Inner {
            bounds: bounds.into(),
            le,
            from_native: OnceLock::new(),
        }))
    }

    /// The OpenTelemetry HTTP duration boundaries (see [`OTEL_HTTP_DURATION_SECONDS`]).
    pub fn http_duration_seconds() -> Self {
        Self::from_valid(OTEL_HTTP_DURATION_SECONDS.to_vec())
    }

    /// The finite upper bounds, without the implicit `+Inf`.
    pub fn bounds(&self) -> &[f64] {
        &self.0.bounds
    }

    /// The `le` label values, `+Inf` last.
    pub(crate) fn le_labels(&self) -> &[Box<str>] {
        &self.0.le
    }

    /// The cache of [`ClassicFromNative::of`].
    pub(crate) fn native_layout_cache(&self) -> &OnceLock<ClassicFromNative> {
        &self.0.from_native
    }

    /// Index of the bucket `value` falls in; `bounds().len()` is the `+Inf` bucket.
    #[inline]
    pub(crate) fn index_of(&self, value: f64) -> usize {
        // Bucket lists are short (about 14): a forward scan beats a binary search here.
        let bounds = &self.0.bounds;
        bounds
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(bounds.len())
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Self::http_duration_seconds()
    }
}

impl fmt::Debug for Buckets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.bounds.iter()).finish()
    }
}

/// Why a list of bucket boundaries was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BucketsError {
    /// No boundary was given.
    Empty,
    /// The boundary at `index` is NaN or infinite (`+Inf` is implicit).
    NotFinite {
        /// Position of the offending boundary.
        index: usize,
    },
    /// The boundary at `index` is not greater than the one before it.
    NotIncreasing {
        /// Position of the offending boundary.
        index: usize,
    },
}

impl fmt::Display for BucketsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("histogram buckets: at least one boundary is required"),
            Self::NotFinite { index } => write!(
                f,
                "histogram buckets: boundary {index} is not a finite number (+Inf is implicit)"
            ),
            Self::NotIncreasing { index } => write!(
                f,
                "histogram buckets: boundary {index} is not greater than the one before it \
                 (boundaries must be sorted and distinct)"
            ),
        }
    }
}

impl std::error::Error for BucketsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_boundaries() {
        assert_eq!(Buckets::new([]), Err(BucketsError::Empty));
        assert_eq!(
            Buckets::new([0.1, f64::NAN]),
            Err(BucketsError::NotFinite { index: 1 })
        );
        assert_eq!(
            Buckets::new([f64::INFINITY]),
            Err(BucketsError::NotFinite { index: 0 })
        );
        assert_eq!(
            Buckets::new([0.1, 0.1]),
            Err(BucketsError::NotIncreasing { index: 1 })
        );
        assert_eq!(
            Buckets::new([1.0, 0.5]),
            Err(BucketsError::NotIncreasing { index: 1 })
        );
        assert!(Buckets::new([1.0, 0.5])
            .unwrap_err()
            .to_string()
            .contains("sorted"));
    }

    #[test]
    fn finds_buckets_inclusive_upper_bound() {
        let b = Buckets::new([0.1, 1.0]).unwrap();
        assert_eq!(b.index_of(0.0), 0);
        assert_eq!(b.index_of(0.1), 0);
        assert_eq!(b.index_of(0.2), 1);
        assert_eq!(b.index_of(1.0), 1);
        assert_eq!(b.index_of(1.5), 2);
        assert_eq!(b.index_of(f64::NAN), 2);
        let le: Vec<&str> = b.le_labels().iter().map(|l| &**l).collect();
        assert_eq!(le, ["0.1", "1.0", "+Inf"]);
    }
}
