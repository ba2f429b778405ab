//! Host metrics (`system_*`) read with sysinfo on a background thread.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;
use sysinfo::{Disks, Networks, System};

// The OpenTelemetry system conventions' attributes, rendered for Prometheus (dots to
// underscores).
const CPU_LOGICAL_NUMBER: &str = "cpu_logical_number";
const MEMORY_STATE: &str = "system_memory_state";
const PAGING_STATE: &str = "system_paging_state";
const NETWORK_INTERFACE: &str = "network_interface_name";
const NETWORK_DIRECTION: &str = "network_io_direction";
const DEVICE: &str = "system_device";
const FILESYSTEM_MOUNTPOINT: &str = "system_filesystem_mountpoint";
const FILESYSTEM_TYPE: &str = "system_filesystem_type";
const FILESYSTEM_STATE: &str = "system_filesystem_state";

/// How often the host is read when no interval is given.
pub const DEFAULT_SYSTEM_INTERVAL: Duration = Duration::from_secs(10);

/// Exports host metrics named after the OpenTelemetry system conventions, rendered the
/// Prometheus way: CPU utilization per core and in total, memory and swap, load averages,
/// uptime, network bytes per interface and filesystem usage per mount point (see the README's
/// metric reference for every name).
///
/// The labels are the conventions' attributes with dots rendered as underscores:
/// `cpu_logical_number` (`cpu.logical_number`; the all-CPU series has none, as an attribute
/// that does not apply is left out), `system_memory_state` (`used`, and `available`: the
/// convention's well-known values are `used`, `free`, `buffers` and `cached`, and "otherwise, a
/// custom value MAY be used"), `system_paging_state` (`used`, `free`),
/// `network_interface_name` and `network_io_direction` (`receive`, `transmit`), and
/// `system_device`, `system_filesystem_mountpoint`, `system_filesystem_type` and
/// `system_filesystem_state` (`used`, `free`).
///
/// A background thread reads the host every interval (default
/// [`DEFAULT_SYSTEM_INTERVAL`]) and publishes a snapshot; a scrape only encodes the latest
/// snapshot, so its cost does not depend on sysinfo. Nothing is exported until the first
/// reading is done (about 200 ms after start: CPU utilization needs two readings). The thread
/// stops when the collector and all its clones are dropped.
///
/// ```
/// use std::time::Duration;
/// use metrics_toolkit::collectors::SystemCollector;
/// use metrics_toolkit::{Format, MetricsRegistry};
///
/// let registry = MetricsRegistry::builder().build().unwrap();
/// let system = SystemCollector::start(Duration::from_secs(10));
/// registry.register_collector(system.clone());
/// assert!(system.wait_for_first_reading(Duration::from_secs(10)));
/// let text = registry.encode(Format::PrometheusText).unwrap();
/// # #[cfg(target_os = "linux")]
/// assert!(text.contains("system_memory_usage_bytes{system_memory_state=\"used\"}"));
/// ```
#[derive(Debug, Clone)]
pub struct SystemCollector {
    shared: Arc<Shared>,
    // Dropping the last sender wakes the thread up, and it exits.
    _stop: mpsc::Sender<()>,
}

#[derive(Debug, Default)]
struct Shared {
    latest: ArcSwapOption<Reading>,
    readings: AtomicU64,
}

/// One reading of the host.
#[derive(Debug, Default)]
struct Reading {
    cpu_total: f64,
    cpus: Vec<f64>,
    memory_total: u64,
    memory_used: u64,
    memory_available: u64,
    swap_total: u64,
    swap_used: u64,
    swap_free: u64,
    load: Option<[f64; 3]>,
    uptime_seconds: Option<u64>,
    networks: Vec<NetworkReading>,
    filesystems: Vec<FilesystemReading>,
}

#[derive(Debug)]
struct NetworkReading {
    device: String,
    received: u64,
    transmitted: u64,
}

#[derive(Debug)]
struct FilesystemReading {
    device: String,
    mountpoint: String,
    kind: String,
    total: u64,
    available: u64,
}

impl SystemCollector {
    /// Starts reading the host every `interval` (at least 200 ms, sysinfo's minimum for CPU
    /// utilization) on a background thread.
    pub fn start(interval: Duration) -> Self {
        let interval = interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = mpsc::channel();
        let thread_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("system-metrics".to_owned())
            .spawn(move || refresh_loop(&thread_shared, interval, &stopped));
        // Without a thread there is nothing to export; the collector stays empty rather than
        // failing the service.
        drop(spawned);
        Self {
            shared,
            _stop: stop,
        }
    }

    /// How many readings the background thread published so far.
    pub fn readings(&self) -> u64 {
        self.shared.readings.load(Ordering::Acquire)
    }

    /// Blocks until the first reading is published or `timeout` passes; returns whether a
    /// reading is there.
    pub fn wait_for_first_reading(&self, timeout: Duration) -> bool {
        // A timeout too long for the clock means no deadline.
        let deadline = std::time::Instant::now().checked_add(timeout);
        while self.readings() == 0 {
            if deadline.is_some_and(|deadline| std::time::Instant::now() >= deadline) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Default for SystemCollector {
    /// Reads the host every [`DEFAULT_SYSTEM_INTERVAL`].
    fn default() -> Self {
        Self::start(DEFAULT_SYSTEM_INTERVAL)
    }
}

fn refresh_loop(shared: &Shared, interval: Duration, stopped: &mpsc::Receiver<()>) {
    let Ok(mut system) = System::new() else {
        return;
    };
    let mut networks = Networks::new().ok();
    let mut disks = Disks::new().ok();
    // CPU utilization is the difference between two readings.
    system.refresh_cpu_all();
    if wait(stopped, sysinfo::MINIMUM_CPU_UPDATE_INTERVAL) {
        return;
    }
    loop {
        let reading = read(&mut system, networks.as_mut(), disks.as_mut());
        shared.latest.store(Some(Arc::new(reading)));
        shared.readings.fetch_add(1, Ordering::Release);
        if wait(stopped, interval) {
            return;
        }
    }
}

/// Sleeps for `interval`; true when every collector handle is gone.
fn wait(stopped: &mpsc::Receiver<()>, interval: Duration) -> bool {
    !matches!(
        stopped.recv_timeout(interval),
        Err(mpsc::RecvTimeoutError::Timeout)
    )
}

fn read(
    system: &mut System,
    networks: Option<&mut Networks>,
    disks: Option<&mut Disks>,
) -> Reading {
    system.refresh_cpu_all();
    system.refresh_memory();
    let cpus = system
        .cpus()
        .iter()
        .map(|cpu| f64::from(cpu.usage()) / 100.0)
        .collect();
    let mut reading = Reading {
        cpu_total: f64::from(system.global_cpu_usage()) / 100.0,
        cpus,
        memory_total: system.total_memory(),
        memory_used: system.used_memory(),
        memory_available: system.available_memory(),
        swap_total: system.total_swap(),
        swap_used: system.used_swap(),
        swap_free: system.free_swap(),
        load: System::load_average()
            .ok()
            .map(|l| [l.one, l.five, l.fifteen]),
        uptime_seconds: System::uptime().ok(),
        ..Reading::default()
    };
    if let Some(networks) = networks {
        networks.refresh(true);
        reading.networks = networks
            .iter()
            .map(|(name, data)| NetworkReading {
                device: name.to_string_lossy().into_owned(),
                received: data.total_received(),
                transmitted: data.total_transmitted(),
            })
            .collect();
        reading.networks.sort_by(|a, b| a.device.cmp(&b.device));
    }
    if let Some(disks) = disks {
        disks.refresh(true);
        reading.filesystems = disks
            .iter()
            .map(|disk| FilesystemReading {
                device: disk.name().to_string_lossy().into_owned(),
                mountpoint: disk.mount_point().to_string_lossy().into_owned(),
                kind: disk.file_system().to_string_lossy().into_owned(),
                total: disk.total_space(),
                available: disk.available_space(),
            })
            .collect();
        reading
            .filesystems
            .sort_by(|a, b| a.mountpoint.cmp(&b.mountpoint));
    }
    reading
}

impl Collector for SystemCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(r) = self.shared.latest.load_full() else {
            return Ok(());
        };
        let ratio = Unit::Other("ratio".to_owned());

        let mut cpu = encoder.encode_descriptor(
            "system_cpu_utilization",
            "CPU utilization (0 to 1) since the previous reading, per logical CPU and in total (no cpu_logical_number).",
            Some(&ratio),
            MetricType::Gauge,
        )?;
        // The all-CPU series: the logical number does not apply, so it has no such label.
        let all_cpus: [(&str, &str); 0] = [];
        cpu.encode_family(&all_cpus)?.encode_gauge(&r.cpu_total)?;
        for (index, usage) in r.cpus.iter().enumerate() {
            let index = index.to_string();
            cpu.encode_family(&[(CPU_LOGICAL_NUMBER, index.as_str())])?
                .encode_gauge(usage)?;
        }

        let mut memory = encoder.encode_descriptor(
            "system_memory_usage",
            "Memory in use and available to start new applications, by state.",
            Some(&Unit::Bytes),
            MetricType::Gauge,
        )?;
        memory
            .encode_family(&[(MEMORY_STATE, "used")])?
            .encode_gauge(&r.memory_used)?;
        memory
            .encode_family(&[(MEMORY_STATE, "available")])?
            .encode_gauge(&r.memory_available)?;
        gauge(
            &mut encoder,
            "system_memory_limit",
            "Total memory.",
            Some(&Unit::Bytes),
            r.memory_total,
        )?;

        let mut swap = encoder.encode_descriptor(
            "system_paging_usage",
            "Swap space used and free, by state.",
            Some(&Unit::Bytes),
            MetricType::Gauge,
        )?;
        swap.encode_family(&[(PAGING_STATE, "used")])?
            .encode_gauge(&r.swap_used)?;
        swap.encode_family(&[(PAGING_STATE, "free")])?
            .encode_gauge(&r.swap_free)?;
        gauge(
            &mut encoder,
            "system_paging_limit",
            "Total swap space.",
            Some(&Unit::Bytes),
            r.swap_total,
        )?;

        if let Some([one, five, fifteen]) = r.load {
            for (name, help, value) in [
                (
                    "system_cpu_load_average_1m",
                    "Load average over 1 minute.",
                    one,
                ),
                (
                    "system_cpu_load_average_5m",
                    "Load average over 5 minutes.",
                    five,
                ),
                (
                    "system_cpu_load_average_15m",
                    "Load average over 15 minutes.",
                    fifteen,
                ),
            ] {
                gauge(&mut encoder, name, help, None, value)?;
            }
        }
        if let Some(uptime) = r.uptime_seconds {
            gauge(
                &mut encoder,
                "system_uptime",
                "Time since the host booted.",
                Some(&Unit::Seconds),
                uptime,
            )?;
        }

        let mut network = encoder.encode_descriptor(
            "system_network_io",
            "Bytes received and transmitted per network interface since boot.",
            Some(&Unit::Bytes),
            MetricType::Counter,
        )?;
        for n in &r.networks {
            for (direction, value) in [("receive", n.received), ("transmit", n.transmitted)] {
                network
                    .encode_family(&[
                        (NETWORK_INTERFACE, n.device.as_str()),
                        (NETWORK_DIRECTION, direction),
                    ])?
                    .encode_counter::<NoLabelSet, _, u64>(&value, None)?;
            }
        }

        let mut filesystem = encoder.encode_descriptor(
            "system_filesystem_usage",
            "Filesystem space used and free (available to unprivileged users) per mount point.",
            Some(&Unit::Bytes),
            MetricType::Gauge,
        )?;
        for fs in &r.filesystems {
            let used = fs.total.saturating_sub(fs.available);
            for (state, value) in [("used", used), ("free", fs.available)] {
                let labels = [
                    (DEVICE, fs.device.as_str()),
                    (FILESYSTEM_MOUNTPOINT, fs.mountpoint.as_str()),
                    (FILESYSTEM_TYPE, fs.kind.as_str()),
                    (FILESYSTEM_STATE, state),
                ];
                filesystem.encode_family(&labels)?.encode_gauge(&value)?;
            }
        }
        let mut limit = encoder.encode_descriptor(
            "system_filesystem_limit",
            "Filesystem size per mount point.",
            Some(&Unit::Bytes),
            MetricType::Gauge,
        )?;
        for fs in &r.filesystems {
            let labels = [
                (DEVICE, fs.device.as_str()),
                (FILESYSTEM_MOUNTPOINT, fs.mountpoint.as_str()),
                (FILESYSTEM_TYPE, fs.kind.as_str()),
            ];
            limit.encode_family(&labels)?.encode_gauge(&fs.total)?;
        }
        Ok(())
    }
}

/// An unlabelled gauge family.
fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: V,
) -> Result<(), fmt::Error> {
    encoder
        .encode_descriptor(name, help, unit, MetricType::Gauge)?
        .encode_gauge(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, MetricsRegistry};

    #[test]
    fn scrapes_read_the_snapshot_not_the_host() {
        let registry = MetricsRegistry::builder()
            .process_metrics(false)
            .build()
            .unwrap();
        // An interval far longer than the test: only the first reading happens.
        let system = SystemCollector::start(Duration::from_secs(3600));
        registry.register_collector(system.clone());
        assert!(system.wait_for_first_reading(Duration::from_secs(30)));
        let before = system.readings();
        let mut text = String::new();
        for _ in 0..50 {
            text = registry.encode(Format::PrometheusText).unwrap();
        }
        assert_eq!(system.readings(), before, "a scrape never reads the host");
        assert!(text.contains("# TYPE system_cpu_utilization_ratio gauge"));
        assert!(text.contains("\nsystem_cpu_utilization_ratio "));
        assert!(text.contains("system_cpu_utilization_ratio{cpu_logical_number=\"0\"}"));
        assert!(text.contains("system_memory_limit_bytes "));
        assert!(text.contains("system_paging_usage_bytes{system_paging_state=\"free\"}"));
        assert!(text.contains("system_memory_usage_bytes{system_memory_state=\"available\"}"));
        #[cfg(target_os = "linux")]
        {
            assert!(text.contains("system_cpu_load_average_1m "));
            assert!(text.contains("system_uptime_seconds "));
            assert!(text.contains(
                "system_network_io_bytes_total{network_interface_name=\"lo\",network_io_direction=\"receive\"}"
            ));
            assert!(text.contains("# TYPE system_filesystem_usage_bytes gauge"));
            // A container may show no filesystem at all; any that is shown has every label.
            let filesystems = text
                .lines()
                .filter(|line| line.starts_with("system_filesystem_usage_bytes{"));
            for filesystem in filesystems {
                for label in [
                    "{system_device=",
                    ",system_filesystem_mountpoint=",
                    ",system_filesystem_type=",
                    ",system_filesystem_state=",
                ] {
                    assert!(filesystem.contains(label), "{filesystem}");
                }
            }
        }
    }

    #[test]
    fn refreshes_on_its_interval_and_stops_when_dropped() {
        let system = SystemCollector::start(Duration::from_millis(200));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while system.readings() < 3 {
            assert!(std::time::Instant::now() < deadline, "no refresh");
            std::thread::sleep(Duration::from_millis(50));
        }
        let shared = Arc::clone(&system.shared);
        drop(system);
        // The thread notices the drop at once; give it a moment, then the count stays put.
        std::thread::sleep(Duration::from_millis(300));
        let stopped_at = shared.readings.load(Ordering::Acquire);
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(shared.readings.load(Ordering::Acquire), stopped_at);
    }
}
