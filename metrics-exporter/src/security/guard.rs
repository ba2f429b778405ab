//! The middleware in front of every exporter route: header bound, allow-list, credentials.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::refusals::Refusals;
use super::{Security, Verdict};
use crate::response::plain;
use crate::self_metrics::{AuthFailure, ScrapeResult, SelfMetrics};

/// Whether the request carried valid credentials (or none were needed); read by `/health` to
/// decide whether to show details.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authenticated(pub(crate) bool);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Metrics,
    /// `/health`: public with [`Security::public_health`], the overall status only.
    Health,
    Probe,
    /// Everything else, `/health/{check}` included: its answer (200, 503 or 404) would tell an
    /// anonymous caller which checks exist.
    Other,
}

impl Route {
    fn of(path: &str, telemetry_path: &str) -> Self {
        match path {
            _ if path == telemetry_path => Self::Metrics,
            "/health" => Self::Health,
            "/live" | "/ready" | "/startup" => Self::Probe,
            _ => Self::Other,
        }
    }
}

/// The guard's configuration, shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub(crate) security: Security,
    /// [`Limits::max_header_bytes`](super::Limits::max_header_bytes).
    pub(crate) header_bytes: usize,
    pub(crate) metrics: SelfMetrics,
    /// Logs the 401 and 403 answers.
    pub(crate) refusals: Arc<Refusals>,
    /// Where metrics are served ([`Exporter::telemetry_path`](crate::Exporter::telemetry_path)).
    pub(crate) telemetry_path: Arc<str>,
}

/// The request line and headers as they were sent, roughly: what a bound on them must count.
fn head_size(request: &Request) -> usize {
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    // The URI's parts as sent, measured without rendering it.
    let uri = request.uri();
    let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(1, |p| p.as_str().len());
    headers + target + request.method().as_str().len() + 12
}

fn unauthorized(security: &Security) -> Response {
    let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
    let headers = response.headers_mut();
    if security.credentials.has_basic_users() {
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\""),
        );
    }
    if security.credentials.bearer.is_some() {
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
    }
    response
}

/// The middleware: 431 for an oversized head, 403 outside the allow-list, 401 without valid
/// credentials where they are needed, 503 when they cannot be verified in time.
pub(crate) async fn guard(
    State(guard): State<Arc<Guard>>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = Route::of(request.uri().path(), &guard.telemetry_path);
    let count = |result| {
        if route == Route::Metrics {
            guard.metrics.scrape(result);
        }
    };
    if head_size(&request) > guard.header_bytes {
        count(ScrapeResult::Rejected);
        return plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request header fields too large\n",
        );
    }
    let security = &guard.security;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let refused = |status: StatusCode, path: &str| {
        guard.refusals.refused(status.as_u16(), path, peer);
    };
    if !security.allow_list.is_empty() {
        let client =
            peer.and_then(|peer| security.allow_list.client_ip(peer.ip(), request.headers()));
        if !client.is_some_and(|ip| security.allow_list.allows(ip)) {
            guard.metrics.auth_failure(AuthFailure::Forbidden);
            count(ScrapeResult::Forbidden);
            refused(StatusCode::FORBIDDEN, request.uri().path());
            return plain(StatusCode::FORBIDDEN, "forbidden\n");
        }
    }
    let authenticated =
        if security.credentials.is_empty() || (route == Route::Probe && security.open_probes) {
            true
        } else {
            let verdict = security.credentials.check(request.headers()).await;
            match (verdict, route == Route::Health && security.public_health) {
                (Verdict::Authenticated, _) => true,
                #[cfg(feature = "basic-auth")]
                (Verdict::Busy, _) => {
                    // Basic credentials not verified in time: the password verifiers are busy.
                    count(ScrapeResult::Rejected);
                    return crate::response::busy("password verification busy, retry\n");
                }
                (Verdict::Missing, true) => false,
                (Verdict::Invalid, true) => {
                    guard.metrics.auth_failure(AuthFailure::Invalid);
                    false
                }
                (Verdict::Missing | Verdict::Invalid, false) => {
                    guard.metrics.auth_failure(if verdict == Verdict::Missing {
                        AuthFailure::Missing
                    } else {
                        AuthFailure::Invalid
                    });
                    count(ScrapeResult::Unauthorized);
                    refused(StatusCode::UNAUTHORIZED, request.uri().path());
                    return unauthorized(security);
                }
            }
        };
    request
        .extensions_mut()
        .insert(Authenticated(authenticated));
    next.run(request).await
}
