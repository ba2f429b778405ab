//! [`Series`]: the histograms of one label set of the request families.

use super::labels::{SeriesLabelSet, SeriesLabels};
use super::series_key::SeriesKey;
use super::series_store::SeriesBuckets;
use crate::metric::{HistogramCore, Stripe};

/// A request series: one histogram whose count is also the request counter, and, when the
/// option is on and the requests sent a status, their time to first byte.
#[derive(Debug)]
pub(crate) struct Series {
    pub(crate) key: SeriesKey,
    pub(crate) labels: SeriesLabelSet,
    /// The labels as the text encoders write them, rendered once.
    pub(crate) labels_text: Box<str>,
    pub(crate) duration: HistogramCore,
    /// Boxed: a series without it (the option off) stays as small as before.
    pub(crate) first_byte: Option<Box<HistogramCore>>,
}

impl Series {
    pub(crate) fn new(
        key: SeriesKey,
        labels: SeriesLabelSet,
        buckets: SeriesBuckets,
        first_byte: bool,
    ) -> Self {
        Self {
            key,
            labels_text: labels.render().into_boxed_str(),
            labels,
            first_byte: first_byte.then(|| Box::new(buckets.histogram())),
            duration: buckets.histogram(),
        }
    }

    /// The route label, for ordering (empty for the overflow series).
    pub(crate) fn route_name(&self) -> &str {
        match &self.labels {
            SeriesLabelSet::Regular(SeriesLabels { route, .. }) => route,
            SeriesLabelSet::Overflow => "",
        }
    }

    /// Records one finished request: its duration, and its time to first byte if it had one
    /// and this series keeps them.
    #[inline]
    pub(crate) fn observe(&self, stripe: Stripe, seconds: f64, first_byte: Option<f64>) {
        self.duration.observe_on(stripe, seconds);
        if let (Some(histogram), Some(first_byte)) = (&self.first_byte, first_byte) {
            histogram.observe_on(stripe, first_byte);
        }
    }
}
