//! Collectors read at scrape time: the process and the build.

mod build_info;
mod process;

pub use build_info::BuildInfo;
pub use process::ProcessCollector;
