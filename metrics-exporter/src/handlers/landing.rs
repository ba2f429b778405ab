//! `GET /`: a page listing the endpoints.

use axum::response::Html;
use bytes::Bytes;

/// The page, linking to metrics at `telemetry_path` (a checked path: no quote, `<`, `&`).
/// Built once per router: each request clones the bytes only.
pub(crate) fn landing_page(telemetry_path: &str) -> Bytes {
    // Relative links, so that the page works behind a proxy that serves it under a prefix.
    let href = telemetry_path.trim_start_matches('/');
    Bytes::from(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Metrics exporter</title></head>\n\
         <body><h1>Metrics exporter</h1><ul>\n\
         <li><a href=\"{href}\">{telemetry_path}</a>: Prometheus metrics (OpenMetrics or text 0.0.4)</li>\n\
         <li><a href=\"health\">/health</a>: health (application/health+json; ?verbose for text)</li>\n\
         <li><a href=\"live\">/live</a>: liveness</li>\n\
         <li><a href=\"ready\">/ready</a>: readiness</li>\n\
         <li><a href=\"startup\">/startup</a>: startup</li>\n\
         </ul></body></html>\n",
    ))
}

pub(crate) async fn landing(page: Bytes) -> Html<Bytes> {
    Html(page)
}
