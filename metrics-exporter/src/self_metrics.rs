//! The exporter's own families: `exporter_scrapes_total{result}`,
//! `exporter_auth_failures_total{reason}`, `exporter_connections_open` and
//! `exporter_connections_refused_total`.
//!
//! One counter handle per label value, resolved at registration, so counting takes no lock and
//! hashes nothing; every series exists from the start, so `rate()` and alerts see the first
//! increase.

use std::sync::Arc;

use metrics_toolkit::prometheus_client::metrics::counter::Counter;
use metrics_toolkit::prometheus_client::metrics::family::Family;
use metrics_toolkit::prometheus_client::metrics::gauge::Gauge;
use metrics_toolkit::MetricsRegistry;

type Labels = [(&'static str, &'static str); 1];

/// What became of a `/metrics` request: the `result` label of `exporter_scrapes_total`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScrapeResult {
    Success,
    Unauthorized,
    Forbidden,
    /// Too many concurrent scrapes, an oversized request, or busy password verifiers.
    Rejected,
    Timeout,
    Error,
}

impl ScrapeResult {
    const ALL: [Self; 6] = [
        Self::Success,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Rejected,
        Self::Timeout,
        Self::Error,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Rejected => "rejected",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }
}

/// Why the guard refused a request: the `reason` label of `exporter_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No credentials where they are needed.
    Missing,
    /// Wrong, unknown or malformed credentials.
    Invalid,
    /// A client outside the allow-list.
    Forbidden,
}

impl AuthFailure {
    const ALL: [Self; 3] = [Self::Missing, Self::Invalid, Self::Forbidden];

    fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Invalid => "invalid",
            Self::Forbidden => "forbidden",
        }
    }
}

/// The exporter's own metrics, registered once per exporter.
#[derive(Debug, Clone)]
pub(crate) struct SelfMetrics {
    scrapes: Arc<[Counter; ScrapeResult::ALL.len()]>,
    auth_failures: Arc<[Counter; AuthFailure::ALL.len()]>,
    /// `exporter_connections_open`: connections open on the exporter's own port.
    pub(crate) connections_open: Gauge,
    /// `exporter_connections_refused_total`: connections closed at once at the cap.
    pub(crate) connections_refused: Counter,
}

impl SelfMetrics {
    pub(crate) fn register(registry: &MetricsRegistry) -> Self {
        let scrapes: Family<Labels, Counter> = Family::default();
        let auth_failures: Family<Labels, Counter> = Family::default();
        let metrics = Self {
            scrapes: Arc::new(ScrapeResult::ALL.map(|result| {
                scrapes
                    .get_or_create(&[("result", result.as_str())])
                    .clone()
            })),
            auth_failures: Arc::new(AuthFailure::ALL.map(|reason| {
                auth_failures
                    .get_or_create(&[("reason", reason.as_str())])
                    .clone()
            })),
            connections_open: Gauge::default(),
            connections_refused: Counter::default(),
        };
        registry.register(
            "exporter_scrapes",
            "Requests for /metrics by result (success, unauthorized, forbidden, rejected, timeout, error)",
            scrapes,
        );
        registry.register(
            "exporter_auth_failures",
            "Requests refused by the exporter's authentication or allow-list, by reason (missing, invalid, forbidden)",
            auth_failures,
        );
        registry.register(
            "exporter_connections_open",
            "Connections open on the exporter's own port",
            metrics.connections_open.clone(),
        );
        registry.register(
            "exporter_connections_refused",
            "Connections closed as soon as they were accepted because the connection cap was reached",
            metrics.connections_refused.clone(),
        );
        metrics
    }

    pub(crate) fn scrape(&self, result: ScrapeResult) {
        self.scrapes[result as usize].inc();
    }

    pub(crate) fn auth_failure(&self, reason: AuthFailure) {
        self.auth_failures[reason as usize].inc();
    }
}

#[cfg(test)]
mod tests {
    use metrics_toolkit::{Format, MetricsRegistry};

    use super::{AuthFailure, ScrapeResult, SelfMetrics};

    #[test]
    fn help_texts_end_in_one_period_in_both_formats() {
        let registry = MetricsRegistry::builder()
            .process_metrics(false)
            .build()
            .unwrap();
        let _metrics = SelfMetrics::register(&registry);
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let text = registry.encode(format).unwrap();
            let helps: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("# HELP exporter_"))
                .collect();
            assert_eq!(helps.len(), 4, "{text}");
            for help in helps {
                assert!(help.ends_with('.') && !help.ends_with(".."), "{help}");
            }
        }
    }

    #[test]
    fn label_order_matches_the_discriminants() {
        for (index, result) in ScrapeResult::ALL.into_iter().enumerate() {
            assert_eq!(result as usize, index, "{}", result.as_str());
        }
        for (index, reason) in AuthFailure::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, index, "{}", reason.as_str());
        }
    }
}
