//! [`Series`]: the histograms of one label set of the request families.

use std::sync::OnceLock;

use super::clock::Stamp;
use super::exemplar::{ExemplarSlot, PendingExemplars};
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
    /// The latest exemplar of each duration bucket, allocated with the first exemplar.
    pub(crate) exemplars: OnceLock<Box<[ExemplarSlot]>>,
    /// When the series was created, in seconds since the Unix epoch (`_created`).
    pub(crate) created: f64,
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
            exemplars: OnceLock::new(),
            created: unix_seconds_now(),
        }
    }

    /// The route label, for ordering (empty for the overflow series).
    pub(crate) fn route_name(&self) -> &str {
        match &self.labels {
            SeriesLabelSet::Regular(SeriesLabels { route, .. }) => route,
            SeriesLabelSet::Overflow => "",
        }
    }

    /// Records one finished request: its duration (with the request's exemplar, ended at
    /// `end`), and its time to first byte if it had one and this series keeps them.
    #[inline(always)]
    pub(crate) fn observe(&self, stripe: Stripe, request: &FinishedRequest<'_>) {
        let bucket = self.duration.observe_on(stripe, request.seconds);
        if let Some((pending, held)) = request.exemplar {
            self.record_exemplar(bucket, pending, held, request);
        }
        if let (Some(histogram), Some(first_byte)) = (&self.first_byte, request.first_byte) {
            histogram.observe_on(stripe, first_byte);
        }
    }

    /// Writes the exemplar waiting in slot `held` of `pending` into `bucket`'s slot, and frees
    /// the pending slot. Inlined in the exemplar branch (a call would cost more than the copy:
    /// saved registers, the ids passed through the stack); only the first exemplar's
    /// allocation is out of line, in `get_or_init`.
    #[inline(always)]
    fn record_exemplar(
        &self,
        bucket: usize,
        pending: &PendingExemplars,
        held: u8,
        request: &FinishedRequest<'_>,
    ) {
        let slots = self.exemplars.get_or_init(|| {
            let buckets = self.duration.bucket_count();
            (0..buckets).map(|_| ExemplarSlot::default()).collect()
        });
        if let Some(slot) = slots.get(bucket) {
            slot.record(pending.ids(held), request.seconds, request.end);
        }
        pending.release(held);
    }
}

/// What a finished request records in its series.
#[derive(Debug)]
pub(crate) struct FinishedRequest<'a> {
    pub(crate) seconds: f64,
    pub(crate) first_byte: Option<f64>,
    /// Where the request's exemplar waits, and its slot there (taken when it is recorded).
    pub(crate) exemplar: Option<(&'a PendingExemplars, u8)>,
    /// When it ended (the exemplar's timestamp).
    pub(crate) end: Stamp,
}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_seconds_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}
