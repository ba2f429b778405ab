//! The bounded `network_protocol_version` label.

/// The HTTP version of a request as the `network_protocol_version` label (OpenTelemetry's
/// `network.protocol.version`, *Recommended* on the HTTP server metrics, with the values `1.0`,
/// `1.1`, `2` and `3`). The convention says "If the actual protocol version is not known, this
/// attribute SHOULD NOT be set": a request of any other version (HTTP/0.9, or one `http` adds
/// later) has no such label rather than an invented value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ProtocolVersionLabel {
    /// `1.0`
    Http10,
    /// `1.1`
    Http11,
    /// `2`
    Http2,
    /// `3`
    Http3,
}

impl ProtocolVersionLabel {
    /// Every label value, in index order.
    pub(super) const ALL: [ProtocolVersionLabel; 4] =
        [Self::Http10, Self::Http11, Self::Http2, Self::Http3];

    /// The label of a request's version; `None` for a version without one.
    #[inline]
    pub(crate) fn from_version(version: http::Version) -> Option<Self> {
        match version {
            http::Version::HTTP_10 => Some(Self::Http10),
            http::Version::HTTP_11 => Some(Self::Http11),
            http::Version::HTTP_2 => Some(Self::Http2),
            http::Version::HTTP_3 => Some(Self::Http3),
            _ => None,
        }
    }

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "1.0",
            Self::Http11 => "1.1",
            Self::Http2 => "2",
            Self::Http3 => "3",
        }
    }

    /// Position in [`ProtocolVersionLabel::ALL`].
    #[inline]
    pub(super) fn index(self) -> u64 {
        self as u64
    }
}

#[cfg(test)]
mod tests {
    use super::ProtocolVersionLabel;

    #[test]
    fn known_versions_have_the_conventions_values_and_others_none() {
        let label = |v| ProtocolVersionLabel::from_version(v).map(ProtocolVersionLabel::as_str);
        assert_eq!(label(http::Version::HTTP_10), Some("1.0"));
        assert_eq!(label(http::Version::HTTP_11), Some("1.1"));
        assert_eq!(label(http::Version::HTTP_2), Some("2"));
        assert_eq!(label(http::Version::HTTP_3), Some("3"));
        assert_eq!(label(http::Version::HTTP_09), None);
    }

    #[test]
    fn every_label_is_at_its_index() {
        for (index, version) in ProtocolVersionLabel::ALL.iter().enumerate() {
            assert_eq!(version.index(), index as u64);
        }
    }
}
