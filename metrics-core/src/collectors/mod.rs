//! Collectors: the process and the build (read at scrape time) and the host (read in the
//! background).

mod build_info;
mod process;
mod system;

pub use build_info::BuildInfo;
pub use process::ProcessCollector;
pub use system::{SystemCollector, DEFAULT_SYSTEM_INTERVAL};
