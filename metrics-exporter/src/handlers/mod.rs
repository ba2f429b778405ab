//! The exporter's endpoints.

#[cfg(feature = "gzip")]
mod gzip;
mod health;
mod landing;
mod metrics;

pub(crate) use health::{health, health_check, live, ready, startup};
pub(crate) use landing::{landing, landing_page};
pub(crate) use metrics::metrics;
