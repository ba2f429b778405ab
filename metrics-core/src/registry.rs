//! A shareable handle on a prometheus-client registry, with the standard collectors.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use prometheus_client::collector::Collector;
use prometheus_client::registry::{Metric, Registry};

use crate::collectors::BuildInfo;
use crate::encoding::{
    needs_rewrite, openmetrics_to_prometheus_text, render_labels, rewrite, EncodeError, EncodeText,
    Escaping, Exposition, Format, TextWriter,
};
use crate::http::HttpServerMetrics;

/// A prometheus-client [`Registry`] shared between the code that registers metrics and the
/// exporter that encodes them. Cheap to clone; clones share the registry. No global state:
/// create one per service (or per test).
///
/// ```
/// use metrics_toolkit::{Format, MetricsRegistry};
/// use prometheus_client::metrics::counter::Counter;
///
/// let registry = MetricsRegistry::builder()
///     .service_name("checkout")
///     .version("1.4.2")
///     .const_label("region", "eu-west-1")
///     .build()
///     .unwrap();
/// let jobs: Counter = Counter::default();
/// registry.register("jobs", "Jobs processed", jobs.clone());
/// jobs.inc();
///
/// let text = registry.encode(Format::PrometheusText).unwrap();
/// assert!(text.contains("jobs_total{region=\"eu-west-1\"} 1"));
/// assert!(text.contains("service_name=\"checkout\""));
/// ```
#[derive(Clone, Debug)]
pub struct MetricsRegistry {
    inner: Arc<RwLock<Inner>>,
    last_len: Arc<AtomicUsize>,
    /// The `service_name` of `build_info`, for whoever serves this registry (`/health`).
    service_name: Arc<str>,
}

struct Inner {
    registry: Registry,
    /// Collectors that write their own text (see [`EncodeText`]), encoded first.
    text: Vec<Arc<dyn EncodeText>>,
    /// The constant labels rendered for [`TextWriter`].
    const_labels: String,
    /// The constant labels as pairs, for the protobuf encoders.
    #[cfg_attr(not(feature = "protobuf"), allow(dead_code))]
    const_label_pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsRegistry")
            .field("registry", &self.registry)
            .field("text_collectors", &self.text.len())
            .field("const_labels", &self.const_labels)
            .finish()
    }
}

impl MetricsRegistry {
    /// A builder; see [`MetricsRegistryBuilder`].
    pub fn builder() -> MetricsRegistryBuilder {
        MetricsRegistryBuilder::default()
    }

    /// The service's name, as given to [`MetricsRegistryBuilder::service_name`] (the
    /// `service_name` label of `build_info`).
    ///
    /// ```
    /// use metrics_toolkit::MetricsRegistry;
    ///
    /// let registry = MetricsRegistry::builder().service_name("checkout").build().unwrap();
    /// assert_eq!(registry.service_name(), "checkout");
    /// ```
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Registers a collector, encoded on every scrape.
    pub fn register_collector(&self, collector: impl Collector) {
        self.with_registry(|registry| registry.register_collector(Box::new(collector)));
    }

    /// Registers HTTP server metrics built with
    /// [`HttpServerMetricsBuilder::build`](crate::http::HttpServerMetricsBuilder::build), through
    /// their fast text encoder (about an order of magnitude faster than as a `Collector`);
    /// they are written before the prometheus-client metrics.
    /// [`HttpServerMetricsBuilder::register`](crate::http::HttpServerMetricsBuilder::register)
    /// does both in one call.
    ///
    /// ```
    /// use metrics_toolkit::{Format, HttpServerMetrics, MetricsRegistry};
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let http = HttpServerMetrics::builder().build();
    /// registry.register_http_server_metrics(&http);
    /// drop(http.start_request(&http::Method::GET, Some("/")));
    /// let text = registry.encode(Format::PrometheusText).unwrap();
    /// assert!(text.contains("http_server_requests_total{"));
    /// ```
    pub fn register_http_server_metrics(&self, metrics: &HttpServerMetrics) {
        self.register_text(metrics.clone());
    }

    /// Registers a collector that writes its own text, encoded on every scrape before the
    /// prometheus-client collectors.
    pub(crate) fn register_text(&self, collector: impl EncodeText) {
        self.write().text.push(Arc::new(collector));
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        // Poisoning only means a registration panicked; the registry is still consistent.
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a prometheus-client metric (counter, gauge, family, or this crate's
    /// [`Histogram`](crate::metric::Histogram)). `help` may hold any text: it is escaped for
    /// both formats, and written with one final period whether or not it ends in one
    /// (prometheus-client appends a period to every help string).
    ///
    /// ```
    /// use metrics_toolkit::{Format, MetricsRegistry};
    /// use prometheus_client::metrics::gauge::Gauge;
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// registry.register("queue_depth", "Jobs waiting.\nSee C:\\queue.", Gauge::<i64>::default());
    /// let text = registry.encode(Format::PrometheusText).unwrap();
    /// assert!(text.contains("# HELP queue_depth Jobs waiting.\\nSee C:\\\\queue.\n"));
    /// ```
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        let help = crate::encoding::registry_help(help);
        self.with_registry(|registry| registry.register(name, help, metric));
    }

    /// Gives mutable access to the underlying registry, e.g. to register with a unit or use a
    /// sub-registry. Help strings given to it directly are written as given: they must not
    /// hold a newline or backslash (or be escaped as OpenMetrics requires).
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self.write().registry)
    }

    /// Renders every registered metric in a text format: a [`Format`] (its names escaped with
    /// `underscores`) or an [`Exposition`] as negotiated with a scraper. Protobuf is binary:
    /// asked here it is [`EncodeError::NotText`]; see [`encode_bytes`](Self::encode_bytes).
    ///
    /// Names registered through prometheus-client that are not legacy-valid (`my.requests`)
    /// are escaped as the exposition says, or quoted with `allow-utf-8` in the formats that
    /// can quote; see [`Escaping`]. The families of this crate never need it and are written
    /// without that pass.
    ///
    /// ```
    /// use metrics_toolkit::encoding::{Escaping, Exposition};
    /// use metrics_toolkit::{Format, MetricsRegistry};
    /// use prometheus_client::metrics::counter::Counter;
    ///
    /// let registry = MetricsRegistry::builder().process_metrics(false).build().unwrap();
    /// registry.register("my.requests", "Requests", Counter::<u64>::default());
    /// let text = registry.encode(Format::PrometheusText).unwrap();
    /// assert!(text.contains("\n# TYPE my_requests_total counter\nmy_requests_total 0\n"));
    /// let utf8 = registry
    ///     .encode(Exposition::new(Format::OpenMetrics, Escaping::AllowUtf8))
    ///     .unwrap();
    /// assert!(utf8.contains("\n# TYPE \"my.requests\" counter\n{\"my.requests_total\"} 0\n"));
    /// ```
    pub fn encode(&self, exposition: impl Into<Exposition>) -> Result<String, EncodeError> {
        // Start at the last scrape's size: growing a large buffer copies it each time.
        let mut out = String::with_capacity(self.last_len.load(Ordering::Relaxed));
        self.encode_into(exposition, &mut out)?;
        self.last_len
            .store(out.len() + out.len() / 16, Ordering::Relaxed);
        Ok(out)
    }

    /// Appends the rendering of every registered metric in a text format to `out`; see
    /// [`encode`](Self::encode).
    pub fn encode_into(
        &self,
        exposition: impl Into<Exposition>,
        out: &mut String,
    ) -> Result<(), EncodeError> {
        let exposition = exposition.into();
        let format = exposition.format();
        if !format.is_text() {
            return Err(EncodeError::NotText(format));
        }
        // Recording never takes this lock: a scrape only delays registrations.
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut writer = TextWriter::new(out, format, &inner.const_labels);
        for collector in &inner.text {
            collector.encode_text(&mut writer);
        }
        let mut openmetrics = String::new();
        prometheus_client::encoding::text::encode_registry(&mut openmetrics, &inner.registry)?;
        drop(inner);
        if format == Format::OpenMetrics {
            prometheus_client::encoding::text::encode_eof(&mut openmetrics)?;
        }
        write_prometheus_client_part(&openmetrics, exposition, out);
        Ok(())
    }

    /// Renders every registered metric in any format, protobuf included, as bytes: what an
    /// HTTP response body needs.
    ///
    /// ```
    /// use metrics_toolkit::{Format, MetricsRegistry};
    ///
    /// let registry = MetricsRegistry::builder().build().unwrap();
    /// let body = registry.encode_bytes(Format::OpenMetrics).unwrap();
    /// assert!(body.ends_with(b"# EOF\n"));
    /// ```
    pub fn encode_bytes(&self, exposition: impl Into<Exposition>) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.last_len.load(Ordering::Relaxed));
        self.encode_into_bytes(exposition, &mut out)?;
        self.last_len
            .store(out.len() + out.len() / 16, Ordering::Relaxed);
        Ok(out)
    }

    /// Appends the rendering of every registered metric in any format to `out`; see
    /// [`encode_bytes`](Self::encode_bytes). An empty `out` keeps its capacity for text, so a
    /// buffer reused between scrapes is not grown again.
    pub fn encode_into_bytes(
        &self,
        exposition: impl Into<Exposition>,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let exposition = exposition.into();
        #[cfg(feature = "protobuf")]
        if exposition.format() == Format::Protobuf {
            return self.encode_protobuf(exposition.escaping(), out);
        }
        if out.is_empty() {
            // An empty buffer is valid UTF-8: write the text into its allocation.
            let mut text = String::from_utf8(std::mem::take(out)).unwrap_or_default();
            let result = self.encode_into(exposition, &mut text);
            *out = text.into_bytes();
            result
        } else {
            let mut text = String::new();
            self.encode_into(exposition, &mut text)?;
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
    }

    #[cfg(feature = "protobuf")]
    fn encode_protobuf(&self, escaping: Escaping, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use prost::Message;

        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        for collector in &inner.text {
            collector.encode_protobuf(out, &inner.const_label_pairs);
        }
        let families = prometheus_client::encoding::prometheus_protobuf::encode(&inner.registry)?;
        drop(inner);
        out.reserve(families.iter().map(|f| f.encoded_len() + 5).sum());
        for mut family in families {
            crate::encoding::escape_protobuf_family(&mut family, escaping);
            // Cannot fail: the buffer grows as needed.
            family
                .encode_length_delimited(out)
                .map_err(|_| EncodeError::Collector)?;
        }
        Ok(())
    }
}

/// Appends prometheus-client's OpenMetrics text `openmetrics` in `exposition` to `out`. Only
/// text holding a name that is not legacy-valid is rewritten: a scan of this part, which
/// holds none in the usual registry.
fn write_prometheus_client_part(openmetrics: &str, exposition: Exposition, out: &mut String) {
    let format = exposition.format();
    let escaping = exposition.escaping();
    let rewrite_names = needs_rewrite(openmetrics);
    match (format, rewrite_names) {
        (Format::OpenMetrics, false) => out.push_str(openmetrics),
        (Format::OpenMetrics, true) => rewrite(openmetrics, escaping, out),
        (_, false) => openmetrics_to_prometheus_text(openmetrics, out),
        // Quoting changes no name: convert first, then quote what needs it.
        (_, true) if escaping == Escaping::AllowUtf8 => {
            let mut text = String::with_capacity(openmetrics.len());
            openmetrics_to_prometheus_text(openmetrics, &mut text);
            rewrite(&text, escaping, out);
        }
        // Escaping keeps the family's suffixes: escape in OpenMetrics, where `# TYPE` names
        // the family, then convert.
        (_, true) => {
            let mut escaped = String::with_capacity(openmetrics.len() + openmetrics.len() / 8);
            rewrite(openmetrics, escaping, &mut escaped);
            openmetrics_to_prometheus_text(&escaped, out);
        }
    }
}

/// Configures a [`MetricsRegistry`]: `build_info` labels, constant labels, process metrics.
#[derive(Debug, Clone)]
pub struct MetricsRegistryBuilder {
    service_name: String,
    version: String,
    revision: String,
    const_labels: Vec<(String, String)>,
    process_metrics: bool,
}

impl Default for MetricsRegistryBuilder {
    fn default() -> Self {
        Self {
            // The OpenTelemetry default for an unnamed service.
            service_name: "unknown_service".to_owned(),
            version: "unknown".to_owned(),
            revision: "unknown".to_owned(),
            const_labels: Vec::new(),
            process_metrics: true,
        }
    }
}

impl MetricsRegistryBuilder {
    /// The `service_name` label of `build_info` (default `unknown_service`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// The `version` label of `build_info`, e.g. `env!("CARGO_PKG_VERSION")`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// The `revision` label of `build_info`, e.g. the git commit.
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = revision.into();
        self
    }

    /// A label added to every series of this registry. The name is checked by
    /// [`build`](Self::build): it must be a valid label name, given once, and not one of the
    /// label names the built-in families write (`le`, `quantile`, `version`, `revision`,
    /// `service_name`, the `http_*` labels, `url_scheme`, `network_protocol_version`,
    /// `error_type`, `rpc_grpc_status_code`, `otel_metric_overflow`, `check`, the `system_*`
    /// families' `cpu_logical_number`, `system_*_state`, `system_device`,
    /// `system_filesystem_mountpoint`, `system_filesystem_type`, `network_interface_name` and
    /// `network_io_direction`, and `result`, `reason`, `target`, `phase`, `cause`), which would
    /// appear twice in their series and make a scraper reject the whole scrape.
    ///
    /// ```
    /// use metrics_toolkit::{ConfigError, MetricsRegistry};
    ///
    /// let error = MetricsRegistry::builder()
    ///     .service_name("api")
    ///     .const_label("service_name", "api")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error, ConfigError::BuiltInLabel("service_name".into()));
    /// ```
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// Whether to register the `process_*` collector (default true). It exists with the
    /// `process` feature only: without it there is nothing to register.
    pub fn process_metrics(mut self, enabled: bool) -> Self {
        self.process_metrics = enabled;
        self
    }

    /// Validates the configuration and builds the registry with `build_info` (and the
    /// process collector when enabled) registered.
    pub fn build(self) -> Result<MetricsRegistry, ConfigError> {
        for (index, (name, _)) in self.const_labels.iter().enumerate() {
            if !is_valid_label_name(name) {
                return Err(ConfigError::InvalidLabelName(name.clone()));
            }
            if self.const_labels[..index].iter().any(|(n, _)| n == name) {
                return Err(ConfigError::DuplicateLabel(name.clone()));
            }
            if BUILT_IN_LABEL_NAMES.contains(&name.as_str()) {
                return Err(ConfigError::BuiltInLabel(name.clone()));
            }
        }
        let const_labels = render_labels(
            self.const_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let const_label_pairs = self.const_labels.clone();
        let labels = self
            .const_labels
            .into_iter()
            .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)));
        let mut registry = Registry::with_labels(labels);
        let service_name: Arc<str> = Arc::from(self.service_name.as_str());
        registry.register_collector(Box::new(BuildInfo {
            version: self.version,
            revision: self.revision,
            service_name: self.service_name,
        }));
        if self.process_metrics {
            #[cfg(feature = "process")]
            registry.register_collector(Box::new(crate::collectors::ProcessCollector::new()));
        }
        Ok(MetricsRegistry {
            service_name,
            last_len: Arc::default(),
            inner: Arc::new(RwLock::new(Inner {
                registry,
                text: Vec::new(),
                const_labels,
                const_label_pairs,
            })),
        })
    }
}

/// Every label name a family of these crates writes (and `quantile`, which Prometheus gives
/// summaries): a constant label of the same name would write the label twice in a series, and
/// a scraper rejects the whole scrape. A test scrapes every family and checks this list.
const BUILT_IN_LABEL_NAMES: &[&str] = &[
    // buckets and summaries
    "le",
    "quantile",
    // build_info
    "version",
    "revision",
    "service_name",
    // http_server_*
    "http_request_method",
    "http_route",
    "http_response_status_code",
    "url_scheme",
    "network_protocol_version",
    "error_type",
    "rpc_grpc_status_code",
    "otel_metric_overflow",
    // health_check_*
    "check",
    // system_* (OpenTelemetry's system attributes)
    "cpu_logical_number",
    "system_memory_state",
    "system_paging_state",
    "network_interface_name",
    "network_io_direction",
    "system_device",
    "system_filesystem_mountpoint",
    "system_filesystem_type",
    "system_filesystem_state",
    // the exporter's own counters and the prober's probe_*
    "result",
    "reason",
    "target",
    "phase",
    "cause",
];

/// Label names: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the reserved `__`.
fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

/// A configuration value that was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A constant label name is not a valid Prometheus label name.
    InvalidLabelName(String),
    /// The same constant label name was given twice.
    DuplicateLabel(String),
    /// A constant label name that a built-in family already uses (such as `le`,
    /// `service_name` or `http_route`): every series of that family would carry it twice.
    BuiltInLabel(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLabelName(name) => write!(
                f,
                "constant label name {name:?} is invalid: use [a-zA-Z_][a-zA-Z0-9_]*, not starting with \"__\""
            ),
            Self::DuplicateLabel(name) => write!(f, "constant label {name:?} is given twice"),
            Self::BuiltInLabel(name) => write!(
                f,
                "constant label {name:?} is a label of a built-in family, which would carry it twice: choose another name (the built-in label names are {})",
                BUILT_IN_LABEL_NAMES.join(", ")
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_const_labels() {
        let bad = MetricsRegistry::builder().const_label("1x", "v").build();
        assert_eq!(bad.unwrap_err(), ConfigError::InvalidLabelName("1x".into()));
        let reserved = MetricsRegistry::builder()
            .const_label("__name__", "v")
            .build();
        assert!(reserved.is_err());
        let twice = MetricsRegistry::builder()
            .const_label("a", "1")
            .const_label("a", "2")
            .build();
        assert_eq!(twice.unwrap_err(), ConfigError::DuplicateLabel("a".into()));
    }

    #[test]
    fn openmetrics_ends_with_eof_and_text_does_not() {
        let registry = MetricsRegistry::builder().build().unwrap();
        let om = registry.encode(Format::OpenMetrics).unwrap();
        assert!(om.ends_with("# EOF\n"));
        let text = registry.encode(Format::PrometheusText).unwrap();
        assert!(!text.contains("# EOF"));
        assert!(text.contains("# TYPE build_info gauge"));
    }
}
