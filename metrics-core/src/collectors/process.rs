//! The standard `process_*` metrics, read with sysinfo at scrape time.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Exports the unlabelled `process_*` set Prometheus users know: `process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_start_time_seconds`,
/// `process_open_fds`, `process_max_fds` and `process_threads`.
///
/// Values the platform cannot tell are left out rather than reported as zero.
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
    pid: Option<Pid>,
    system: Mutex<Option<System>>,
}

impl ProcessCollector {
    /// A collector for the current process.
    pub fn new() -> Self {
        Self {
            pid: sysinfo::get_current_pid().ok(),
            system: Mutex::new(None),
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

impl ProcessCollector {
    fn read(&self) -> Option<Reading> {
        let pid = self.pid?;
        // Scrapes are serialized here; this lock is never on a request path.
        let mut guard = self.system.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            *guard = System::new().ok();
        }
        let system = guard.as_mut()?;
        let kind = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .with_tasks();
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, kind);
        let process = system.process(pid)?;
        Some(Reading {
            cpu_seconds: process.accumulated_cpu_time() as f64 / 1000.0,
            resident_bytes: process.memory(),
            virtual_bytes: process.virtual_memory(),
            start_time_seconds: process.start_time(),
            open_fds: process.open_files(),
            max_fds: process.open_files_limit(),
            threads: process.tasks().map(|tasks| tasks.len()),
        })
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(r) = self.read() else {
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
