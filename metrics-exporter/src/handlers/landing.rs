//! `GET /`: a page listing the endpoints.

use axum::response::Html;

pub(crate) async fn landing() -> Html<&'static str> {
    Html(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Metrics exporter</title></head>\n\
         <body><h1>Metrics exporter</h1><ul>\n\
         <li><a href=\"metrics\">/metrics</a>: Prometheus metrics (OpenMetrics or text 0.0.4)</li>\n\
         <li><a href=\"health\">/health</a>: health (application/health+json; ?verbose for text)</li>\n\
         <li><a href=\"live\">/live</a>: liveness</li>\n\
         <li><a href=\"ready\">/ready</a>: readiness</li>\n\
         <li><a href=\"startup\">/startup</a>: startup</li>\n\
         </ul></body></html>\n",
    )
}
