//! The exporter's endpoints.

mod buffers;
mod health;
mod landing;
mod metrics;

pub(crate) use buffers::ScrapeBuffers;
pub(crate) use health::{health, health_check, live, ready, startup};
pub(crate) use landing::landing;
pub(crate) use metrics::metrics;

/// A `text/plain` answer that no cache keeps: every plain answer of the exporter (errors,
/// readiness, verbose health) is about now.
pub(crate) fn plain(
    status: axum::http::StatusCode,
    body: impl Into<axum::body::Body>,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut response = axum::response::Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
