//! No process reader: not Linux, and sysinfo (the `system` feature) is not compiled in.

use super::Reading;

#[derive(Debug)]
pub(super) struct Source;

impl Source {
    pub(super) fn new() -> Self {
        Self
    }

    pub(super) fn read(&self) -> Option<Reading> {
        None
    }
}
