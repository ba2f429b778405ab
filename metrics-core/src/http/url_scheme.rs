//! [`UrlScheme`]: the bounded `url_scheme` label.

/// The scheme of a request as the `url_scheme` label (OpenTelemetry's `url.scheme`, which the
/// HTTP server conventions make *Required* on `http.server.request.duration`: "The URI scheme
/// component identifying the used protocol."). Only `http` and `https` are their own value;
/// any other scheme is `_OTHER`, so a client can never put a string of its own in a label.
///
/// ```
/// use metrics_toolkit::http::UrlScheme;
///
/// assert_eq!(UrlScheme::from_name("https").as_str(), "https");
/// assert_eq!(UrlScheme::from_name("HTTP").as_str(), "http");
/// assert_eq!(UrlScheme::from_name("gopher").as_str(), "_OTHER");
/// assert_eq!(UrlScheme::default(), UrlScheme::Http);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UrlScheme {
    /// `http`: the default, for a server that does not say otherwise.
    #[default]
    Http,
    /// `https`
    Https,
    /// Any other scheme (`_OTHER`).
    Other,
}

impl UrlScheme {
    /// Every label value, in the order of [`index`](Self::index).
    pub(super) const ALL: [UrlScheme; 3] = [Self::Http, Self::Https, Self::Other];

    /// The label of a scheme name, compared without regard to case (RFC 3986: "schemes are
    /// case-insensitive"); anything but `http` and `https` is [`Other`](Self::Other).
    pub fn from_name(name: &str) -> Self {
        if name.eq_ignore_ascii_case("http") {
            Self::Http
        } else if name.eq_ignore_ascii_case("https") {
            Self::Https
        } else {
            Self::Other
        }
    }

    /// The label of a request URI's scheme (present in HTTP/2's `:scheme` and in absolute-form
    /// request targets).
    #[inline]
    pub fn from_scheme(scheme: &http::uri::Scheme) -> Self {
        if *scheme == http::uri::Scheme::HTTP {
            Self::Http
        } else if *scheme == http::uri::Scheme::HTTPS {
            Self::Https
        } else {
            Self::from_name(scheme.as_str())
        }
    }

    /// The label value: `http`, `https` or `_OTHER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
            Self::Other => "_OTHER",
        }
    }

    /// The scheme's number in a series key (below 4: it has two bits there).
    #[inline]
    pub(super) fn index(self) -> u64 {
        match self {
            Self::Http => 0,
            Self::Https => 1,
            Self::Other => 2,
        }
    }

    /// The scheme numbered `index` (an unknown number reads as `Other`).
    pub(super) fn from_index(index: u64) -> Self {
        usize::try_from(index)
            .ok()
            .and_then(|index| Self::ALL.get(index).copied())
            .unwrap_or(Self::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::UrlScheme;

    #[test]
    fn uri_schemes_map_to_their_label() {
        let uri: http::Uri = "https://example.com/a".parse().expect("a uri");
        let scheme = uri.scheme().expect("a scheme");
        assert_eq!(UrlScheme::from_scheme(scheme), UrlScheme::Https);
        let uri: http::Uri = "http://example.com/a".parse().expect("a uri");
        let scheme = uri.scheme().expect("a scheme");
        assert_eq!(UrlScheme::from_scheme(scheme), UrlScheme::Http);
        let uri: http::Uri = "ws://example.com/a".parse().expect("a uri");
        let scheme = uri.scheme().expect("a scheme");
        assert_eq!(UrlScheme::from_scheme(scheme).as_str(), "_OTHER");
        assert_eq!(UrlScheme::from_name("HtTpS"), UrlScheme::Https);
        assert_eq!(UrlScheme::from_name(""), UrlScheme::Other);
    }

    #[test]
    fn every_scheme_is_found_by_its_index() {
        for scheme in UrlScheme::ALL {
            assert!(scheme.index() < 4);
            assert_eq!(UrlScheme::from_index(scheme.index()), scheme);
        }
    }
}
