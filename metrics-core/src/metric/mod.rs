//! Lock-free metric types that plug into prometheus-client's registry and encoders.
//!
//! prometheus-client's own `Counter` and `Gauge` are already single atomics and are used as they
//! are; its `Histogram` takes a mutex per observation and its `Family` an `RwLock` over a SipHash
//! map, so this module replaces those two on the hot path.

mod buckets;
mod classic_from_native;
mod histogram;
mod label_set_map;
mod native;
mod striped;

pub use buckets::{Buckets, BucketsError, OTEL_HTTP_DURATION_SECONDS};
pub(crate) use histogram::encode_snapshot;
pub(crate) use histogram::HistogramCore;
pub use histogram::{Histogram, HistogramSnapshot};
pub(crate) use label_set_map::LabelSetMap;
pub use native::{NativeBuckets, NativeBucketsError, NativeSnapshot, NativeSpans};
pub(crate) use striped::{Stripe, Striped, MAX_STRIPES};
