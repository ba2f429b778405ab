//! Choosing the [`Exposition`] from a scraper's `Accept` header (RFC 9110 section 12.5.1), for
//! the headers Prometheus 2 and 3 send and anything else a client may send.

use super::{Escaping, Exposition, Format};

/// Ranges of an `Accept` header read; the rest is ignored, so a hostile header costs at most
/// this many ranges of work (Prometheus sends five or six).
const MAX_RANGES: usize = 64;

impl Exposition {
    /// Picks the exposition from an `Accept` header value.
    ///
    /// Each format is given the quality of the most specific range that matches it (ties: the
    /// higher quality), and the format with the highest quality above zero wins; between equal
    /// qualities, the one whose range comes first in the header. Ranges matched:
    ///
    /// - protobuf (with the `protobuf` feature only):
    ///   `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`,
    ///   never through a wildcard;
    /// - OpenMetrics: `application/openmetrics-text` with `version=1.0.0`, `version=0.0.1` or
    ///   no version, all answered as 1.0.0;
    /// - text 1.0.0: `text/plain;version=1.0.0`;
    /// - text 0.0.4: `text/plain;version=0.0.4`, `text/plain`, `text/*` and `*/*`.
    ///
    /// The escaping is the `escaping=` parameter of the range that gave the winner its quality
    /// (`allow-utf-8`, `underscores`, `dots` or `values`); without one, or with another value,
    /// it is `underscores`, as Prometheus does for scrapers that do not ask. The 0.0.4 text
    /// cannot quote names, so `allow-utf-8` on it becomes `underscores` (and the
    /// `Content-Type` says so).
    ///
    /// Fallback: no header, an empty or unparsable one, or one accepting none of the formats
    /// gets the 0.0.4 text with `underscores`, which every scraper reads. Within a range, a
    /// media type without `/`, a quality that is not an RFC 9110 qvalue (`0` to `1` with at most
    /// three decimals) or a version this crate does not write makes that range match nothing;
    /// unknown parameters and parameters without `=` are ignored. Only the first 64 ranges
    /// are read. Matching is ASCII case-insensitive for names and exact for values, as
    /// Prometheus' own negotiation is. This never panics.
    ///
    /// ```
    /// use metrics_toolkit::encoding::{Escaping, Exposition, Format};
    ///
    /// let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
    ///     application/openmetrics-text;version=0.0.1;q=0.5,\
    ///     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    /// let chosen = Exposition::negotiate(Some(prometheus_3));
    /// assert_eq!(chosen, Exposition::new(Format::OpenMetrics, Escaping::AllowUtf8));
    /// assert_eq!(
    ///     chosen.content_type(),
    ///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    /// );
    /// assert_eq!(Exposition::negotiate(None), Exposition::from(Format::PrometheusText));
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Self {
        let fallback = Self::from(Format::PrometheusText);
        let Some(accept) = accept else {
            return fallback;
        };
        let mut best: [Option<Match>; OFFERS.len()] = [None; OFFERS.len()];
        for (position, text) in accept.split(',').take(MAX_RANGES).enumerate() {
            let Some(range) = Range::parse(text) else {
                continue;
            };
            for (offer, slot) in OFFERS.iter().zip(best.iter_mut()) {
                let Some(specificity) = offer.matches(&range) else {
                    continue;
                };
                let candidate = Match {
                    specificity,
                    quality: range.quality,
                    position,
                    escaping: range.escaping,
                };
                if slot.is_none_or(|current| candidate.decides_over(&current)) {
                    *slot = Some(candidate);
                }
            }
        }
        OFFERS
            .iter()
            .zip(best)
            .filter_map(|(offer, found)| Some((offer.format(), found?)))
            .filter(|(_, found)| found.quality > 0)
            // Highest quality, then earliest range.
            .min_by_key(|(_, found)| (std::cmp::Reverse(found.quality), found.position))
            .map_or(fallback, |(format, found)| {
                Self::new(format, found.escaping.unwrap_or_default())
            })
    }
}

/// The formats offered, each matched on its own.
#[derive(Debug, Clone, Copy)]
enum Offer {
    #[cfg(feature = "protobuf")]
    Protobuf,
    OpenMetrics,
    Text1,
    Text004,
}

const OFFERS: &[Offer] = &[
    #[cfg(feature = "protobuf")]
    Offer::Protobuf,
    Offer::OpenMetrics,
    Offer::Text1,
    Offer::Text004,
];

impl Offer {
    fn format(self) -> Format {
        match self {
            #[cfg(feature = "protobuf")]
            Self::Protobuf => Format::Protobuf,
            Self::OpenMetrics => Format::OpenMetrics,
            Self::Text1 => Format::PrometheusText1,
            Self::Text004 => Format::PrometheusText,
        }
    }

    /// How specifically `range` names this format (3: type, subtype and parameters; 2: type
    /// and subtype; 1: `type/*`; 0: `*/*`), or `None` when it does not match.
    fn matches(self, range: &Range<'_>) -> Option<u8> {
        let is = |ty: &str, subtype: &str| {
            range.ty.eq_ignore_ascii_case(ty) && range.subtype.eq_ignore_ascii_case(subtype)
        };
        match self {
            #[cfg(feature = "protobuf")]
            Self::Protobuf => (is("application", "vnd.google.protobuf")
                && range.proto == Some("io.prometheus.client.MetricFamily")
                && range.encoding == Some("delimited"))
            .then_some(3),
            Self::OpenMetrics => match range.version {
                _ if !is("application", "openmetrics-text") => None,
                None => Some(2),
                Some("1.0.0" | "0.0.1") => Some(3),
                Some(_) => None,
            },
            Self::Text1 => (is("text", "plain") && range.version == Some("1.0.0")).then_some(3),
            Self::Text004 => match range.version {
                _ if is("*", "*") => Some(0),
                _ if is("text", "*") => Some(1),
                _ if !is("text", "plain") => None,
                None => Some(2),
                Some("0.0.4") => Some(3),
                Some(_) => None,
            },
        }
    }
}

/// The range that gives an offer its quality so far.
#[derive(Debug, Clone, Copy)]
struct Match {
    specificity: u8,
    /// Thousandths.
    quality: u16,
    position: usize,
    escaping: Option<Escaping>,
}

impl Match {
    /// The most specific range decides; between equally specific ones, the higher quality.
    fn decides_over(&self, current: &Match) -> bool {
        (self.specificity, self.quality) > (current.specificity, current.quality)
    }
}

/// One media range of an `Accept` header, with the parameters negotiation reads.
#[derive(Debug, Default)]
struct Range<'a> {
    ty: &'a str,
    subtype: &'a str,
    /// Thousandths (RFC 9110 qvalues have at most three decimals); 1000 when absent.
    quality: u16,
    version: Option<&'a str>,
    proto: Option<&'a str>,
    encoding: Option<&'a str>,
    escaping: Option<Escaping>,
}

impl<'a> Range<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.split(';');
        let media = trim(parts.next()?);
        let (ty, subtype) = media.split_once('/')?;
        if ty.is_empty() || subtype.is_empty() {
            return None;
        }
        let mut range = Range {
            ty,
            subtype,
            quality: 1000,
            ..Range::default()
        };
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let name = trim(name);
            let value = trim(value);
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if name.eq_ignore_ascii_case("q") {
                range.quality = parse_quality(value)?;
            } else if name.eq_ignore_ascii_case("version") {
                range.version = Some(value);
            } else if name.eq_ignore_ascii_case("proto") {
                range.proto = Some(value);
            } else if name.eq_ignore_ascii_case("encoding") {
                range.encoding = Some(value);
            } else if name.eq_ignore_ascii_case("escaping") {
                range.escaping = Escaping::parse(value);
            }
        }
        Some(range)
    }
}

/// Optional whitespace around tokens (RFC 9110 `OWS`: spaces and tabs).
fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// An RFC 9110 qvalue (`0`, `0.5`, `0.125`, `1`, `1.000`) in thousandths.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (index, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][index];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiate(accept: &str) -> Exposition {
        Exposition::negotiate(Some(accept))
    }

    const PROMETHEUS_3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    const PROMETHEUS_3_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    const PROMETHEUS_2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    const PROMETHEUS_2_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn prometheus_3_gets_openmetrics_with_utf8_names() {
        let chosen = negotiate(PROMETHEUS_3);
        assert_eq!(
            chosen,
            Exposition::new(Format::OpenMetrics, Escaping::AllowUtf8)
        );
        assert_eq!(
            chosen.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
    }

    #[test]
    fn prometheus_2_gets_openmetrics_with_underscores() {
        let chosen = negotiate(PROMETHEUS_2);
        assert_eq!(
            chosen.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
    }

    #[cfg(feature = "protobuf")]
    #[test]
    fn native_histogram_headers_get_protobuf() {
        for accept in [PROMETHEUS_3_NATIVE, PROMETHEUS_2_NATIVE] {
            assert_eq!(
                negotiate(accept).content_type(),
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=underscores",
                "{accept}"
            );
        }
        // Without the two parameters Prometheus' own negotiation needs, not protobuf.
        assert_eq!(
            negotiate("application/vnd.google.protobuf").format(),
            Format::PrometheusText
        );
        assert_eq!(
            negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text").format(),
            Format::PrometheusText
        );
    }

    #[cfg(not(feature = "protobuf"))]
    #[test]
    fn native_histogram_headers_get_text_without_the_feature() {
        assert_eq!(
            negotiate(PROMETHEUS_3_NATIVE).content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        );
        assert_eq!(
            negotiate(PROMETHEUS_2_NATIVE).content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
        );
    }

    #[test]
    fn text_versions_and_escapings() {
        let cases = [
            (
                "text/plain;version=1.0.0;escaping=allow-utf-8",
                "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8",
            ),
            (
                "text/plain;version=1.0.0",
                "text/plain; version=1.0.0; charset=utf-8; escaping=underscores",
            ),
            (
                "text/plain;version=1.0.0;escaping=dots",
                "text/plain; version=1.0.0; charset=utf-8; escaping=dots",
            ),
            (
                "text/plain;version=0.0.4;escaping=values",
                "text/plain; version=0.0.4; charset=utf-8; escaping=values",
            ),
            // 0.0.4 cannot quote names.
            (
                "text/plain;version=0.0.4;escaping=allow-utf-8",
                "text/plain; version=0.0.4; charset=utf-8; escaping=underscores",
            ),
            // Unknown escaping values are ignored.
            (
                "application/openmetrics-text;escaping=UTF-8",
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores",
            ),
            (
                "application/openmetrics-text; version=\"0.0.1\" ; escaping=dots",
                "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=dots",
            ),
        ];
        for (accept, content_type) in cases {
            assert_eq!(negotiate(accept).content_type(), content_type, "{accept}");
        }
    }

    #[test]
    fn quality_and_specificity_decide() {
        let cases = [
            (
                "application/openmetrics-text;q=0.2, text/plain",
                Format::PrometheusText,
            ),
            ("application/openmetrics-text;q=0", Format::PrometheusText),
            ("APPLICATION/OPENMETRICS-TEXT; Q=0.9", Format::OpenMetrics),
            // Equal qualities: the first range in the header.
            (
                "application/openmetrics-text, text/plain",
                Format::OpenMetrics,
            ),
            (
                "text/plain, application/openmetrics-text",
                Format::PrometheusText,
            ),
            // The most specific range decides: text excluded although */* accepts it.
            (
                "text/plain;q=0, */*, application/openmetrics-text;q=0.1",
                Format::OpenMetrics,
            ),
            (
                "text/*;q=0.5, application/openmetrics-text;q=0.4",
                Format::PrometheusText,
            ),
            (
                "application/openmetrics-text;version=2.0.0",
                Format::PrometheusText,
            ),
            (
                "text/plain;version=9.9.9, application/openmetrics-text;q=0.1",
                Format::OpenMetrics,
            ),
        ];
        for (accept, format) in cases {
            assert_eq!(negotiate(accept).format(), format, "{accept}");
        }
    }

    #[test]
    fn hostile_or_malformed_headers_fall_back_to_0_0_4() {
        let fallback = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores";
        let huge = "application/json;q=0.9,".repeat(10_000) + "application/openmetrics-text";
        let many_params = format!(
            "application/openmetrics-text;{}q=0.5",
            "x=y;".repeat(10_000)
        );
        let cases = [
            String::new(),
            " ".into(),
            "*/*".into(),
            ";;;,,=q=".into(),
            "application/json".into(),
            "/".into(),
            "openmetrics".into(),
            "application/openmetrics-text;q=2".into(),
            "application/openmetrics-text;q=-1".into(),
            "application/openmetrics-text;q=NaN".into(),
            "application/openmetrics-text;q=0.0001".into(),
            "application/openmetrics-text;q=1.5".into(),
            "application/openmetrics-text;q=".into(),
            "appl\u{e9}cation/openmetrics-text".into(),
            "application/openmetrics-text\u{1F600}".into(),
            "application/openmetrics-text;version=1.0.0;q=0.\u{663}".into(),
            huge,
        ];
        for accept in &cases {
            assert_eq!(negotiate(accept).content_type(), fallback, "{accept:.80}");
        }
        // Ranges past the 64th are not read, but the first ones are.
        assert_eq!(negotiate(&many_params).format(), Format::OpenMetrics);
        assert_eq!(Exposition::negotiate(None).content_type(), fallback);
        // Unknown parameters and parameters without `=` are ignored.
        assert_eq!(
            negotiate("application/openmetrics-text;charset=utf-8;flag;q=0.9,text/plain;q=0.5")
                .format(),
            Format::OpenMetrics
        );
    }

    #[test]
    fn qualities_are_rfc_9110_qvalues() {
        for (text, thousandths) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.125", Some(125)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("0.1234", None),
            ("+0.5", None),
            ("", None),
            (".5", None),
            ("1e0", None),
        ] {
            assert_eq!(parse_quality(text), thousandths, "{text:?}");
        }
    }
}
