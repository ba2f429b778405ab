//! `GET /metrics`.

#[cfg(feature = "gzip")]
use std::io::Write;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
#[cfg(feature = "gzip")]
use bytes::Bytes;
#[cfg(feature = "gzip")]
use flate2::write::GzEncoder;
#[cfg(feature = "gzip")]
use flate2::Compression;
use metrics_toolkit::Format;

use crate::exporter::Shared;
#[cfg(feature = "gzip")]
use crate::negotiate::accepts_gzip;
use crate::security::guard::ScrapeResult;

/// Encodes (and compresses) on a blocking thread, holding one of the scrape slots until the
/// encoding really ends: a timed-out scrape still counts against the limit while it runs.
pub(crate) async fn metrics(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let counters = &shared.guard.counters;
    let Ok(slot) = shared.scrape_slots.clone().try_acquire_owned() else {
        counters.scrape(ScrapeResult::Rejected);
        let mut response = super::plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many concurrent scrapes\n",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    #[cfg(feature = "gzip")]
    let compress = shared.gzip
        && accepts_gzip(
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
    let registry = shared.registry.clone();
    let buffers = shared.buffers.clone();
    let work = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let mut text = buffers.take();
        if registry.encode_into(format, &mut text).is_err() {
            buffers.give(text);
            return None;
        }
        #[cfg(feature = "gzip")]
        if compress {
            if let Ok(compressed) = gzip(text.as_bytes()) {
                buffers.give(text);
                return Some((Bytes::from(compressed), true));
            }
        }
        Some((buffers.body(text), false))
    });
    let (body, gzipped) = match tokio::time::timeout(shared.guard.limits.timeout(), work).await {
        Ok(Ok(Some(done))) => done,
        Ok(_) => {
            counters.scrape(ScrapeResult::Error);
            return super::plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a registered collector failed to encode its metrics\n",
            );
        }
        Err(_) => {
            counters.scrape(ScrapeResult::Timeout);
            return super::plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "encoding the metrics timed out\n",
            );
        }
    };
    counters.scrape(ScrapeResult::Success);
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

#[cfg(feature = "gzip")]
fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    // Level 1: scrapes are frequent and the text compresses well even at the fastest level.
    let mut encoder = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::fast());
    encoder.write_all(data)?;
    encoder.finish()
}
