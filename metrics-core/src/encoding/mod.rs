//! Exposition: the formats `/metrics` speaks, choosing one from an `Accept` header, the
//! escaping of names that are not legacy-valid, and how a registry is rendered in each.

mod error;
mod escaping;
mod exposition;
mod format;
mod help;
mod negotiation;
#[cfg(feature = "protobuf")]
mod protobuf;
#[cfg(feature = "protobuf")]
pub(crate) mod protobuf_wire;
mod text004;
mod text_names;
mod writer;

pub use error::EncodeError;
pub use escaping::Escaping;
pub use exposition::Exposition;
pub use format::Format;
pub(crate) use help::registry_help;
#[cfg(feature = "protobuf")]
pub(crate) use protobuf::escape_protobuf_family;
pub(crate) use text004::openmetrics_to_prometheus_text;
pub(crate) use text_names::{needs_rewrite, rewrite};
pub(crate) use writer::push_float;
pub(crate) use writer::{render_labels, EncodeText, Kind, LinePrefix, TextWriter, Value};
