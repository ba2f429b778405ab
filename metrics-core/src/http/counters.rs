//! The state every route of one `HttpServerMetrics` shares: gauges, connection counters, the
//! cardinality budget and the overflow series.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use super::series::{Series, SeriesKey, SeriesLabelSet};
use crate::metric::{Buckets, LabelSetMap};

/// A series' identity across routes: the route's number and the packed method, status, gRPC
/// status and outcome.
pub(super) type GlobalSeriesKey = (u32, SeriesKey);

#[derive(Debug)]
pub(super) struct Counters {
    pub(super) buckets: Buckets,
    pub(super) max_label_sets: usize,
    /// Label sets created so far, across routes (the cardinality budget).
    pub(super) series_count: AtomicUsize,
    /// Every series of every route. One map for all routes keeps a route cheap (a few hundred
    /// bytes) where a map per route would cost kilobytes.
    pub(super) series: LabelSetMap<GlobalSeriesKey, Series>,
    /// Where new label sets go once `max_label_sets` is reached.
    pub(super) overflow_series: Series,
    /// Whether series of requests with a status also keep a time-to-first-byte histogram.
    pub(super) first_byte: bool,
    pub(super) active_connections: AtomicI64,
    pub(super) connections_total: AtomicU64,
}

impl Counters {
    pub(super) fn new(buckets: Buckets, max_label_sets: usize, first_byte: bool) -> Self {
        Self {
            overflow_series: Series::new(
                SeriesKey::OVERFLOW,
                SeriesLabelSet::Overflow,
                buckets.clone(),
                first_byte,
            ),
            first_byte,
            series: LabelSetMap::new(),
            buckets,
            max_label_sets,
            series_count: AtomicUsize::new(0),
            active_connections: AtomicI64::new(0),
            connections_total: AtomicU64::new(0),
        }
    }

    /// Takes one label set from the budget; false when the cap is reached.
    pub(super) fn reserve_label_set(&self) -> bool {
        let taken = self.series_count.fetch_add(1, Ordering::Relaxed);
        if taken >= self.max_label_sets {
            self.series_count.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}
