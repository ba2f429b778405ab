//! The exporter's plain-text answers (errors, readiness, refusals), shared by the handlers and
//! the security guard.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

/// A `text/plain` answer that no cache keeps: every plain answer of the exporter (errors,
/// readiness, verbose health) is about now.
pub(crate) fn plain(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A plain 503 that asks the client to retry in a second: the exporter is busy (concurrent
/// scrapes, password verifiers), not broken.
pub(crate) fn busy(body: &'static str) -> Response {
    let mut response = plain(StatusCode::SERVICE_UNAVAILABLE, body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
