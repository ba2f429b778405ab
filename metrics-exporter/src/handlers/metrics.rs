//! `GET /metrics`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
#[cfg(feature = "gzip")]
use bytes::Bytes;
use metrics_toolkit::encoding::Exposition;

#[cfg(feature = "gzip")]
use super::gzip;
use crate::response::{busy, plain};
use crate::self_metrics::ScrapeResult;
use crate::state::HandlerState;

/// Encodes (and compresses) on a blocking thread, holding one of the scrape permits until the
/// encoding really ends: a timed-out scrape still counts against the limit while it runs.
pub(crate) async fn metrics(State(state): State<HandlerState>, headers: HeaderMap) -> Response {
    let counters = &state.metrics;
    let Ok(permit) = state.scrape_permits.clone().try_acquire_owned() else {
        counters.scrape(ScrapeResult::Rejected);
        return busy("too many concurrent scrapes\n");
    };
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let exposition = Exposition::negotiate(accept);
    #[cfg(feature = "gzip")]
    let compress = state.gzip
        && gzip::accepts_gzip(
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
    let registry = state.registry.clone();
    let buffers = state.buffers.clone();
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        // Text or protobuf, as negotiated; gzipped alike.
        let mut body = buffers.take();
        if registry.encode_into_bytes(exposition, &mut body).is_err() {
            buffers.give(body);
            return None;
        }
        #[cfg(feature = "gzip")]
        if compress {
            if let Ok(compressed) = gzip::compress(&body) {
                buffers.give(body);
                return Some((Bytes::from(compressed), true));
            }
        }
        Some((buffers.body(body), false))
    });
    let (body, gzipped) = match tokio::time::timeout(state.scrape_timeout, work).await {
        Ok(Ok(Some(done))) => done,
        Ok(_) => {
            counters.scrape(ScrapeResult::Error);
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a registered collector failed to encode its metrics\n",
            );
        }
        Err(_) => {
            counters.scrape(ScrapeResult::Timeout);
            return plain(
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
        HeaderValue::from_static(exposition.content_type()),
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
