//! The exporter's endpoints.

mod health;
mod landing;
mod metrics;

pub(crate) use health::{health, live, ready};
pub(crate) use landing::landing;
pub(crate) use metrics::metrics;
