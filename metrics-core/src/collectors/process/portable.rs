//! The process read with sysinfo, on platforms without Linux's /proc.

use std::sync::{Mutex, PoisonError};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::Reading;

#[derive(Debug)]
pub(super) struct Source {
    pid: Option<Pid>,
    system: Mutex<Option<System>>,
}

impl Source {
    pub(super) fn new() -> Self {
        Self {
            pid: sysinfo::get_current_pid().ok(),
            system: Mutex::new(None),
        }
    }

    pub(super) fn read(&self) -> Option<Reading> {
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
