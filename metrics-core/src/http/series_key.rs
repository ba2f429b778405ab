//! [`SeriesKey`]: the labels of a request, packed into one integer while it is in flight.

use super::protocol_version::ProtocolVersionLabel;
use super::{GrpcStatusLabel, MethodLabel, Outcome, UrlScheme};

/// A series within a route: method, status, gRPC status, outcome, URL scheme and protocol
/// version packed into one integer, so finding it hashes a `u64`, never a string. A request
/// carries its key and fills it in as it goes (method at the start, scheme and version from the
/// request, status with the response head, gRPC status, outcome at the end).
///
/// Bits: 4 of method, 2 of outcome, 17 for the status plus one (0 is "no status", so any
/// `u16` fits), 5 for the gRPC status label plus one (0 is "not gRPC"), 2 of URL scheme (0 is
/// `http`, the default), then 3 for the protocol version plus one (0 is "not recorded").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SeriesKey(u64);

const OUTCOME_SHIFT: u32 = 4;
const OUTCOME_MASK: u64 = 0b11 << OUTCOME_SHIFT;
const STATUS_SHIFT: u32 = 6;
const STATUS_MASK: u64 = 0x1_ffff << STATUS_SHIFT;
const GRPC_SHIFT: u32 = 23;
const GRPC_MASK: u64 = 0x1f << GRPC_SHIFT;
const SCHEME_SHIFT: u32 = 28;
const SCHEME_MASK: u64 = 0b11 << SCHEME_SHIFT;
const VERSION_SHIFT: u32 = 30;
const VERSION_MASK: u64 = 0b111 << VERSION_SHIFT;

impl SeriesKey {
    /// The key of the overflow series; no regular key has these bits (they end at bit 33).
    pub(crate) const OVERFLOW: SeriesKey = SeriesKey(u64::MAX);

    /// Where this key lives in a direct-mapped cache of `entries` entries (a power of two).
    #[inline]
    pub(crate) fn cache_index(self, entries: usize) -> usize {
        // Fibonacci hashing spreads the packed fields over the high bits.
        (self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize & (entries - 1)
    }

    /// Whether the request sent a status (and so had a response head).
    #[inline]
    pub(crate) fn has_status(self) -> bool {
        self.0 & STATUS_MASK != 0
    }

    /// A request of `method` with no status yet, over `http`, completed.
    #[inline]
    pub(crate) fn for_method(method: MethodLabel) -> Self {
        Self(method.index() as u64)
    }

    #[inline]
    pub(crate) fn with_status(self, status: u16) -> Self {
        Self(self.0 & !STATUS_MASK | (u64::from(status) + 1) << STATUS_SHIFT)
    }

    #[inline]
    pub(crate) fn with_grpc_status(self, status: GrpcStatusLabel) -> Self {
        Self(self.0 & !GRPC_MASK | (u64::from(status.index()) + 1) << GRPC_SHIFT)
    }

    #[inline]
    pub(crate) fn with_url_scheme(self, scheme: UrlScheme) -> Self {
        Self(self.0 & !SCHEME_MASK | scheme.index() << SCHEME_SHIFT)
    }

    /// `None` clears the version (the request has no such label).
    #[inline]
    pub(crate) fn with_protocol_version(self, version: Option<ProtocolVersionLabel>) -> Self {
        let field = version.map_or(0, |version| version.index() + 1);
        Self(self.0 & !VERSION_MASK | field << VERSION_SHIFT)
    }

    /// The outcome is set once, when the request ends.
    #[inline]
    pub(crate) fn with_outcome(self, outcome: Outcome) -> Self {
        Self(self.0 | u64::from(outcome.index()) << OUTCOME_SHIFT)
    }

    /// The label values packed in this key (a regular key).
    pub(crate) fn labels(self) -> RequestLabels {
        let field = |mask: u64, shift: u32| (self.0 & mask) >> shift;
        let method = MethodLabel::ALL[(self.0 & 0xf) as usize % MethodLabel::ALL.len()];
        let status = field(STATUS_MASK, STATUS_SHIFT).checked_sub(1);
        let grpc = field(GRPC_MASK, GRPC_SHIFT).checked_sub(1);
        let version = field(VERSION_MASK, VERSION_SHIFT).checked_sub(1);
        RequestLabels {
            method,
            status: status.map(|code| code as u16),
            grpc_status: grpc.map(|code| GrpcStatusLabel::from_code(code as u32)),
            outcome: Outcome::from_index(field(OUTCOME_MASK, OUTCOME_SHIFT) as u32),
            url_scheme: UrlScheme::from_index(field(SCHEME_MASK, SCHEME_SHIFT)),
            protocol_version: version
                .and_then(|index| ProtocolVersionLabel::ALL.get(index as usize).copied()),
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
    pub(crate) url_scheme: UrlScheme,
    pub(crate) protocol_version: Option<ProtocolVersionLabel>,
}

#[cfg(test)]
mod tests {
    use super::{
        GrpcStatusLabel, MethodLabel, Outcome, ProtocolVersionLabel, RequestLabels, SeriesKey,
        UrlScheme,
    };

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
        let versions = ProtocolVersionLabel::ALL.map(Some);
        let versions = versions.iter().copied().chain([None]);
        let mut keys = Vec::new();
        for &method in MethodLabel::ALL {
            for outcome in Outcome::ALL {
                for status in statuses {
                    for grpc_status in grpc_statuses.clone() {
                        for url_scheme in UrlScheme::ALL {
                            for protocol_version in versions.clone() {
                                // Set twice, as a request may: the last value counts.
                                let mut key = SeriesKey::for_method(method);
                                key = key.with_url_scheme(UrlScheme::Other);
                                key = key.with_protocol_version(Some(ProtocolVersionLabel::Http3));
                                if let Some(status) = status {
                                    key = key.with_status(u16::MAX).with_status(status);
                                }
                                if let Some(grpc_status) = grpc_status {
                                    key = key.with_grpc_status(GrpcStatusLabel::from_code(0));
                                    key = key.with_grpc_status(grpc_status);
                                }
                                key = key.with_url_scheme(url_scheme);
                                key = key.with_protocol_version(protocol_version);
                                let key = key.with_outcome(outcome);
                                let expected = RequestLabels {
                                    method,
                                    status,
                                    grpc_status,
                                    outcome,
                                    url_scheme,
                                    protocol_version,
                                };
                                assert_eq!(key.labels(), expected);
                                keys.push(key);
                            }
                        }
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

    #[test]
    fn a_new_key_is_http_without_a_protocol_version() {
        let labels = SeriesKey::for_method(MethodLabel::Get).labels();
        assert_eq!(labels.url_scheme, UrlScheme::Http);
        assert_eq!(labels.protocol_version, None);
    }
}
