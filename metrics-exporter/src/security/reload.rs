//! [`Followed`]: a value loaded from files and loaded again after they change (the server
//! certificate and key, the client CA), without a lock or a file-system call on the
//! handshake path.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;

/// Loads the value again from its files; the error says why it could not.
pub(crate) type Loader<T> = Box<dyn Fn() -> Result<T, String> + Send + Sync>;

/// How often, at most, the files' stamps are looked at, in milliseconds. It is also the retry
/// interval of a load that failed: a handshake may have read a file mid-rewrite, and the
/// rewrite may end within the same mtime, so a failed load leaves the stamps of the last good
/// one and is tried again at the next check.
const CHECK_EVERY_MS: u64 = 1000;

/// The modification time and length of a file.
type Stamp = (SystemTime, u64);

/// A value served from an [`ArcSwap`] (one atomic load per use), its files checked at most
/// once a second by whoever uses it first after that second, the check itself (stat, read,
/// parse) run on tokio's blocking pool, so no runtime thread waits on the file system. A load
/// that fails keeps the previous value (logged at warn); one that succeeds is logged at info.
pub(crate) struct Followed<T> {
    /// What the value is, for the logs: "server certificate", "client CA".
    what: &'static str,
    value: ArcSwap<T>,
    /// The files and how to load the value from them; `None`: never reloaded.
    source: Option<(Vec<PathBuf>, Loader<T>)>,
    epoch: Instant,
    /// Milliseconds after `epoch` before which the files are not looked at again.
    next_check: AtomicU64,
    /// The stamps of the files the value was last loaded from. Locked only by a check (with
    /// `try_lock`: a check still running makes the next one skip).
    loaded: Mutex<Option<Vec<Stamp>>>,
}

impl<T> fmt::Debug for Followed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Followed")
            .field("what", &self.what)
            .field("files", &self.source.as_ref().map(|(files, _)| files))
            .finish_non_exhaustive()
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path)
        .and_then(|m| Ok((m.modified()?, m.len())))
        .ok()
}

fn stamps(files: &[PathBuf]) -> Option<Vec<Stamp>> {
    files.iter().map(|f| stamp(f)).collect()
}

impl<T: Send + Sync + 'static> Followed<T> {
    /// A value that is never reloaded (given inline, or not from files).
    pub(crate) fn fixed(what: &'static str, value: T) -> Arc<Self> {
        Self::with(what, value, None, None)
    }

    /// `value`, just loaded from `files` by `load`; loaded again by `load` after one of them
    /// changed (modification time or length).
    pub(crate) fn new(
        what: &'static str,
        value: T,
        files: Vec<PathBuf>,
        load: Loader<T>,
    ) -> Arc<Self> {
        let loaded = stamps(&files);
        Self::with(what, value, Some((files, load)), loaded)
    }

    fn with(
        what: &'static str,
        value: T,
        source: Option<(Vec<PathBuf>, Loader<T>)>,
        loaded: Option<Vec<Stamp>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            what,
            value: ArcSwap::from_pointee(value),
            source,
            epoch: Instant::now(),
            next_check: AtomicU64::new(CHECK_EVERY_MS),
            loaded: Mutex::new(loaded),
        })
    }

    /// Another value following the same files, loaded by `load` from now on, taken as loaded
    /// from the files as this one last saw them (so an unchanged file is not read again).
    pub(crate) fn derived(&self, value: T, load: Loader<T>) -> Arc<Self> {
        let loaded = match self.loaded.lock() {
            Ok(loaded) => loaded.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let source = self.source.as_ref().map(|(files, _)| (files.clone(), load));
        Self::with(self.what, value, source, loaded)
    }

    /// The value now.
    pub(crate) fn get(&self) -> Arc<T> {
        self.value.load_full()
    }

    /// Starts a check of the files when the last one is a second old; it does not wait for it
    /// (the value it loads is used from the next [`get`](Self::get) on).
    pub(crate) fn poll(self: &Arc<Self>) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.poll_at(now);
    }

    /// [`poll`](Self::poll) at `now` milliseconds after the epoch.
    fn poll_at(self: &Arc<Self>, now: u64) {
        if self.source.is_none() {
            return;
        }
        let due = self.next_check.load(Ordering::Relaxed);
        // One caller wins each second; the others go on with the current value.
        if now < due
            || self
                .next_check
                .compare_exchange(
                    due,
                    now.saturating_add(CHECK_EVERY_MS),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let this = Arc::clone(self);
                // Detached: its result is stored in `value`, and logged.
                drop(runtime.spawn_blocking(move || this.check()));
            }
            // Outside a runtime (unit tests) the caller may block.
            Err(_) => self.check(),
        }
    }

    /// Loads the value again when a file changed since the last good load.
    fn check(&self) {
        let Some((files, load)) = &self.source else {
            return;
        };
        let mut loaded = match self.loaded.try_lock() {
            Ok(loaded) => loaded,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        let now = stamps(files);
        // A missing file (mid-rename) is looked at again at the next check.
        if now.is_none() || now == *loaded {
            return;
        }
        let file = files.first().map(|f| f.display());
        match load() {
            Ok(value) => {
                self.value.store(Arc::new(value));
                *loaded = now;
                tracing::info!(
                    file = file.map(tracing::field::display),
                    "{} reloaded",
                    self.what
                );
            }
            Err(cause) => tracing::warn!(
                file = file.map(tracing::field::display),
                cause = %cause,
                "{} reload failed; using the previous one",
                self.what
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A value followed from one file; a file reading "bad" does not load.
    fn followed(path: &Path) -> Arc<Followed<String>> {
        let file = path.to_path_buf();
        let load: Loader<String> = Box::new(move || {
            let text = std::fs::read_to_string(&file).map_err(|e| e.to_string())?;
            if text.starts_with("bad") {
                return Err("bad".into());
            }
            Ok(text)
        });
        let first = std::fs::read_to_string(path).unwrap();
        Followed::new("test value", first, vec![path.to_path_buf()], load)
    }

    fn set_mtime(path: &Path, at: SystemTime) {
        std::fs::File::options()
            .append(true)
            .open(path)
            .and_then(|f| f.set_modified(at))
            .unwrap();
    }

    #[test]
    fn files_are_checked_at_most_once_a_second_and_a_failed_load_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value");
        std::fs::write(&path, "one").unwrap();
        let value = followed(&path);
        let base = SystemTime::now();

        // Changed, but the first check is a second after the load.
        std::fs::write(&path, "two").unwrap();
        set_mtime(&path, base + Duration::from_secs(5));
        value.poll_at(500);
        assert_eq!(*value.get(), "one");
        value.poll_at(1000);
        assert_eq!(*value.get(), "two");

        // Changed again: not looked at before the next second.
        std::fs::write(&path, "six").unwrap();
        set_mtime(&path, base + Duration::from_secs(10));
        value.poll_at(1999);
        assert_eq!(*value.get(), "two");
        value.poll_at(2000);
        assert_eq!(*value.get(), "six");

        // A broken rewrite keeps the value; finished within the same mtime and length, it is
        // loaded at the next check.
        std::fs::write(&path, "bad").unwrap();
        set_mtime(&path, base + Duration::from_secs(15));
        value.poll_at(3000);
        assert_eq!(*value.get(), "six");
        std::fs::write(&path, "ten").unwrap();
        set_mtime(&path, base + Duration::from_secs(15));
        value.poll_at(4000);
        assert_eq!(*value.get(), "ten");

        // A missing file keeps the value.
        std::fs::remove_file(&path).unwrap();
        value.poll_at(5000);
        assert_eq!(*value.get(), "ten");
    }

    #[test]
    fn a_fixed_value_and_a_derived_one() {
        let fixed = Followed::fixed("test value", 7);
        fixed.poll_at(10_000);
        assert_eq!(*fixed.get(), 7);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("value");
        std::fs::write(&path, "one").unwrap();
        let value = followed(&path);
        let file = path.clone();
        let derived = value.derived(
            "kept".into(),
            Box::new(move || {
                std::fs::read_to_string(&file)
                    .map(|t| t.to_uppercase())
                    .map_err(|e| e.to_string())
            }),
        );
        // Unchanged files are not read again; a change is loaded by the new loader.
        derived.poll_at(1000);
        assert_eq!(*derived.get(), "kept");
        std::fs::write(&path, "two").unwrap();
        set_mtime(&path, SystemTime::now() + Duration::from_secs(5));
        derived.poll_at(2000);
        assert_eq!(*derived.get(), "TWO");
        assert_eq!(*value.get(), "one");
    }
}
