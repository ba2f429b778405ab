//! The middleware in front of every exporter route: header bound, allow-list, credentials;
//! and the exporter's own counters.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_toolkit::prometheus_client::metrics::counter::Counter;
use metrics_toolkit::prometheus_client::metrics::family::Family;
use metrics_toolkit::MetricsRegistry;

use super::{Limits, Security, Verdict};

type Labels = [(&'static str, &'static str); 1];

/// `exporter_scrapes_total{result}` and `exporter_auth_failures_total{reason}`: one counter
/// handle per label value, resolved at registration, so counting takes no lock and hashes
/// nothing.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    scrapes: Arc<[Counter; ScrapeResult::ALL.len()]>,
    auth_failures: Arc<[Counter; FAILURE_REASONS.len()]>,
}

/// What became of a `/metrics` request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScrapeResult {
    Success,
    Unauthorized,
    Forbidden,
    /// Too many concurrent scrapes, an oversized request, or busy password verifiers.
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
        let scrapes: Family<Labels, Counter> = Family::default();
        let auth_failures: Family<Labels, Counter> = Family::default();
        // Every series exists from the start, so rate() and alerts see the first increase.
        let counters = Self {
            scrapes: Arc::new(ScrapeResult::ALL.map(|result| {
                scrapes
                    .get_or_create(&[("result", result.as_str())])
                    .clone()
            })),
            auth_failures: Arc::new(
                FAILURE_REASONS
                    .map(|reason| auth_failures.get_or_create(&[("reason", reason)]).clone()),
            ),
        };
        registry.register(
            "exporter_scrapes",
            "Requests for /metrics by result (success, unauthorized, forbidden, rejected, timeout, error)",
            scrapes,
        );
        registry.register(
            "exporter_auth_failures",
            "Requests refused by the exporter's authentication or allow-list, by reason (missing, invalid, forbidden)",
            auth_failures,
        );
        counters
    }

    pub(crate) fn scrape(&self, result: ScrapeResult) {
        self.scrapes[result as usize].inc();
    }

    fn auth_failure(&self, reason: &'static str) {
        if let Some(index) = FAILURE_REASONS.iter().position(|r| *r == reason) {
            self.auth_failures[index].inc();
        }
    }
}

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
    fn of(path: &str) -> Self {
        match path {
            "/metrics" => Self::Metrics,
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
    // The URI's parts as sent, measured without rendering it.
    let uri = request.uri();
    let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(1, |p| p.as_str().len());
    headers + target + request.method().as_str().len() + 12
}

fn unauthorized(security: &Security) -> Response {
    let mut response = crate::handlers::plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
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

/// Basic credentials not verified in time: the password verifiers are busy.
fn busy() -> Response {
    let mut response = crate::handlers::plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "password verification busy, retry\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The middleware: 431 for an oversized head, 403 outside the allow-list, 401 without valid
/// credentials where they are needed, 503 when they cannot be verified in time.
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
        return crate::handlers::plain(
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
            return crate::handlers::plain(StatusCode::FORBIDDEN, "forbidden\n");
        }
    }
    let authenticated =
        if security.credentials.is_empty() || (route == Route::Probe && security.open_probes) {
            true
        } else {
            let verdict = security.credentials.check(request.headers()).await;
            match (verdict, route == Route::Health && security.public_health) {
                (Verdict::Authenticated, _) => true,
                (Verdict::Busy, _) => {
                    count(ScrapeResult::Rejected);
                    return busy();
                }
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
