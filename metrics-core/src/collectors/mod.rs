//! Collectors: the process and the build (read at scrape time) and the host (read in the
//! background).

mod build_info;
#[cfg(feature = "process")]
mod process;
#[cfg(feature = "system")]
mod system;

pub use build_info::BuildInfo;
#[cfg(feature = "process")]
#[cfg_attr(docsrs, doc(cfg(feature = "process")))]
pub use process::ProcessCollector;
#[cfg(feature = "system")]
#[cfg_attr(docsrs, doc(cfg(feature = "system")))]
pub use system::{SystemCollector, DEFAULT_SYSTEM_INTERVAL};
