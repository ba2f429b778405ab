//! The exposition formats a registry can be written in.

use super::Exposition;

/// An exposition format `/metrics` can answer in. With the escaping of names that are not
/// legacy-valid it makes an [`Exposition`], which [`MetricsRegistry::encode`] takes (a `Format`
/// alone means [`Escaping::Underscores`](crate::encoding::Escaping::Underscores)).
///
/// [`MetricsRegistry::encode`]: crate::MetricsRegistry::encode
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// OpenMetrics 1.0 text, ending in `# EOF`. Also the answer to a scraper asking for
    /// OpenMetrics 0.0.1: 1.0.0 is its compatible successor, and the `Content-Type` says 1.0.0.
    OpenMetrics,
    /// The classic Prometheus text format, version 0.0.4. Its names are always legacy-valid:
    /// asked with `escaping=allow-utf-8`, it is answered with `underscores`.
    PrometheusText,
    /// The Prometheus text format version 1.0.0 of Prometheus 3: the 0.0.4 syntax, where a name
    /// that is not legacy-valid may be written quoted (`{"my.requests_total"} 1`) when the
    /// escaping is `allow-utf-8`. With any other escaping its body equals the 0.0.4 one.
    PrometheusText1,
    /// Protobuf `io.prometheus.client.MetricFamily` messages, each length-delimited: what
    /// Prometheus needs to scrape native histograms. Binary: encode it with
    /// [`MetricsRegistry::encode_bytes`](crate::MetricsRegistry::encode_bytes).
    #[cfg(feature = "protobuf")]
    Protobuf,
}

impl Format {
    /// The media type and its parameters, without the `escaping` parameter: a response
    /// should carry [`Exposition::content_type`], which states the escaping as well.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
            Self::PrometheusText1 => "text/plain; version=1.0.0; charset=utf-8",
            #[cfg(feature = "protobuf")]
            Self::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }

    /// Whether this format is text (everything but protobuf), so that
    /// [`MetricsRegistry::encode`](crate::MetricsRegistry::encode) can write it as a `String`.
    pub fn is_text(self) -> bool {
        match self {
            Self::OpenMetrics | Self::PrometheusText | Self::PrometheusText1 => true,
            #[cfg(feature = "protobuf")]
            Self::Protobuf => false,
        }
    }

    /// The format [`Exposition::negotiate`] picks from an `Accept` header value; see there for
    /// the rules and the fallback.
    ///
    /// ```
    /// use metrics_toolkit::Format;
    ///
    /// assert_eq!(Format::negotiate(None), Format::PrometheusText);
    /// assert_eq!(
    ///     Format::negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")),
    ///     Format::OpenMetrics
    /// );
    /// assert_eq!(Format::negotiate(Some("text/plain")), Format::PrometheusText);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Self {
        Exposition::negotiate(accept).format()
    }
}
