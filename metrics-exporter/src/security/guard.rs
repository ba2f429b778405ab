//! The middleware in front of every exporter route: header bound, allow-list, credentials;
//! and the exporter's own counters.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_core::prometheus_client::metrics::counter::Counter;
use metrics_core::prometheus_client::metrics::family::Family;
use metrics_core::MetricsRegistry;

use super::{Limits, Security, Verdict};

type Labels = [(&'static str, &'static str); 1];

/// `exporter_scrapes_total{result}` and `exporter_auth_failures_total{reason}`.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    scrapes: Family<Labels, Counter>,
    auth_failures: Family<Labels, Counter>,
}

/// What became of a `/metrics` request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScrapeResult {
    Success,
    Unauthorized,
    Forbidden,
    /// Too many concurrent scrapes, or an oversized request.
    Rejected,
    Timeout,
    Error,
}

impl ScrapeResult {
    const ALL: [Self; 6] = [
        Self::Success,
        Self::Unauthorized,
        Self::Forbidden,
        Self::Rejected,
        Self::Timeout,
        Self::Error,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Rejected => "rejected",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }
}

const FAILURE_REASONS: [&str; 3] = ["missing", "invalid", "forbidden"];

impl Counters {
    pub(crate) fn register(registry: &MetricsRegistry) -> Self {
        let counters = Self {
            scrapes: Family::default(),
            auth_failures: Family::default(),
        };
        // Every series from the start, so rate() and alerts see the first increase.
        for result in ScrapeResult::ALL {
            let _ = counters
                .scrapes
                .get_or_create(&[("result", result.as_str())]);
        }
        for reason in FAILURE_REASONS {
            let _ = counters.auth_failures.get_or_create(&[("reason", reason)]);
        }
        registry.register(
            "exporter_scrapes",
            "Requests for /metrics by result (success, unauthorized, forbidden, rejected, timeout, error).",
            counters.scrapes.clone(),
        );
        registry.register(
            "exporter_auth_failures",
            "Requests refused by the exporter's authentication or allow-list, by reason (missing, invalid, forbidden).",
            counters.auth_failures.clone(),
        );
        counters
    }

    pub(crate) fn scrape(&self, result: ScrapeResult) {
        self.scrapes
            .get_or_create(&[("result", result.as_str())])
            .inc();
    }

    fn auth_failure(&self, reason: &'static str) {
        self.auth_failures
            .get_or_create(&[("reason", reason)])
            .inc();
    }
}

/// Whether the request carried valid credentials (or none were needed); read by `/health` to
/// decide whether to show details.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authenticated(pub(crate) bool);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Metrics,
    Health,
    Probe,
    Other,
}

impl Route {
    fn of(path: &str) -> Self {
        match path {
            "/metrics" => Self::Metrics,
            "/health" => Self::Health,
            "/live" | "/ready" | "/startup" => Self::Probe,
            p if p.starts_with("/health/") => Self::Health,
            _ => Self::Other,
        }
    }
}

/// The guard's configuration, shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub(crate) security: Security,
    pub(crate) limits: Limits,
    pub(crate) counters: Counters,
}

/// The request line and headers as they were sent, roughly: what a bound on them must count.
fn head_size(request: &Request) -> usize {
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    headers + request.uri().to_string().len() + request.method().as_str().len() + 12
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unauthorized(security: &Security) -> Response {
    let mut response = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
    let headers = response.headers_mut();
    if security.credentials.has_users() {
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
/// credentials where they are needed.
pub(crate) async fn guard(
    State(guard): State<Arc<Guard>>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = Route::of(request.uri().path());
    let count = |result| {
        if route == Route::Metrics {
            guard.counters.scrape(result);
        }
    };
    if head_size(&request) > guard.limits.header_bytes() {
        count(ScrapeResult::Rejected);
        return plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request header fields too large\n",
        );
    }
    let security = &guard.security;
    if !security.allow_list.is_empty() {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        let client = peer.and_then(|peer| security.allow_list.client_ip(peer, request.headers()));
        if !client.is_some_and(|ip| security.allow_list.allows(ip)) {
            guard.counters.auth_failure("forbidden");
            count(ScrapeResult::Forbidden);
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
                (Verdict::Missing, true) => false,
                (Verdict::Invalid, true) => {
                    guard.counters.auth_failure("invalid");
                    false
                }
                (Verdict::Missing | Verdict::Invalid, false) => {
                    guard.counters.auth_failure(if verdict == Verdict::Missing {
                        "missing"
                    } else {
                        "invalid"
                    });
                    count(ScrapeResult::Unauthorized);
                    return unauthorized(security);
                }
            }
        };
    request
        .extensions_mut()
        .insert(Authenticated(authenticated));
    next.run(request).await
}
