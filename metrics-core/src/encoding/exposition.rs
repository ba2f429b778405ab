//! What a scrape is answered with: a format and the escaping of its names, and the exact
//! `Content-Type` saying both.

use super::{Escaping, Format};

/// A [`Format`] and the [`Escaping`] of names that are not legacy-valid: what a scrape is
/// answered with, as [`Exposition::negotiate`] picks it from the scraper's `Accept` header.
///
/// Built only through [`new`](Self::new) (or from a `Format`, with `underscores`), which keeps
/// the pair one the body really is: the 0.0.4 text has no quoted names, so it never carries
/// `allow-utf-8`.
///
/// ```
/// use metrics_toolkit::encoding::{Escaping, Exposition, Format};
///
/// let exposition = Exposition::new(Format::OpenMetrics, Escaping::AllowUtf8);
/// assert_eq!(
///     exposition.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
/// );
/// let text = Exposition::new(Format::PrometheusText, Escaping::AllowUtf8);
/// assert_eq!(text.escaping(), Escaping::Underscores);
/// assert_eq!(
///     Exposition::from(Format::PrometheusText).content_type(),
///     "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Exposition {
    format: Format,
    escaping: Escaping,
}

impl Exposition {
    /// `format` with `escaping`; the 0.0.4 text format with `allow-utf-8` is given
    /// `underscores` instead, since it cannot quote a name.
    pub fn new(format: Format, escaping: Escaping) -> Self {
        let escaping = match (format, escaping) {
            (Format::PrometheusText, Escaping::AllowUtf8) => Escaping::Underscores,
            (_, escaping) => escaping,
        };
        Self { format, escaping }
    }

    /// The format.
    pub fn format(self) -> Format {
        self.format
    }

    /// The escaping of names that are not legacy-valid.
    pub fn escaping(self) -> Escaping {
        self.escaping
    }

    /// The exact, complete `Content-Type` of a response in this exposition: the format's media
    /// type and parameters, then `; escaping=` and the scheme used.
    pub fn content_type(self) -> &'static str {
        macro_rules! each_escaping {
            ($base:literal) => {
                match self.escaping {
                    Escaping::AllowUtf8 => concat!($base, "; escaping=allow-utf-8"),
                    Escaping::Underscores => concat!($base, "; escaping=underscores"),
                    Escaping::Dots => concat!($base, "; escaping=dots"),
                    Escaping::Values => concat!($base, "; escaping=values"),
                }
            };
        }
        match self.format {
            Format::OpenMetrics => {
                each_escaping!("application/openmetrics-text; version=1.0.0; charset=utf-8")
            }
            Format::PrometheusText => each_escaping!("text/plain; version=0.0.4; charset=utf-8"),
            Format::PrometheusText1 => each_escaping!("text/plain; version=1.0.0; charset=utf-8"),
            #[cfg(feature = "protobuf")]
            Format::Protobuf => each_escaping!(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            ),
        }
    }
}

impl From<Format> for Exposition {
    /// `format` with [`Escaping::Underscores`], Prometheus' default for a scraper that does not
    /// ask for an escaping.
    fn from(format: Format) -> Self {
        Self::new(format, Escaping::Underscores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_exact() {
        let cases = [
            (
                Format::OpenMetrics,
                Escaping::Dots,
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
            ),
            (
                Format::PrometheusText,
                Escaping::Values,
                "text/plain; version=0.0.4; charset=utf-8; escaping=values",
            ),
            (
                Format::PrometheusText,
                Escaping::AllowUtf8,
                "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
            ),
            (
                Format::PrometheusText1,
                Escaping::AllowUtf8,
                "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            ),
            (
                Format::PrometheusText1,
                Escaping::Underscores,
                "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
            ),
        ];
        for (format, escaping, expected) in cases {
            assert_eq!(Exposition::new(format, escaping).content_type(), expected);
        }
    }

    #[cfg(feature = "protobuf")]
    #[test]
    fn protobuf_content_type_is_exact() {
        assert_eq!(
            Exposition::new(Format::Protobuf, Escaping::AllowUtf8).content_type(),
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=allow-utf-8"
        );
    }
}
