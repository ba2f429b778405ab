//! [`SeriesStore`]: every request series of one `HttpServerMetrics`, across its routes, and the
//! cardinality budget they share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::labels::SeriesLabelSet;
use super::series::Series;
use super::series_key::SeriesKey;
use crate::metric::{Buckets, HistogramCore, LabelSetMap, NativeBuckets};

/// The bucket layout of every request histogram: the classic boundaries (what `Deref` yields,
/// for the text encoders) and the native buckets when they are on.
#[derive(Debug, Clone)]
pub(crate) struct SeriesBuckets {
    pub(crate) classic: Buckets,
    pub(crate) native: Option<NativeBuckets>,
}

impl SeriesBuckets {
    /// An empty histogram of this layout.
    pub(crate) fn histogram(&self) -> HistogramCore {
        match &self.native {
            Some(native) => HistogramCore::with_native(self.classic.clone(), native.clone()),
            None => HistogramCore::new(self.classic.clone()),
        }
    }
}

impl std::ops::Deref for SeriesBuckets {
    type Target = Buckets;

    fn deref(&self) -> &Buckets {
        &self.classic
    }
}

/// A series' identity across routes: the route's number and the packed method, status, gRPC
/// status and outcome.
pub(super) type SeriesId = (u32, SeriesKey);

#[derive(Debug)]
pub(super) struct SeriesStore {
    pub(super) buckets: SeriesBuckets,
    pub(super) max_label_sets: usize,
    /// Label sets created so far, across routes (the cardinality budget).
    created: AtomicUsize,
    /// Every series of every route. One map for all routes keeps a route cheap (a few hundred
    /// bytes) where a map per route would cost kilobytes.
    pub(super) series: LabelSetMap<SeriesId, Series>,
    /// Where new label sets go once `max_label_sets` is reached.
    pub(super) overflow: Series,
    /// Whether series of requests with a status also keep a time-to-first-byte histogram.
    pub(super) first_byte: bool,
    /// Whether `http_server_requests_total` is written.
    pub(super) request_counter: bool,
    /// Whether requests record their `network_protocol_version`.
    pub(super) protocol_version: bool,
}

/// The options of the builder the store keeps.
#[derive(Debug, Clone)]
pub(super) struct StoreOptions {
    pub(super) first_byte: bool,
    pub(super) request_counter: bool,
    pub(super) protocol_version: bool,
    /// Native buckets beside the classic ones, when they are on.
    pub(super) native: Option<NativeBuckets>,
}

impl SeriesStore {
    pub(super) fn new(buckets: Buckets, max_label_sets: usize, options: StoreOptions) -> Self {
        let StoreOptions {
            first_byte,
            request_counter,
            protocol_version,
            native,
        } = options;
        let buckets = SeriesBuckets {
            classic: buckets,
            native,
        };
        Self {
            overflow: Series::new(
                SeriesKey::OVERFLOW,
                SeriesLabelSet::Overflow,
                buckets.clone(),
                first_byte,
            ),
            first_byte,
            request_counter,
            protocol_version,
            series: LabelSetMap::new(),
            buckets,
            max_label_sets,
            created: AtomicUsize::new(0),
        }
    }

    /// Takes one label set from the budget; false when the cap is reached.
    pub(super) fn reserve_label_set(&self) -> bool {
        let taken = self.created.fetch_add(1, Ordering::Relaxed);
        if taken >= self.max_label_sets {
            self.created.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// The series one scrape writes, listed once: every family walks the same list, so each
/// counter equals its histogram's `_count` exactly even while label sets are being added.
#[derive(Debug)]
pub(super) struct ScrapeList<'a> {
    /// In allocation order: neighbours in memory are read one after another, which the
    /// prefetcher rewards once there are more series than cache.
    pub(super) regular: Vec<Arc<Series>>,
    /// The overflow series, once it has requests.
    pub(super) overflow: Option<&'a Series>,
}

impl SeriesStore {
    /// The series of a scrape starting now.
    pub(super) fn scrape_list(&self) -> ScrapeList<'_> {
        let mut regular = self.series.values();
        regular.sort_unstable_by_key(|series| Arc::as_ptr(series) as usize);
        let overflow = &self.overflow;
        ScrapeList {
            regular,
            overflow: overflow.duration.has_observations().then_some(overflow),
        }
    }
}

impl ScrapeList<'_> {
    /// Every series, the overflow series last.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Series> + '_ {
        let regular = self.regular.iter().map(|series| &**series);
        regular.chain(self.overflow)
    }
}
