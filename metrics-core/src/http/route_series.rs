//! [`RouteSeries`]: the series recorded under one route, found in the shared store once, then
//! through a small cache in front of it.

use std::sync::{Arc, OnceLock};

use super::labels::{SeriesLabelSet, SeriesLabels};
use super::series::{FinishedRequest, Series};
use super::series_key::SeriesKey;
use super::series_store::SeriesStore;
use crate::metric::Stripe;

/// Entries of the per-route cache in front of the series map. Most routes see a handful of
/// method/status pairs, so nearly every request hits here.
const CACHE_ENTRIES: usize = 16;

/// The series of one route: found in the shared store once, then through a small cache.
#[derive(Debug)]
pub(super) struct RouteSeries {
    pub(super) name: Arc<str>,
    /// Distinguishes this route's series in the shared store.
    id: u32,
    cache: [OnceLock<Arc<Series>>; CACHE_ENTRIES],
    store: Arc<SeriesStore>,
    /// The route that collects routes beyond the cardinality cap.
    is_overflow: bool,
}

impl RouteSeries {
    pub(super) fn new(id: u32, name: Arc<str>, store: Arc<SeriesStore>, is_overflow: bool) -> Self {
        Self {
            name,
            id,
            cache: Default::default(),
            store,
            is_overflow,
        }
    }

    /// Records one finished request: its duration and exemplar and, if it sent a response head
    /// and the option is on, its time to first byte.
    #[inline]
    pub(super) fn record(&self, key: SeriesKey, request: &FinishedRequest<'_>, stripe: Stripe) {
        let entry = &self.cache[key.cache_index(CACHE_ENTRIES)];
        if let Some(series) = entry.get().filter(|s| s.key == key) {
            series.observe(stripe, request);
            return;
        }
        match self.series_for(key) {
            Some(series) => {
                series.observe(stripe, request);
                // First come keeps the entry; a colliding key goes through the map.
                let _ = entry.set(series);
            }
            None => self.store.overflow.observe(stripe, request),
        }
    }

    fn series_for(&self, key: SeriesKey) -> Option<Arc<Series>> {
        if self.is_overflow {
            return None;
        }
        let store = &self.store;
        store.series.get_or_try_insert(&(self.id, key), |_| {
            if !store.reserve_label_set() {
                return None;
            }
            let labels = SeriesLabels::new(self.name.clone(), key.labels());
            let labels = SeriesLabelSet::Regular(labels);
            // Requests without a status had no response head: no first byte to time.
            let first_byte = store.first_byte && key.has_status();
            let series = Series::new(key, labels, store.buckets.clone(), first_byte);
            Some(((self.id, key), Arc::new(series)))
        })
    }
}
