//! [`SeriesKey`]: the labels of a request, packed into one integer while it is in flight.

use super::{GrpcStatusLabel, MethodLabel, Outcome};

/// A series within a route: method, status, gRPC status and outcome packed into one integer,
/// so finding it hashes a `u32`, never a string. A request carries its key and fills it in as it
/// goes (method at the start, status with the response head, gRPC status, outcome at the end).
///
/// Bits: 4 of method, 2 of outcome, 17 for the status plus one (0 is "no status", so any
/// `u16` fits), then 5 for the gRPC status label plus one (0 is "not gRPC").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SeriesKey(u32);

const OUTCOME_SHIFT: u32 = 4;
const OUTCOME_MASK: u32 = 0b11 << OUTCOME_SHIFT;
const STATUS_SHIFT: u32 = 6;
const STATUS_MASK: u32 = 0x1_ffff << STATUS_SHIFT;
const GRPC_SHIFT: u32 = 23;
const GRPC_MASK: u32 = 0x1f << GRPC_SHIFT;

impl SeriesKey {
    /// The key of the overflow series; no regular key has these bits.
    pub(crate) const OVERFLOW: SeriesKey = SeriesKey(u32::MAX);

    /// Where this key lives in a direct-mapped cache of `entries` entries (a power of two).
    #[inline]
    pub(crate) fn cache_index(self, entries: usize) -> usize {
        // Fibonacci hashing spreads the packed fields over the high bits.
        (self.0.wrapping_mul(0x9e37_79b9) >> 16) as usize & (entries - 1)
    }

    /// Whether the request sent a status (and so had a response head).
    #[inline]
    pub(crate) fn has_status(self) -> bool {
        self.0 & STATUS_MASK != 0
    }

    /// A request of `method` with no status yet, completed.
    #[inline]
    pub(crate) fn for_method(method: MethodLabel) -> Self {
        Self(method.index() as u32)
    }

    #[inline]
    pub(crate) fn with_status(self, status: u16) -> Self {
        Self(self.0 & !STATUS_MASK | (u32::from(status) + 1) << STATUS_SHIFT)
    }

    #[inline]
    pub(crate) fn with_grpc_status(self, status: GrpcStatusLabel) -> Self {
        Self(self.0 & !GRPC_MASK | (status.index() + 1) << GRPC_SHIFT)
    }

    /// The outcome is set once, when the request ends.
    #[inline]
    pub(crate) fn with_outcome(self, outcome: Outcome) -> Self {
        Self(self.0 | outcome.index() << OUTCOME_SHIFT)
    }

    /// The label values packed in this key (a regular key).
    pub(crate) fn labels(self) -> RequestLabels {
        let field = |mask: u32, shift: u32| (self.0 & mask) >> shift;
        let method = MethodLabel::ALL[(self.0 & 0xf) as usize % MethodLabel::ALL.len()];
        let status = field(STATUS_MASK, STATUS_SHIFT).checked_sub(1);
        let grpc = field(GRPC_MASK, GRPC_SHIFT).checked_sub(1);
        RequestLabels {
            method,
            status: status.map(|code| code as u16),
            grpc_status: grpc.map(GrpcStatusLabel::from_code),
            outcome: Outcome::from_index(field(OUTCOME_MASK, OUTCOME_SHIFT)),
        }
    }
}

/// The label values of one request's series, unpacked from its [`SeriesKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestLabels {
    pub(crate) method: MethodLabel,
    pub(crate) status: Option<u16>,
    pub(crate) grpc_status: Option<GrpcStatusLabel>,
    pub(crate) outcome: Outcome,
}

#[cfg(test)]
mod tests {
    use super::{GrpcStatusLabel, MethodLabel, Outcome, RequestLabels, SeriesKey};

    #[test]
    fn every_label_combination_has_its_own_key_which_unpacks_to_it() {
        let statuses = [
            None,
            Some(0),
            Some(200),
            Some(999),
            Some(1023),
            Some(1024),
            Some(u16::MAX),
        ];
        let grpc_statuses = (0..=17)
            .map(|code| Some(GrpcStatusLabel::from_code(code)))
            .chain([None]);
        let mut keys = Vec::new();
        for &method in MethodLabel::ALL {
            for outcome in Outcome::ALL {
                for status in statuses {
                    for grpc_status in grpc_statuses.clone() {
                        // Set twice, as a request may: the last value counts.
                        let mut key = SeriesKey::for_method(method);
                        if let Some(status) = status {
                            key = key.with_status(u16::MAX).with_status(status);
                        }
                        if let Some(grpc_status) = grpc_status {
                            key = key.with_grpc_status(GrpcStatusLabel::from_code(0));
                            key = key.with_grpc_status(grpc_status);
                        }
                        let key = key.with_outcome(outcome);
                        let expected = RequestLabels {
                            method,
                            status,
                            grpc_status,
                            outcome,
                        };
                        assert_eq!(key.labels(), expected);
                        keys.push(key);
                    }
                }
            }
        }
        let count = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), count);
        assert!(!keys.contains(&SeriesKey::OVERFLOW));
    }
}
