//! Exposition: the formats `/metrics` speaks and how a registry is rendered in each.

mod format;
mod help;
#[cfg(feature = "protobuf")]
pub(crate) mod protobuf_wire;
mod text004;
mod writer;

pub use format::Format;
pub(crate) use help::registry_help;
pub(crate) use text004::openmetrics_to_prometheus_text;
pub(crate) use writer::push_float;
pub(crate) use writer::{render_labels, EncodeText, Kind, LinePrefix, TextWriter, Value};
