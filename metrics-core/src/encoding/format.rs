//! Exposition formats and choosing one from an `Accept` header.

/// An exposition format `/metrics` can answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// OpenMetrics 1.0 text, ending in `# EOF`.
    OpenMetrics,
    /// The classic Prometheus text format, version 0.0.4.
    PrometheusText,
}

impl Format {
    /// The exact `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// Picks the format from an `Accept` header value, by quality (RFC 9110 section 12.5.1).
    ///
    /// OpenMetrics is chosen only when `application/openmetrics-text` is acceptable with a
    /// quality above that of plain text; everything else, including no header, an unparsable
    /// one or only unsupported types, gets the Prometheus text format, which every scraper reads.
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
        let Some(accept) = accept else {
            return Self::PrometheusText;
        };
        let mut openmetrics = 0.0f32;
        let mut text = 0.0f32;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|param| {
                    let (name, value) = param.split_once('=')?;
                    name.trim()
                        .eq_ignore_ascii_case("q")
                        .then(|| value.trim().parse::<f32>().ok())
                        .flatten()
                })
                .next()
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(quality),
                "text/plain" | "text/*" | "*/*" => text = text.max(quality),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics > text {
            Self::OpenMetrics
        } else {
            Self::PrometheusText
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_scrape_header_gets_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(accept)), Format::OpenMetrics);
    }

    #[test]
    fn quality_decides_and_garbage_falls_back() {
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2, text/plain")),
            Format::PrometheusText
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::PrometheusText
        );
        assert_eq!(Format::negotiate(Some("*/*")), Format::PrometheusText);
        assert_eq!(Format::negotiate(Some(";;;,,=q=")), Format::PrometheusText);
        assert_eq!(
            Format::negotiate(Some("APPLICATION/OPENMETRICS-TEXT; Q=0.9")),
            Format::OpenMetrics
        );
    }
}
