//! This package holds the runnable examples and the tests that run them. Its library is the
//! README, so the README's code is compiled by `cargo test`.
#![doc = include_str!("../README.md")]

/// The documents the README links to and the published crates' READMEs, included so that their
/// code is compiled by `cargo test` too.
pub mod docs {
    #[doc = include_str!("../docs/http-metrics.md")]
    pub mod http_metrics {}
    #[doc = include_str!("../docs/exporter.md")]
    pub mod exporter {}
    #[doc = include_str!("../docs/health-checks.md")]
    pub mod health_checks {}
    #[doc = include_str!("../docs/host-metrics.md")]
    pub mod host_metrics {}
    #[doc = include_str!("../docs/security.md")]
    pub mod security {}
    #[doc = include_str!("../docs/prober.md")]
    pub mod prober {}
    #[doc = include_str!("../docs/standalone.md")]
    pub mod standalone {}
    #[doc = include_str!("../docs/testing.md")]
    pub mod testing {}
    #[doc = include_str!("../metrics-core/README.md")]
    pub mod metrics_toolkit_readme {}
    #[doc = include_str!("../metrics-axum/README.md")]
    pub mod metrics_axum_readme {}
    #[doc = include_str!("../metrics-exporter/README.md")]
    pub mod metrics_exporter_readme {}
}
