//! The process read from Linux's `/proc/self`: no dependency, and the values sysinfo gave.

use std::fs;

use super::Reading;

/// `AT_CLKTCK` in the auxiliary vector: the kernel's clock ticks per second for `/proc` times.
const AT_CLKTCK: usize = 17;
/// What `AT_CLKTCK` is on every Linux architecture but alpha, should the vector be unreadable.
const DEFAULT_TICKS_PER_SECOND: u64 = 100;

#[derive(Debug)]
pub(super) struct Source {
    ticks_per_second: u64,
    boot_time_seconds: Option<u64>,
}

impl Source {
    pub(super) fn new() -> Self {
        let ticks_per_second = fs::read("/proc/self/auxv")
            .ok()
            .and_then(|auxv| auxv_value(&auxv, AT_CLKTCK))
            .map(|ticks| ticks as u64)
            .filter(|&ticks| ticks > 0)
            .unwrap_or(DEFAULT_TICKS_PER_SECOND);
        // Read once: the boot time does not change while the process runs.
        let boot_time_seconds = fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|stat| boot_time(&stat));
        Self {
            ticks_per_second,
            boot_time_seconds,
        }
    }

    pub(super) fn read(&self) -> Option<Reading> {
        let stat = Stat::parse(&fs::read_to_string("/proc/self/stat").ok()?)?;
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let kib = |key| status_value(&status, key).map(|kib| kib.saturating_mul(1024));
        Some(Reading {
            // Whole milliseconds first, as sysinfo reported them.
            cpu_seconds: ((stat.utime + stat.stime).saturating_mul(1000) / self.ticks_per_second)
                as f64
                / 1000.0,
            resident_bytes: kib("VmRSS:")?,
            virtual_bytes: kib("VmSize:")?,
            start_time_seconds: self.boot_time_seconds? + stat.start_ticks / self.ticks_per_second,
            // The directory handle read_dir holds is counted too, as it was with sysinfo.
            open_fds: fs::read_dir("/proc/self/fd").ok().map(Iterator::count),
            max_fds: fs::read_to_string("/proc/self/limits")
                .ok()
                .and_then(|limits| max_open_files(&limits)),
            threads: status_value(&status, "Threads:").map(|n| n as usize),
        })
    }
}

/// The fields of `/proc/self/stat` the collector uses (proc(5)).
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    start_ticks: u64,
}

impl Stat {
    fn parse(stat: &str) -> Option<Self> {
        // The command name (field 2) is in parentheses and may hold spaces and parentheses:
        // the fields after it start after the last `)`, at field 3.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        let field = |number: usize| fields.get(number - 3)?.parse::<u64>().ok();
        Some(Self {
            utime: field(14)?,
            stime: field(15)?,
            start_ticks: field(22)?,
        })
    }
}

/// A `Key:   value kB` line of `/proc/self/status`, the number only.
fn status_value(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The soft limit of `Max open files` in `/proc/self/limits`; `None` when unlimited.
fn max_open_files(limits: &str) -> Option<usize> {
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("btime"))?
        .trim()
        .parse()
        .ok()
}

/// The value of `key` in an auxiliary vector: pairs of native-endian machine words.
fn auxv_value(auxv: &[u8], key: usize) -> Option<usize> {
    const WORD: usize = std::mem::size_of::<usize>();
    let word = |bytes: &[u8]| usize::from_ne_bytes(bytes.try_into().unwrap_or([0; WORD]));
    auxv.chunks_exact(2 * WORD)
        .map(|pair| (word(&pair[..WORD]), word(&pair[WORD..])))
        .find(|&(k, _)| k == key)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_after_the_command_name() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 125 0 0 20 0 \
                    7 0 98765 123456789 2000 18446744073709551615";
        let stat = Stat::parse(line).expect("parses");
        assert_eq!(
            stat,
            Stat {
                utime: 250,
                stime: 125,
                start_ticks: 98765
            }
        );
        assert_eq!(Stat::parse("4242 (truncated"), None);
    }

    #[test]
    fn status_limits_and_boot_time() {
        let status = "Name:\tx\nVmSize:\t  123456 kB\nVmRSS:\t    2048 kB\nThreads:\t7\n";
        assert_eq!(status_value(status, "VmRSS:"), Some(2048));
        assert_eq!(status_value(status, "VmSize:"), Some(123456));
        assert_eq!(status_value(status, "Threads:"), Some(7));
        assert_eq!(status_value(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             63448                63448                processes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn auxv_pairs_are_machine_words() {
        let mut auxv = Vec::new();
        for (key, value) in [(6usize, 4096usize), (AT_CLKTCK, 100), (0, 0)] {
            auxv.extend_from_slice(&key.to_ne_bytes());
            auxv.extend_from_slice(&value.to_ne_bytes());
        }
        assert_eq!(auxv_value(&auxv, AT_CLKTCK), Some(100));
        assert_eq!(auxv_value(&auxv, 99), None);
    }

    #[test]
    fn this_process_reads_whole() {
        let reading = Source::new().read().expect("/proc/self is readable");
        assert!(reading.resident_bytes > 0 && reading.virtual_bytes >= reading.resident_bytes);
        assert!(reading.start_time_seconds > 1_500_000_000);
        assert!(reading.threads >= Some(1));
        assert!(reading.open_fds >= Some(3));
    }

    #[test]
    fn agrees_with_sysinfo_on_what_does_not_move() {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};
        let ours = Source::new().read().expect("/proc/self is readable");
        let pid = sysinfo::get_current_pid().expect("pid");
        let mut system = System::new().expect("system");
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let theirs = system.process(pid).expect("this process");
        assert_eq!(ours.start_time_seconds, theirs.start_time());
        assert_eq!(ours.max_fds, theirs.open_files_limit());
        assert!(ours.cpu_seconds <= theirs.accumulated_cpu_time() as f64 / 1000.0);
    }
}
