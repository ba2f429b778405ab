//! Finding and running real binaries, stopped when the test ends.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};

/// The path of a required binary. Panics, naming the install script, when it is missing: the
/// tests that need it must fail rather than pass without running.
pub fn require(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed: run `bash scripts/install-test-deps.sh` (Debian packages prometheus, prometheus-alertmanager)")
        })
}

/// A free TCP port on 127.0.0.1 (bound, read and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// A child process killed and reaped when dropped, also when the test panics.
#[derive(Debug)]
pub struct ChildGuard(Child);

impl ChildGuard {
    /// Spawns `command`.
    pub fn spawn(command: &mut Command) -> Self {
        Self(
            command
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {command:?}: {e}")),
        )
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `command` to completion and returns what it printed (stdout, then stderr). Panics with
/// that output when it exits non-zero, so a failing check shows the tool's own message.
pub fn run_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{said}",
        output.status
    );
    said
}

/// A child process started as the leader of its own process group; on drop the whole group
/// (the child and everything it started, e.g. the servers a script runs) gets SIGTERM, then
/// SIGKILL if it has not exited within two seconds.
#[derive(Debug)]
pub struct ProcessGroup(Child);

impl ProcessGroup {
    /// Spawns `command` in a new process group.
    pub fn spawn(command: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        Self(
            command
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {command:?}: {e}")),
        )
    }

    /// Whether the group's leader is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    fn signal(&self, signal: libc::c_int) {
        let Ok(group) = libc::pid_t::try_from(self.0.id()) else {
            return;
        };
        // SAFETY: killpg only sends a signal; the group id is our own child's pid, and the
        // group exists until its last member is reaped.
        unsafe {
            libc::killpg(group, signal);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.signal(libc::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while self.is_running() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Also for members that outlived the leader.
        self.signal(libc::SIGKILL);
        let _ = self.0.wait();
    }
}
