//! The standard `process_*` metrics, read at scrape time: from /proc on Linux, with sysinfo
//! elsewhere.

#[cfg(all(not(target_os = "linux"), feature = "system"))]
mod portable;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(all(not(target_os = "linux"), not(feature = "system")))]
mod unsupported;

use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

#[cfg(all(not(target_os = "linux"), feature = "system"))]
use portable::Source;
#[cfg(target_os = "linux")]
use procfs::Source;
#[cfg(all(not(target_os = "linux"), not(feature = "system")))]
use unsupported::Source;

/// Exports the unlabelled `process_*` set Prometheus users know: `process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_start_time_seconds`,
/// `process_open_fds`, `process_max_fds` and `process_threads`.
///
/// Values the platform cannot tell are left out rather than reported as zero. On Linux they are
/// read from `/proc/self`; on other platforms with sysinfo, which the `system` feature brings
/// (without it the collector exports nothing there).
///
/// ```
/// use metrics_toolkit::collectors::ProcessCollector;
/// use metrics_toolkit::{Format, MetricsRegistry};
///
/// let registry = MetricsRegistry::builder().process_metrics(false).build().unwrap();
/// registry.register_collector(ProcessCollector::new());
/// let text = registry.encode(Format::PrometheusText).unwrap();
/// # #[cfg(target_os = "linux")]
/// assert!(text.contains("process_resident_memory_bytes "));
/// ```
#[derive(Debug)]
pub struct ProcessCollector {
    source: Source,
}

impl ProcessCollector {
    /// A collector for the current process.
    pub fn new() -> Self {
        Self {
            source: Source::new(),
        }
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

/// What one scrape read of the process.
struct Reading {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    start_time_seconds: u64,
    open_fds: Option<usize>,
    max_fds: Option<usize>,
    threads: Option<usize>,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(r) = self.source.read() else {
            return Ok(());
        };
        encoder
            .encode_descriptor(
                "process_cpu",
                "Total user and system CPU time spent in seconds.",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, _, u64>(&r.cpu_seconds, None)?;
        let gauges: [(&str, &str, Option<Unit>, Option<u64>); 6] = [
            (
                "process_resident_memory",
                "Resident memory size in bytes.",
                Some(Unit::Bytes),
                Some(r.resident_bytes),
            ),
            (
                "process_virtual_memory",
                "Virtual memory size in bytes.",
                Some(Unit::Bytes),
                Some(r.virtual_bytes),
            ),
            (
                "process_start_time",
                "Start time of the process since unix epoch in seconds.",
                Some(Unit::Seconds),
                Some(r.start_time_seconds),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                None,
                r.open_fds.map(|n| n as u64),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                None,
                r.max_fds.map(|n| n as u64),
            ),
            (
                "process_threads",
                "Number of OS threads in the process.",
                None,
                r.threads.map(|n| n as u64),
            ),
        ];
        for (name, help, unit, value) in gauges {
            if let Some(value) = value {
                encoder
                    .encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?
                    .encode_gauge(&value)?;
            }
        }
        Ok(())
    }
}
