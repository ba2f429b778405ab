//! `GET /metrics`.

use std::io::Write;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use metrics_core::Format;

use crate::exporter::Shared;
use crate::negotiate::accepts_gzip;

pub(crate) async fn metrics(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let body = match shared.registry.encode(format) {
        Ok(body) => body,
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "a registered collector failed to encode its metrics\n",
            )
                .into_response()
        }
    };
    let encoding = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let (body, gzipped) = if shared.gzip && accepts_gzip(encoding) {
        match gzip(body.as_bytes()) {
            Ok(compressed) => (compressed, true),
            Err(_) => (body.into_bytes(), false),
        }
    } else {
        (body.into_bytes(), false)
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    // Level 1: scrapes are frequent and the text compresses well even at the fastest level.
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::fast());
    encoder.write_all(data)?;
    encoder.finish()
}
